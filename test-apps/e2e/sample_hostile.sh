#!/usr/bin/env bash
# `ringfence threads` on a live process whose sample-request name
# (/dev/shm/<prefix>.<pid>.req) holds something else: a FIFO, a symbolic
# link, a directory. The reporter says in one line what it found, leaves it,
# and still prints the report; the shim's publisher goes on publishing. Each
# run of the reporter is bounded by timeout(1): a regression fails here
# instead of hanging the suite.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/threads_lib.sh"

thr_setup sample
thr_start c11 "$THREADS_APP" c11 --calls 1 --workers 2 --linger-ms 60000
pid=$THR_PID
thr_ready c11
req=/dev/shm/$PREFIX.$pid.req
rf_cleanup_add "rm -f $req; rmdir $req 2>/dev/null || true"

# threads_bounded WHAT: `ringfence threads --timeout 1000` must end in 10 s, exit 0.
threads_bounded() {
	local rc=0
	timeout 10 "$RF" threads --timeout 1000 "$pid" >"$rf_tmpdir/threads.out" 2>&1 || rc=$?
	[ "$rc" -ne 124 ] || rf_fail "ringfence threads hung with $1 at $req"
	[ "$rc" -eq 0 ] || rf_fail "ringfence threads exited $rc with $1 at $req: $(cat "$rf_tmpdir/threads.out")"
}

# refused KIND: the report names the path and what holds it, and it stays there.
refused() {
	local kind=$1 test=$2
	threads_bounded "$kind"
	grep -qxF "current stacks: $req is $kind, not a sample request: left alone (remove it to sample)" \
		"$rf_tmpdir/threads.out" || rf_fail "no line naming $kind at $req: $(cat "$rf_tmpdir/threads.out")"
	grep -q '^LEAK GROUPS' "$rf_tmpdir/threads.out" || rf_fail "no report with $kind at $req"
	test "$test" "$req" || rf_fail "$kind at $req was removed"
	echo "ok: $kind at $req: named, left alone, the report printed"
}

# published_past N: the process has published more than N times.
published_past() {
	[ "$(thr_stat "$pid" publishes)" -gt "$1" ]
}

mkfifo -m 600 "$req"
before=$(thr_stat "$pid" publishes)
refused "a FIFO" -p
rf_wait_until 10 "the shim to publish past the FIFO" published_past "$((before + 2))"
rm -f "$req"

ln -s "/dev/shm/$PREFIX.$pid" "$req"
refused "a symbolic link" -L
rm -f "$req"

mkdir -m 700 "$req"
refused "a directory" -d
rmdir "$req"

# The name free again: the current stacks come.
threads_bounded "nothing"
grep -q '^    now (tid ' "$rf_tmpdir/threads.out" ||
	rf_fail "no current stack once the name was free: $(cat "$rf_tmpdir/threads.out")"
[ ! -e "$req" ] || rf_fail "the answered request $req was left behind"
echo "PASS: sample-hostile"
