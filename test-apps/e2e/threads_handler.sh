#!/usr/bin/env bash
# A request handler that starts 20 consumers on a queue it never closes,
# called every 250 ms (the pattern of the first goroutine-leak article):
# while it runs, `check` fails and `threads` shows one leak group, stuck,
# created by handle_request, its threads blocked in a futex wait, with a
# current-stack sample in queue_get; once it exits, the at-exit rule counts
# every consumer, and RINGFENCE_REPORT_AT_EXIT prints them. The fixed
# version (queue closed, consumers joined) passes both checks.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/threads_lib.sh"

thr_setup handler
export RINGFENCE_THREAD_AGE=1s

# The leak, live.
RINGFENCE_REPORT_AT_EXIT=1 thr_start leaky "$THREADS_APP" handler --calls 12 --interval-ms 250 \
	--linger-ms 3500
pid=$THR_PID
rf_wait_until 10 "check to fail on the running handler" thr_check_fails "$pid"
thr_check "$pid" 1 "leaky handler, running"
grep -q "handle_request" "$rf_tmpdir/check.out" || rf_fail "check's report lacks handle_request"
thr_json "$pid" "$rf_tmpdir/live.json"
thr_assert "$rf_tmpdir/live.json" \
	'r["rule"] == "running"' \
	'len(leaks()) == 1' \
	'leaks()[0]["class"] == "stuck"' \
	'leaks()[0]["count"] >= 20' \
	'leaks()[0]["created"] % 20 == 0 and leaks()[0]["created"] >= 40' \
	'leaks()[0]["alive"] == leaks()[0]["created"]' \
	'fns(frames_of(leaks()[0]))[0] == "handle_request"' \
	'"main" in fns(frames_of(leaks()[0]))' \
	'frames_of(leaks()[0])[0]["file"].endswith("rf_threads_app.c") and frames_of(leaks()[0])[0]["line"] > 0' \
	'leaks()[0]["start_routine"]["function"] == "consumer"' \
	'leaks()[0]["state"]["state"] == "S" and leaks()[0]["state"]["syscall_name"] == "futex"' \
	'leaks()[0]["state"]["for_ns"] is not None' \
	'r["sample"]["answered"] and r["sample"]["signal"] > 0' \
	'leaks()[0]["sample"]["status"] == "ok"' \
	'"queue_get" in fns(leaks()[0]["sample"]["frames"]) and "consumer" in fns(leaks()[0]["sample"]["frames"])' \
	'any("pthread_cond_wait" in f for f in fns(leaks()[0]["sample"]["frames"]))' \
	'any(g["class"] == "library" and g["thread_name"] == "rf:publisher" for g in r["groups"])'
echo "ok: live: one stuck group from handle_request, blocked in queue_get"
"$RF" threads --no-sample "$pid" >"$rf_tmpdir/live.txt"
grep -q '^LEAK GROUPS (1)' "$rf_tmpdir/live.txt" || rf_fail "text report: $(cat "$rf_tmpdir/live.txt")"
grep -Eq 'handle_request\+0x[0-9a-f]+ +.*rf_threads_app\.c:[0-9]+' "$rf_tmpdir/live.txt" ||
	rf_fail "text report lacks handle_request with its source line"
# The handler the shim installed for the sample: SigCgt has bit 61 (SIGRTMAX-3).
sigcgt=$(awk '/^SigCgt:/ {print $2}' "/proc/$pid/status")
(((0x$sigcgt >> 60) & 1)) || rf_fail "no handler for signal 61 after a sample (SigCgt $sigcgt)"
[ "$(thr_stat "$pid" threads_suspect)" -gt 0 ] || rf_fail "threads_suspect is 0 while stuck"

# The leak, after exit: every consumer alive at the end is leaked.
thr_wait "$pid" "leaky handler"
thr_check "$pid" 1 "leaky handler, exited"
thr_json "$pid" "$rf_tmpdir/exit.json"
thr_assert "$rf_tmpdir/exit.json" \
	'r["rule"] == "at-exit"' \
	'len(leaks()) == 1 and leaks()[0]["class"] == "leaked" and leaks()[0]["count"] == 240' \
	'r["totals"]["leaked"] == 240 and r["counters"]["created"] == 241'
grep -q 'thread leak report at exit.*240 leaked' "$rf_tmpdir/leaky.err" ||
	rf_fail "RINGFENCE_REPORT_AT_EXIT printed no report: $(cat "$rf_tmpdir/leaky.err")"
grep -q 'handle_request+0x' "$rf_tmpdir/leaky.err" || rf_fail "the at-exit report lacks handle_request"
echo "ok: exited: 240 leaked, reported at exit"

# Fixed: the queue is closed and the consumers joined.
RINGFENCE_REPORT_AT_EXIT=1 thr_start fixed "$THREADS_APP" handler --fixed --calls 12 \
	--interval-ms 100 --linger-ms 2500
pid=$THR_PID
thr_ready fixed
sleep 1.3
thr_check "$pid" 0 "fixed handler, running"
thr_json "$pid" "$rf_tmpdir/fixed.json"
thr_assert "$rf_tmpdir/fixed.json" 'leaks() == []' \
	'r["counters"]["created"] == 241 and r["counters"]["exited"] == 240' \
	'r["counters"]["unjoined"] == 0'
thr_wait "$pid" "fixed handler"
thr_check "$pid" 0 "fixed handler, exited"
[ ! -s "$rf_tmpdir/fixed.err" ] || rf_fail "the fixed handler got a report: $(cat "$rf_tmpdir/fixed.err")"

# Sampling can be switched off: no signal handler is ever installed.
RINGFENCE_THREAD_SAMPLE=0 thr_start nosample "$THREADS_APP" handler --calls 1 --linger-ms 3000
pid=$THR_PID
thr_ready nosample
thr_json "$pid" "$rf_tmpdir/nosample.json" --timeout 2000
thr_assert "$rf_tmpdir/nosample.json" '"disabled" in (r["sample"]["note"] or "")'
sigcgt=$(awk '/^SigCgt:/ {print $2}' "/proc/$pid/status")
((((0x$sigcgt >> 60) & 1) == 0)) || rf_fail "RINGFENCE_THREAD_SAMPLE=0 installed a handler (SigCgt $sigcgt)"
kill -TERM "$pid"
wait "$pid" || true
echo "PASS: threads-handler"
