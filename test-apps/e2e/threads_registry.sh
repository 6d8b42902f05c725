#!/usr/bin/env bash
# The registry's own behaviour in a real process: 100,000 threads created and
# joined leave its memory as it was after the first 1,000 (records are
# reused, nothing is kept); a fork child's segment holds the child's threads
# only; the figures appear in stat, --json and --prometheus; a malformed
# RINGFENCE_THREAD_* value gives the one-line message and passive mode.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/threads_lib.sh"

thr_setup registry

thr_start bench "$THREADS_BENCH" --count 100000 --checkpoint 1000 --linger-ms 1500
pid=$THR_PID
rf_wait_until 20 "the checkpoint" grep -q checkpoint "$rf_tmpdir/bench.out"
sleep 0.5
early=$(thr_stat "$pid" thread_registry_bytes)
rf_wait_until 60 "100,000 threads" grep -q 'done' "$rf_tmpdir/bench.out"
sleep 0.5
late=$(thr_stat "$pid" thread_registry_bytes)
created=$(thr_stat "$pid" threads_created)
rf_assert_eq "$early" "$late" "thread_registry_bytes after 1,000 and after 100,000 threads"
[ "$created" -ge 100000 ] || rf_fail "threads_created is $created"
"$RF" stat --prometheus >"$rf_tmpdir/prom"
grep -Eq "^ringfence_threads_created_total\{pid=\"$pid\",comm=\"[^\"]*\"\} $created\$" "$rf_tmpdir/prom" ||
	rf_fail "no threads_created in --prometheus"
grep -Eq "^ringfence_threads_alive\{pid=\"$pid\",comm=\"[^\"]*\"\} 1\$" "$rf_tmpdir/prom" ||
	rf_fail "no threads_alive gauge in --prometheus"
"$RF" stat "$pid" >"$rf_tmpdir/stat"
grep -Eq '^  threads_suspect +0 ' "$rf_tmpdir/stat" || rf_fail "no threads_suspect in stat"
thr_wait "$pid" "rf-threads-bench"
echo "ok: 100,000 threads created and joined, registry stayed at $late bytes"

# fork: the child's segment holds the child's threads only.
thr_start fork "$THREADS_APP" fork --linger-ms 800
pid=$THR_PID
thr_wait "$pid" "fork"
child=$(sed -n 's/^child //p' "$rf_tmpdir/fork.out")
[ -n "$child" ] || rf_fail "the fork child printed no pid"
thr_json "$child" "$rf_tmpdir/child.json"
thr_assert "$rf_tmpdir/child.json" \
	'r["counters"]["created"] - (1 if any(t["name"] == "rf:publisher" for g in r["groups"] for t in g["threads"]) else 0) == 3' \
	'r["counters"]["exited"] == 3 and leaks() == []'
thr_json "$pid" "$rf_tmpdir/parent.json"
thr_assert "$rf_tmpdir/parent.json" 'r["totals"]["leaked"] == 3'
echo "ok: the fork child counts its own 3 threads; the parent its 3 leaked"

# A malformed value: one line, passive, the program runs on.
out=$(RINGFENCE_THREAD_GROUP=lots LD_PRELOAD=$SHIM "$THREADS_APP" unjoined --fixed --calls 1 2>&1)
grep -q 'RINGFENCE_THREAD_GROUP="lots" is not accepted: expected a whole number' <<<"$out" ||
	rf_fail "no message for RINGFENCE_THREAD_GROUP=lots: $out"
grep -q '^ready' <<<"$out" || rf_fail "the program did not run: $out"
echo "PASS: threads-registry"
