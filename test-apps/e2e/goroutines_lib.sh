# shellcheck shell=bash
#
# goroutines_lib.sh - helpers for the goroutine tests (docs/goroutines.md):
# start a Go program, read it with `ringfence goroutines` or `check`, assert
# on the report with py/rf_goroutines.py. Sources lib.sh.
#
#   gr_program NAME              path of the built Go program NAME (rf-go-NAME);
#                                fails saying what to install when missing
#   gr_start NAME CMD...         run CMD in the background and wait (bounded) for
#                                its "ready" line: GR_PID; output in
#                                $rf_tmpdir/NAME.log; killed at exit
#   gr_stop PID                  kill it and reap it
#   gr_run NAME ARGS...          `ringfence ARGS` into $rf_tmpdir/NAME.{out,err},
#                                its exit status in GR_RC
#   gr_status NAME RC            GR_RC must be RC (else the output is shown)
#   gr_one_line NAME RC PATTERN  GR_RC must be RC, and stderr exactly one line
#                                matching PATTERN (grep -E)
#   gr_assert SUBCOMMAND NAME ARGS...  py/rf_goroutines.py on $rf_tmpdir/NAME.out
#   gr_line FILE TEXT            the number of the line of FILE holding TEXT

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RF=$RF_BUILD_ROOT/reporter/ringfence
# shellcheck disable=SC2034 # for the tests that source this file
SHIM=$RF_BUILD_ROOT/shim/libringfence.so
# shellcheck disable=SC2034 # for the tests that source this file
GO_SRC=$RF_SOURCE_ROOT/test-apps/go/goroutines
GR_PY=$RF_SOURCE_ROOT/test-apps/py/rf_goroutines.py
GR_PID=""
GR_RC=0

gr_program() {
	local path=$RF_BUILD_ROOT/test-apps/rf-go-$1
	[[ -x $path ]] ||
		rf_fail "$path is missing: meson builds it when go (golang-go) is installed, the producer when confluent-kafka-go (golang-github-confluentinc-confluent-kafka-go-dev) is too"
	printf '%s\n' "$path"
}

gr_start() {
	local name=$1
	shift
	"$@" >"$rf_tmpdir/$name.log" 2>&1 &
	GR_PID=$!
	rf_cleanup_add "kill -KILL $GR_PID 2>/dev/null || true"
	rf_wait_until 20 "$name to print ready" grep -q '^ready' "$rf_tmpdir/$name.log"
}

gr_stop() {
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

gr_run() {
	local name=$1
	shift
	GR_RC=0
	"$RF" "$@" >"$rf_tmpdir/$name.out" 2>"$rf_tmpdir/$name.err" || GR_RC=$?
}

gr_status() {
	if [[ $GR_RC -ne $2 ]]; then
		cat "$rf_tmpdir/$1.out" "$rf_tmpdir/$1.err" >&2
		rf_fail "$1: ringfence exited $GR_RC, expected $2"
	fi
}

gr_one_line() {
	local name=$1 rc=$2 pattern=$3 lines
	lines=$(wc -l <"$rf_tmpdir/$name.err")
	if [[ $GR_RC -ne $rc || $lines -ne 1 ]] || ! grep -Eq -- "$pattern" "$rf_tmpdir/$name.err"; then
		cat "$rf_tmpdir/$name.err" >&2
		rf_fail "$name: expected exit $rc and one line matching '$pattern', got exit $GR_RC and $lines lines"
	fi
	echo "ok: $name: exit $rc: $(cat "$rf_tmpdir/$name.err")"
}

gr_assert() {
	local sub=$1 name=$2
	shift 2
	python3 "$GR_PY" "$sub" "$rf_tmpdir/$name.out" "$@" || rf_fail "$name: $sub $*"
}

gr_line() {
	local n
	n=$(grep -m1 -nF -- "$2" "$1" | cut -d: -f1)
	[[ -n $n ]] || rf_fail "no line '$2' in $1"
	printf '%s\n' "$n"
}
