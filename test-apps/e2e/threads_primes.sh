#!/usr/bin/env bash
# A worker pool computing primes over a queue nobody closes (the pattern of
# the second goroutine-leak article): each batch starts 4 workers through
# compute_primes -> pool_start -> pool_spawn_workers and leaves them blocked.
# Running: stuck; exited: 24 leaked, creation stack through the pool-starting
# functions in order. The fixed version closes the queue and joins.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/threads_lib.sh"

thr_setup primes
export RINGFENCE_THREAD_AGE=1s

thr_start leaky "$THREADS_APP" primes --calls 6 --interval-ms 300 --workers 4 --linger-ms 2500
pid=$THR_PID
rf_wait_until 10 "check to fail on the running pool" thr_check_fails "$pid"
thr_check "$pid" 1 "leaky pool, running"
thr_json "$pid" "$rf_tmpdir/live.json"
thr_assert "$rf_tmpdir/live.json" \
	'len(leaks()) == 1 and leaks()[0]["class"] == "stuck"' \
	'fns(frames_of(leaks()[0]))[:3] == ["pool_spawn_workers", "pool_start", "compute_primes"]' \
	'leaks()[0]["start_routine"]["function"] == "prime_worker"' \
	'leaks()[0]["sample"]["status"] == "ok" and "queue_get" in fns(leaks()[0]["sample"]["frames"])'
thr_wait "$pid" "leaky pool"
thr_check "$pid" 1 "leaky pool, exited"
thr_json "$pid" "$rf_tmpdir/exit.json"
thr_assert "$rf_tmpdir/exit.json" \
	'len(leaks()) == 1 and leaks()[0]["class"] == "leaked" and leaks()[0]["count"] == 24'
grep -q 'pool_spawn_workers' "$rf_tmpdir/check.out" || rf_fail "check's report lacks pool_spawn_workers"
thr_check "$pid" 0 "leaky pool, exited, --ignore prime_worker" --ignore prime_worker
echo "ok: 24 workers leaked, created through pool_start"

# RINGFENCE_THREAD_IGNORE in the process does the same.
RINGFENCE_THREAD_IGNORE='x,prime_w*' thr_start ignored "$THREADS_APP" primes --calls 2 --interval-ms 50
thr_wait "$THR_PID" "ignored pool"
thr_check "$THR_PID" 0 "leaky pool under RINGFENCE_THREAD_IGNORE=x,prime_w*, exited"

thr_start fixed "$THREADS_APP" primes --fixed --calls 6 --interval-ms 100 --workers 4 --linger-ms 1500
pid=$THR_PID
thr_ready fixed
sleep 1.2
thr_check "$pid" 0 "fixed pool, running"
thr_wait "$pid" "fixed pool"
thr_check "$pid" 0 "fixed pool, exited"
rf_assert_eq 24 "$(thr_stat "$pid" threads_exited)" "threads_exited of the fixed pool"
echo "PASS: threads-primes"
