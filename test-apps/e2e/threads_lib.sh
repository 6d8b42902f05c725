# shellcheck shell=bash
#
# threads_lib.sh - helpers for the thread-leak tests (docs/threads.md).
# Sources lib.sh (nothing more when the test has sourced it already).
#
#   thr_setup NAME               unique RINGFENCE_SHM_PREFIX, cleaned up at exit
#   thr_start NAME CMD...        run CMD under the shim in the background:
#                                THR_PID, output in $rf_tmpdir/NAME.{out,err}
#   thr_ready NAME               wait (bounded) for "ready" on its stdout
#   thr_wait PID WHAT            wait for it to exit 0 (bounded by the test)
#   thr_check PID RC WHAT [ARGS] `ringfence check` must exit RC
#   thr_json PID FILE [ARGS]     `ringfence threads --json` into FILE
#   thr_assert FILE CODE...      python3: `r` is the JSON of FILE, and each CODE
#                                line is an expression that must hold
#   frames_of(g), fns(frames)    (in CODE) a group's creation stack, functions

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RF=$RF_BUILD_ROOT/reporter/ringfence
SHIM=$RF_BUILD_ROOT/shim/libringfence.so
# shellcheck disable=SC2034 # for the tests that source this file
THREADS_APP=$RF_BUILD_ROOT/test-apps/rf-threads-app
# shellcheck disable=SC2034 # for the tests that source this file
THREADS_CXX=$RF_BUILD_ROOT/test-apps/rf-threads-cxx
# shellcheck disable=SC2034 # for the tests that source this file
THREADS_BENCH=$RF_BUILD_ROOT/test-apps/rf-threads-bench
# shellcheck disable=SC2034 # for the tests that source this file
THREADS_PY=$RF_SOURCE_ROOT/test-apps/rf_threads_leak.py
THR_PID=""

thr_setup() {
	PREFIX=rf-e2e-thr-$1-$$
	export RINGFENCE_SHM_PREFIX=$PREFIX
	rf_cleanup_add "rm -f /dev/shm/$PREFIX.*"
}

thr_start() {
	local name=$1
	shift
	LD_PRELOAD=$SHIM "$@" >"$rf_tmpdir/$name.out" 2>"$rf_tmpdir/$name.err" &
	THR_PID=$!
	rf_cleanup_add "kill -KILL $THR_PID 2>/dev/null || true"
}

thr_ready() {
	rf_wait_until 30 "$1 to print ready" grep -q '^ready' "$rf_tmpdir/$1.out"
}

thr_wait() {
	local status=0
	wait "$1" || status=$?
	[ "$status" -eq 0 ] || rf_fail "$2 exited with status $status: $(tail -5 "$rf_tmpdir"/*.err 2>/dev/null)"
}

thr_check() {
	local pid=$1 want=$2 what=$3 rc=0
	shift 3
	"$RF" check "$@" "$pid" >"$rf_tmpdir/check.out" 2>&1 || rc=$?
	if [ "$rc" -ne "$want" ]; then
		cat "$rf_tmpdir/check.out" >&2
		rf_fail "$what: ringfence check $* $pid exited $rc, expected $want"
	fi
	echo "ok: $what: check exits $want"
}

# True once `check` fails with 1 (not merely: no segment yet): for rf_wait_until.
thr_check_fails() {
	local rc=0
	"$RF" check "$1" >/dev/null 2>&1 || rc=$?
	[ "$rc" -eq 1 ]
}

thr_json() {
	local pid=$1 file=$2
	shift 2
	"$RF" threads --json "$@" "$pid" >"$file" || rf_fail "ringfence threads --json $pid exited $?"
}

thr_assert() {
	local file=$1
	shift
	python3 - "$file" "$@" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
def frames_of(g): return g["creation_stack"]
def fns(frames): return [f["function"] or "" for f in frames]
def leaks(): return [g for g in r["groups"] if g["leak"]]
def group_with(fn):
    for g in r["groups"]:
        if any(fn in f for f in fns(frames_of(g))): return g
    return None
for code in sys.argv[2:]:
    try:
        ok = eval(code)
    except Exception as e:
        ok = False; code += f"  ({e!r})"
    if not ok:
        print(json.dumps(r, indent=1)[:6000], file=sys.stderr)
        sys.exit(f"FAIL: does not hold: {code}")
PY
}

thr_stat() { # pid counter -> value
	"$RF" stat --json "$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['counters']['$2'])"
}
