#!/usr/bin/env bash
# Threads started with C11 thrd_create (which glibc does not route through
# pthread_create@plt) that never end are found like any other: stuck while
# the program runs, leaked at exit, created by start_c11_workers. The fixed
# version signals them and joins them with thrd_join.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/threads_lib.sh"

thr_setup c11
export RINGFENCE_THREAD_AGE=1s

thr_start leaky "$THREADS_APP" c11 --calls 5 --interval-ms 350 --workers 3 --linger-ms 2000
pid=$THR_PID
rf_wait_until 10 "check to fail on the C11 workers" thr_check_fails "$pid"
thr_json "$pid" "$rf_tmpdir/live.json"
thr_assert "$rf_tmpdir/live.json" \
	'len(leaks()) == 1 and leaks()[0]["class"] == "stuck"' \
	'fns(frames_of(leaks()[0]))[0] == "start_c11_workers"' \
	'leaks()[0]["start_routine"]["function"] == "c11_worker"' \
	'all(t["c11"] for t in leaks()[0]["threads"])'
thr_wait "$pid" "C11 workers"
thr_check "$pid" 1 "C11 workers, exited"
thr_json "$pid" "$rf_tmpdir/exit.json"
thr_assert "$rf_tmpdir/exit.json" 'leaks()[0]["count"] == 15 and leaks()[0]["class"] == "leaked"'

thr_start fixed "$THREADS_APP" c11 --fixed --calls 5 --interval-ms 50 --workers 3 --linger-ms 1000
pid=$THR_PID
thr_wait "$pid" "C11 workers, fixed"
thr_check "$pid" 0 "C11 workers fixed (thrd_join), exited"
rf_assert_eq 15 "$(thr_stat "$pid" threads_exited)" "threads_exited of the fixed C11 run"
rf_assert_eq 0 "$(thr_stat "$pid" threads_unjoined)" "threads_unjoined of the fixed C11 run"
echo "PASS: threads-c11"
