#!/usr/bin/env bash
# What is not a cancellation point stays one under the shim: a thread with a
# cancel pending calls pthread_create (creation-stack capture), fork (the
# child's new segment), exit (the final publish and the at-exit report) and
# runs a critical section while its stack is sampled (`ringfence threads`);
# plain and preloaded, none of them may act on the cancel.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

app=$RF_BUILD_ROOT/test-apps/rf-cancel-app
shim=$RF_BUILD_ROOT/shim/libringfence.so
reporter=$RF_BUILD_ROOT/reporter/ringfence
prefix=rf-cancel-$$
rf_cleanup_add "rm -f /dev/shm/$prefix.*"
shimmed() { RINGFENCE_SHM_PREFIX=$prefix RINGFENCE_REPORT_AT_EXIT=1 LD_PRELOAD=$shim "$@"; }

for mode in create fork; do
	"$app" $mode >/dev/null || rf_fail "$mode: fails without the shim"
	out=$(shimmed "$app" $mode 2>/dev/null) || rf_fail "under the shim: $out"
	echo "ok: $mode is no cancellation point under the shim"
done

set +e
"$app" exit >/dev/null; plain=$?
shimmed "$app" exit >/dev/null 2>&1; shim_rc=$?
set -e
rf_assert_eq 3 "$plain" "exit status of exit(3) from a thread with a cancel pending, plain"
rf_assert_eq 3 "$shim_rc" "exit status of exit(3) from a thread with a cancel pending, under the shim"
echo "ok: exit(3) ends the process under the shim"

RINGFENCE_SHM_PREFIX=$prefix LD_PRELOAD=$shim "$app" sample >"$rf_tmpdir/sample.out" 2>/dev/null &
pid=$!
for _ in $(seq 100); do grep -q ready "$rf_tmpdir/sample.out" && break; sleep 0.05; done
grep -q ready "$rf_tmpdir/sample.out" || rf_fail "sample: never ready"
# The segment's first publish comes within one interval (200 ms).
for _ in $(seq 20); do
	RINGFENCE_SHM_PREFIX=$prefix "$reporter" threads "$pid" >"$rf_tmpdir/threads.out" 2>&1 &&
		grep -q 'now (tid' "$rf_tmpdir/threads.out" && break
	sleep 0.1
done
grep -q 'now (tid' "$rf_tmpdir/threads.out" ||
	rf_fail "ringfence threads $pid shows no current stack: $(cat "$rf_tmpdir/threads.out")"
set +e
wait $pid; rc=$?
set -e
rf_assert_eq 0 "$rc" "sample: exit status (1: cancelled while sampled: $(cat "$rf_tmpdir/sample.out"))"
echo "ok: a sampled thread is not cancelled by the sampling"
echo "PASS: cancel-points"
