#!/usr/bin/env bash
# The ways a program ends, plain and under the shim alike, each recorded as
# an exit with its status: quick_exit (its handlers run, then libc's _exit
# past any PLT), and exit() called by one thread while others allocate.
set -euo pipefail
source "$(dirname "$0")/safety_lib.sh"

# state_of PID: the reporter's verdict on a segment ("exited(3)", "dead" ...).
state_of() {
	"$RF" ls | awk -v pid="$1" '$1 == pid { print $2 }'
}

sf_same "quick_exit(5)" 30 "$SAFETY_APP" quick-exit 5
LD_PRELOAD=$SHIM "$SAFETY_APP" quick-exit 7 >/dev/null &
pid=$!
wait "$pid" || true
rf_assert_eq "exited(7)" "$(state_of "$pid")" "quick_exit(7) as the reporter sees it"
echo "ok: quick_exit is an exit with its status"

sf_same "exit(3) from a thread while others allocate" 30 "$SAFETY_APP" exit-thread
LD_PRELOAD=$SHIM "$SAFETY_APP" exit-thread >/dev/null &
pid=$!
wait "$pid" || true
rf_assert_eq "exited(3)" "$(state_of "$pid")" "exit(3) from a thread as the reporter sees it"
echo "ok: exit from a thread is an exit with its status"
