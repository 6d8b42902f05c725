#!/usr/bin/env bash
# `ringfence run` stays its command's parent: it passes termination signals
# on, ends as the command did, and records in the segment how the command
# ended when the shim could not publish that itself (the exit_group system
# call, as every Go program ends, or a signal). A command that ends through
# exit() keeps what the shim published. With --exec the command replaces
# ringfence and an end without exit() stays unrecorded: `dead`, described as
# "ended without exit()". The commands are Python one-liners under the shim
# that print their pid first.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RF=$RF_BUILD_ROOT/reporter/ringfence
PREFIX=rf-e2e-run-$$
PY=/usr/bin/python3
rf_gc_at_exit "$PREFIX"

# ending CODE: a Python program that prints its pid, then ends as CODE says.
ending() {
	printf 'import ctypes, os, signal, sys, time\nprint(os.getpid(), flush=True)\n%s\n' "$1"
}
EXIT_GROUP_3='ctypes.CDLL(None).syscall(231, 3)  # exit_group(3): no exit(), as Go'
KILL_SELF='os.kill(os.getpid(), signal.SIGKILL)'
SLEEP='time.sleep(30)'
SYS_EXIT_5='sys.exit(5)'

# launch NAME [run options...] -- PROGRAM: start it under `ringfence run`
# in the background; sets LAUNCHER and CHILD (the pid the program printed).
launch() {
	local name=$1 program
	shift
	local -a opts=()
	while [[ $1 != -- ]]; do
		opts+=("$1")
		shift
	done
	program=$2
	"$RF" run --prefix "$PREFIX" "${opts[@]}" -- "$PY" -c "$(ending "$program")" \
		>"$rf_tmpdir/$name.out" 2>"$rf_tmpdir/$name.err" &
	LAUNCHER=$!
	rf_wait_until 10 "$name to print its pid" test -s "$rf_tmpdir/$name.out"
	read -r CHILD <"$rf_tmpdir/$name.out"
}

# finish NAME STATUS: wait for the launcher, require its exit status.
finish() {
	local status=0
	wait "$LAUNCHER" || status=$?
	rf_assert_eq "$2" "$status" "$1: ringfence run's exit status"
}

# expect NAME PID KEY=VALUE...: the segment's `stat --json` has these values
# (strings compared as Python reprs of the JSON values).
expect() {
	local name=$1 pid=$2
	shift 2
	"$RF" stat --prefix "$PREFIX" --json "$pid" >"$rf_tmpdir/$name.json" ||
		rf_fail "$name: ringfence stat $pid exited $?"
	python3 - "$rf_tmpdir/$name.json" "$name" "$@" <<'PY' || exit 1
import json, sys
s = json.load(open(sys.argv[1]))
errors = []
for kv in sys.argv[3:]:
    k, v = kv.split("=", 1)
    got = s.get(k)
    if v.startswith("~"):
        if not isinstance(got, str) or v[1:] not in got:
            errors.append(f"{k} is {got!r}, expected to contain {v[1:]!r}")
    elif json.dumps(got) != v:
        errors.append(f"{k} is {json.dumps(got)}, expected {v}")
if errors:
    sys.exit(f"FAIL: {sys.argv[2]}: " + "; ".join(errors))
PY
}

# ls_state PID: the STATE column of `ringfence ls` for PID.
ls_state() {
	"$RF" ls --prefix "$PREFIX" | awk -v p="$1" '$1 == p { print $2 }'
}

# exit_group: the shim sees no exit; the parent records the status.
launch exit-group -- "$EXIT_GROUP_3"
finish exit-group 3
expect exit-group "$CHILD" state='"exited"' exit_status=3 exit_signal=null \
	exit_recorded_by='"parent"' state_note='~exit_group'
rf_assert_eq "exited(3)" "$(ls_state "$CHILD")" "exit-group: ls state"

# A signal: the launcher ends by the same one; the parent records which.
launch sigkill -- "$KILL_SELF"
finish sigkill 137
expect sigkill "$CHILD" state='"killed"' exit_status=null exit_signal=9 exit_recorded_by='"parent"'
rf_assert_eq "killed(KILL)" "$(ls_state "$CHILD")" "sigkill: ls state"

# SIGTERM to the launcher reaches the command.
launch sigterm -- "$SLEEP"
kill -TERM "$LAUNCHER"
finish sigterm 143
expect sigterm "$CHILD" state='"killed"' exit_signal=15

# exit(): what the shim published stands.
launch exit -- "$SYS_EXIT_5"
finish exit 5
expect exit "$CHILD" state='"exited"' exit_status=5 exit_recorded_by='"process"' state_note=null

# --exec: the command replaces the launcher; exit_group stays unrecorded.
launch exec --exec -- "$EXIT_GROUP_3"
rf_assert_eq "$LAUNCHER" "$CHILD" "--exec: the command's pid"
finish exec 3
expect exec "$CHILD" state='"dead"' exit_status=null exit_recorded_by=null \
	state_note='~ended without exit(): killed by a signal, or exit_group as Go programs do'
"$RF" ls --prefix "$PREFIX" >"$rf_tmpdir/ls.txt"
grep -q '^dead: ended without exit()' "$rf_tmpdir/ls.txt" ||
	rf_fail "ls does not explain the dead process: $(cat "$rf_tmpdir/ls.txt")"

echo "ok: ringfence run records exit_group and signals, passes SIGTERM on, keeps exit()'s record"
