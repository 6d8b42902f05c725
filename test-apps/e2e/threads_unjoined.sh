#!/usr/bin/env bash
# Finished joinable threads that nobody joins are "unjoined", live and at
# exit, each with how it ended (returned, pthread_exit, cancelled); threads
# that were detached (pthread_detach, the detached attribute, also after a
# join cancelled while it waited), joined (pthread_join,
# pthread_timedjoin_np), cancelled and joined, or ended with pthread_exit and
# joined are not. The fixed version joins them (pthread_join and
# pthread_tryjoin_np).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/threads_lib.sh"

thr_setup unjoined

thr_start leaky "$THREADS_APP" unjoined --calls 5 --linger-ms 2000
pid=$THR_PID
thr_ready leaky
sleep 0.5
thr_check "$pid" 1 "unjoined, running"
thr_check "$pid" 0 "unjoined, running, --max-unjoined 7" --max-unjoined 7
thr_json "$pid" "$rf_tmpdir/live.json"
thr_assert "$rf_tmpdir/live.json" \
	'len(leaks()) == 3 and all(g["class"] == "unjoined" for g in leaks())' \
	'fns(frames_of(leaks()[0]))[0] == "spawn_forgotten" and leaks()[0]["count"] == 5' \
	'all(t["end"] == "returned" for t in leaks()[0]["threads"])' \
	'[fns(frames_of(g))[0] for g in leaks()[1:]] == ["spawn_ended_otherwise"] * 2' \
	'sorted(t["end"] for g in leaks()[1:] for t in g["threads"]) == ["cancelled", "exited"]' \
	'r["totals"]["unjoined"] == 7 and r["counters"]["unjoined"] == 7' \
	'group_with("spawn_detached") is None or not group_with("spawn_detached")["leak"]' \
	'group_with("spawn_joined") is None or not group_with("spawn_joined")["leak"]' \
	'r["counters"]["created"] == 43 and r["counters"]["exited"] == 42' \
	'group_with("spawn_detached_after_a_cancelled_join") is None or not group_with("spawn_detached_after_a_cancelled_join")["leak"]'
echo "ok: 5 unjoined from spawn_forgotten, one exited and one cancelled from" \
	"spawn_ended_otherwise; detached, joined, cancelled, pthread_exit'ed ones not"
thr_wait "$pid" "unjoined"
thr_check "$pid" 1 "unjoined, exited"
grep -q 'spawn_forgotten' "$rf_tmpdir/check.out" || rf_fail "check's report lacks spawn_forgotten"

thr_start fixed "$THREADS_APP" unjoined --fixed --calls 5 --linger-ms 1000
pid=$THR_PID
thr_ready fixed
sleep 0.5
thr_check "$pid" 0 "unjoined fixed, running"
thr_wait "$pid" "unjoined fixed"
thr_check "$pid" 0 "unjoined fixed, exited"
rf_assert_eq 0 "$(thr_stat "$pid" threads_unjoined)" "threads_unjoined of the fixed run"
echo "PASS: threads-unjoined"
