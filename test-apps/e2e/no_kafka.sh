#!/usr/bin/env bash
# Processes that never load librdkafka run unchanged under the shim: same
# output, same exit status, no words from the shim on stderr; their segment
# records how they ended: a returned status, exit(), _exit() from a fork
# child, death by SIGKILL, and a fork child's own segment.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RF=$RF_BUILD_ROOT/reporter/ringfence
SHIM=$RF_BUILD_ROOT/shim/libringfence.so
PREFIX=rf-e2e-nokafka-$$
rf_gc_at_exit "$PREFIX"
export RINGFENCE_SHM_PREFIX=$PREFIX

state_of() { # pid -> "state exit_status"
	"$RF" stat --json "$1" | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["state"], s["exit_status"])'
}

# /bin/true returns 0 from main.
LD_PRELOAD=$SHIM /bin/true 2>"$rf_tmpdir/err" &
pid=$!
wait $pid || rf_fail "/bin/true under the shim exited $?"
[ ! -s "$rf_tmpdir/err" ] || rf_fail "the shim wrote to stderr: $(cat "$rf_tmpdir/err")"
rf_assert_eq "exited 0" "$(state_of $pid)" "/bin/true's segment"

# sh -c: output and status unchanged (exit() path).
set +e
out=$(LD_PRELOAD=$SHIM sh -c 'echo "hello $0"; exit 3' world 2>"$rf_tmpdir/err")
rc=$?
set -e
rf_assert_eq 3 "$rc" "sh -c exit status"
rf_assert_eq "hello world" "$out" "sh -c output"
[ ! -s "$rf_tmpdir/err" ] || rf_fail "the shim wrote to stderr: $(cat "$rf_tmpdir/err")"

# A program that returns 5 from main, to tell the main() wrapper works.
LD_PRELOAD=$SHIM python3 -c 'import sys; sys.exit(5)' &
pid=$!
set +e; wait $pid; rc=$?; set -e
rf_assert_eq 5 "$rc" "python3 sys.exit(5) status"
rf_assert_eq "exited 5" "$(state_of $pid)" "python3's segment"

# fork: the child gets its own segment, and its _exit() is recorded there
# without touching the parent's.
LD_PRELOAD=$SHIM python3 -c '
import os, sys
child = os.fork()
if child == 0:
    os._exit(9)
_, status = os.waitpid(child, 0)
print(child)
sys.exit(0 if os.waitstatus_to_exitcode(status) == 9 else 1)
' >"$rf_tmpdir/child" &
pid=$!
wait $pid || rf_fail "fork test exited $?"
child=$(cat "$rf_tmpdir/child")
rf_assert_eq "exited 9" "$(state_of "$child")" "fork child's segment"
rf_assert_eq "exited 0" "$(state_of $pid)" "fork parent's segment"

# Killed without exit: the segment stays, marked dead by the reporter.
LD_PRELOAD=$SHIM sleep 30 &
pid=$!
for _ in $(seq 50); do [ -e "/dev/shm/$PREFIX.$pid" ] && break; sleep 0.1; done
rf_assert_eq "alive None" "$(state_of $pid)" "sleeping process"
kill -KILL $pid
wait $pid 2>/dev/null || true
rf_assert_eq "dead None" "$(state_of $pid)" "SIGKILLed process"

# A malformed variable: one clear line, the host runs unchanged and passive.
set +e
out=$(LD_PRELOAD=$SHIM RINGFENCE_BUDGET=64X RINGFENCE_BUDGTE=1M sh -c 'echo fine; echo $$ >&3; exit 4' 3>"$rf_tmpdir/pid" 2>"$rf_tmpdir/err")
rc=$?
set -e
rf_assert_eq 4 "$rc" "status under a bad variable"
rf_assert_eq fine "$out" "output under a bad variable"
grep -q 'RINGFENCE_BUDGET="64X" is not accepted: expected .*K, M or G' "$rf_tmpdir/err" ||
	rf_fail "no clear message for RINGFENCE_BUDGET=64X: $(cat "$rf_tmpdir/err")"
grep -q 'RINGFENCE_BUDGTE is not a ringfence variable' "$rf_tmpdir/err" ||
	rf_fail "no warning for the typo RINGFENCE_BUDGTE: $(cat "$rf_tmpdir/err")"
"$RF" stat --json "$(cat "$rf_tmpdir/pid")" | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["passive"] is True, s["passive"]
assert "RINGFENCE_BUDGET" in s["config_error"], s["config_error"]
' || rf_fail "the segment does not record the configuration error"

"$RF" gc >/dev/null
left=$(find /dev/shm -maxdepth 1 -name "$PREFIX.*" | wc -l)
rf_assert_eq 0 "$left" "segments left after gc"
echo "ok: processes without librdkafka run unchanged"
