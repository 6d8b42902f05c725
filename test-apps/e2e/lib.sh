# shellcheck shell=bash
#
# lib.sh - helpers for ringfence end-to-end tests. Source it from a bash test
# that runs under `set -euo pipefail`:
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   rf_broker_start --brokers 3
#   ... use "$RF_BOOTSTRAP" ...
#   rf_broker_cmd "down 1"
#   rf_broker_stop
#
# Environment (set by meson through e2e_env):
#   RF_BUILD_ROOT    meson build directory (required)
#   RF_SOURCE_ROOT   source tree root
#   RF_MOCK_BROKER   broker executable (default:
#                    $RF_BUILD_ROOT/test-apps/rf-mock-broker)
#
# Provides:
#   rf_tmpdir                      per-test temporary directory, removed on exit
#   rf_broker_start [ARGS...]      start rf-mock-broker, export RF_BOOTSTRAP and
#                                  RF_BROKER_PID; its output goes to the files
#                                  $RF_BROKER_STDOUT and $RF_BROKER_STDERR
#   rf_broker_cmd CMD              send a stdin command, wait for "ok CMD"
#   rf_broker_stop                 SIGTERM the broker, require exit status 0
#   rf_fail MSG                    print "FAIL: MSG" to stderr and exit 1
#   rf_assert_eq EXP ACT WHAT      fail unless EXP and ACT are equal
#   rf_wait_until SECONDS WHAT CMD...  run CMD until it succeeds, bounded
#   rf_cleanup_add CMD...          run CMD at exit, before the broker stops
#   rf_track PID / rf_untrack PID  a process of the test, killed at exit while
#                                  it runs / waited for already
#   rf_run_wait NAME PID SECONDS [OK_STATUSES]
#                                  wait for a run (bounded), require its exit
#                                  status, show its output files on failure
#   rf_elapsed T0                  seconds since a value of EPOCHREALTIME
#   rf_opts_split WHO ARGS...      ARGS before -- into RF_OPTS, after it into RF_CMD
#   rf_gc_at_exit PREFIX           remove the segments under PREFIX at exit
#   rf_require_kafka_python PYTHON fail unless PYTHON imports confluent_kafka
#
# Every wait here is bounded: a hung broker or client fails the test instead
# of eating the whole meson timeout.

if [[ -n "${RF_E2E_LIB_LOADED:-}" ]]; then
	return 0
fi
RF_E2E_LIB_LOADED=1

: "${RF_BUILD_ROOT:?RF_BUILD_ROOT must name the meson build directory}"
RF_MOCK_BROKER="${RF_MOCK_BROKER:-$RF_BUILD_ROOT/test-apps/rf-mock-broker}"

# Bounds, in seconds; a test may lower or raise them before starting.
RF_BROKER_START_TIMEOUT="${RF_BROKER_START_TIMEOUT:-10}"
RF_BROKER_CMD_TIMEOUT="${RF_BROKER_CMD_TIMEOUT:-10}"
RF_BROKER_STOP_TIMEOUT="${RF_BROKER_STOP_TIMEOUT:-10}"

RF_BOOTSTRAP=""
RF_BROKER_PID=""
rf__broker_fd=""
RF_BROKER_STDOUT=""
RF_BROKER_STDERR=""
rf__broker_status=""
rf__deadline_us=0
rf__cleanup_cmds=()
rf__tracked=()
rf__gc_prefixes=()

rf_tmpdir="$(mktemp -d "${TMPDIR:-/tmp}/rf-e2e.XXXXXX")"

rf_fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

rf_assert_eq() {
	local expected="$1" actual="$2" what="$3"

	if [[ "$expected" != "$actual" ]]; then
		rf_fail "$what: expected '$expected', got '$actual'"
	fi
}

# Microseconds on the wall clock, without forking; only differences are
# used. The separator in EPOCHREALTIME follows the locale, hence the filter.
rf__deadline() {
	rf__deadline_us=$((10#${EPOCHREALTIME//[!0-9]/} + $1 * 1000000))
}

rf__passed() {
	((10#${EPOCHREALTIME//[!0-9]/} >= $1))
}

# rf_wait_until SECONDS WHAT CMD...: poll CMD every 50 ms until it succeeds;
# fail the test naming WHAT once SECONDS have passed.
rf_wait_until() {
	local timeout_s="$1" what="$2"
	local deadline

	shift 2
	rf__deadline "$timeout_s"
	deadline=$rf__deadline_us
	until "$@"; do
		if rf__passed "$deadline"; then
			rf_fail "timed out after ${timeout_s}s waiting for $what"
		fi
		sleep 0.05
	done
}

rf_cleanup_add() {
	rf__cleanup_cmds+=("$*")
}

# True while PID runs. kill -0 alone also succeeds for a zombie, which an
# exited child stays until it is waited for.
rf__pid_alive() {
	local pid="$1" stat

	kill -0 "$pid" 2>/dev/null || return 1
	{ read -r stat <"/proc/$pid/stat"; } 2>/dev/null || return 1
	stat="${stat##*) }"
	[[ "${stat%% *}" != Z ]]
}

rf_track() {
	rf__tracked+=("$1")
}

rf_untrack() {
	local -a keep=()
	local p

	for p in "${rf__tracked[@]}"; do
		[[ $p == "$1" ]] || keep+=("$p")
	done
	rf__tracked=("${keep[@]}")
}

# rf_elapsed T0: seconds since T0, a value of EPOCHREALTIME, to the millisecond.
rf_elapsed() {
	local t0=${1//[!0-9]/} t1=${EPOCHREALTIME//[!0-9]/} d

	d=$(((10#$t1 - 10#$t0) / 1000))
	printf '%d.%03d' $((d / 1000)) $((d % 1000))
}

# rf_opts_split WHO ARGS...: the words of ARGS before "--" into the array
# RF_OPTS, those after it into RF_CMD; fails naming WHO when there is no "--".
rf_opts_split() {
	local who=$1

	shift
	RF_OPTS=()
	while (($#)) && [[ $1 != -- ]]; do
		RF_OPTS+=("$1")
		shift
	done
	[[ ${1:-} == -- ]] || rf_fail "$who: missing -- before the command"
	shift
	# shellcheck disable=SC2034 # for the scripts that source this file
	RF_CMD=("$@")
}

rf_gc_at_exit() {
	rf__gc_prefixes+=("$1")
}

rf_require_kafka_python() {
	if [[ ! -x $1 ]] || ! "$1" -c 'import confluent_kafka' 2>/dev/null; then
		rf_fail "$1 with confluent_kafka (Debian python3-confluent-kafka) is required"
	fi
}

# rf_run_dump NAME: the tails of a run's $rf_tmpdir/NAME.out and NAME.err.
rf_run_dump() {
	printf -- '--- %s stdout (last 5 lines) ---\n' "$1" >&2
	tail -n 5 "$rf_tmpdir/$1.out" >&2 || true
	printf -- '--- %s stderr (last 15 lines) ---\n' "$1" >&2
	tail -n 15 "$rf_tmpdir/$1.err" >&2 || true
}

# rf_run_wait NAME PID SECONDS [OK_STATUSES]: wait for PID, a tracked run
# whose output is in $rf_tmpdir/NAME.out and NAME.err, at most SECONDS (then
# kill it and fail: a hang); require an exit status among OK_STATUSES
# (default 0). Leaves the status in RF_RUN_STATUS.
rf_run_wait() {
	local name=$1 pid=$2 timeout_s=$3 ok=${4:-0} deadline

	RF_RUN_STATUS=0
	deadline=$((SECONDS + timeout_s))
	while rf__pid_alive "$pid" && ((SECONDS < deadline)); do
		sleep 0.05
	done
	if rf__pid_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		rf_untrack "$pid"
		rf_run_dump "$name"
		rf_fail "$name: still running after ${timeout_s}s (killed): a hang"
	fi
	wait "$pid" || RF_RUN_STATUS=$?
	rf_untrack "$pid"
	if [[ " $ok " != *" $RF_RUN_STATUS "* ]]; then
		rf_run_dump "$name"
		rf_fail "$name: exited with status $RF_RUN_STATUS (expected one of: $ok)"
	fi
}

rf__broker_log_dump() {
	if [[ -n "$RF_BROKER_STDERR" && -s "$RF_BROKER_STDERR" ]]; then
		printf '%s\n' '--- rf-mock-broker stderr (last 20 lines) ---' >&2
		tail -n 20 "$RF_BROKER_STDERR" >&2 || true
		printf '%s\n' '---' >&2
	fi
}

# rf__broker_reap TIMEOUT: wait up to TIMEOUT seconds for the broker to exit,
# SIGKILL it after that; leaves its exit status in rf__broker_status (137
# after a SIGKILL). Not for $(...): only this shell can wait for the broker.
rf__broker_reap() {
	local timeout_s="$1" pid="$RF_BROKER_PID" status=0 deadline

	rf__deadline "$timeout_s"
	deadline=$rf__deadline_us
	while rf__pid_alive "$pid" && ! rf__passed "$deadline"; do
		sleep 0.05
	done
	if rf__pid_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || status=$?
	if [[ -n "$rf__broker_fd" ]]; then
		exec {rf__broker_fd}>&-
		rf__broker_fd=""
	fi
	RF_BROKER_PID=""
	RF_BOOTSTRAP=""
	rf__broker_status=$status
}

# rf_broker_start [rf-mock-broker args...]
rf_broker_start() {
	local fifo deadline

	if [[ -n "$RF_BROKER_PID" ]]; then
		rf_fail "rf_broker_start: a broker is already running (pid $RF_BROKER_PID)"
	fi
	if [[ ! -x "$RF_MOCK_BROKER" ]]; then
		rf_fail "rf_broker_start: $RF_MOCK_BROKER is not an executable (build first?)"
	fi

	fifo="$rf_tmpdir/broker.stdin"
	RF_BROKER_STDOUT="$rf_tmpdir/broker.stdout"
	RF_BROKER_STDERR="$rf_tmpdir/broker.stderr"
	rm -f "$fifo"
	mkfifo -m 600 "$fifo"
	: >"$RF_BROKER_STDOUT"
	: >"$RF_BROKER_STDERR"
	# Open read-write: on Linux that never blocks on a FIFO, and holding
	# this write end means the broker never sees end of file on stdin.
	exec {rf__broker_fd}<>"$fifo"
	# The broker must not inherit our end of its own stdin.
	"$RF_MOCK_BROKER" "$@" <"$fifo" >"$RF_BROKER_STDOUT" 2>"$RF_BROKER_STDERR" \
		{rf__broker_fd}>&- &
	RF_BROKER_PID=$!
	export RF_BROKER_PID

	rf__deadline "$RF_BROKER_START_TIMEOUT"
	deadline=$rf__deadline_us
	# read succeeds only on a complete, newline-terminated line.
	until IFS= read -r RF_BOOTSTRAP <"$RF_BROKER_STDOUT"; do
		if ! rf__pid_alive "$RF_BROKER_PID"; then
			rf__broker_reap 0
			rf_fail "rf_broker_start: rf-mock-broker $* exited with status $rf__broker_status before printing its bootstrap servers"
		fi
		if rf__passed "$deadline"; then
			rf_fail "rf_broker_start: no bootstrap servers from rf-mock-broker within ${RF_BROKER_START_TIMEOUT}s"
		fi
		sleep 0.02
	done
	if [[ ! "$RF_BOOTSTRAP" =~ ^127\.0\.0\.1:[0-9]+(,127\.0\.0\.1:[0-9]+)*$ ]]; then
		rf_fail "rf_broker_start: unexpected bootstrap line '$RF_BOOTSTRAP'"
	fi
	export RF_BOOTSTRAP
}

# rf_broker_cmd CMD: send CMD (e.g. "down 1", "up all", "rtt 2 500") and wait
# for its acknowledgement; fails on an "error:" from the broker or a timeout.
rf_broker_cmd() {
	local -a words
	local cmd out_lines err_lines deadline err_line

	if [[ -z "$RF_BROKER_PID" ]]; then
		rf_fail "rf_broker_cmd $*: no broker running"
	fi
	# The broker acknowledges the command with single spaces.
	read -r -a words <<<"$*"
	cmd="${words[*]}"
	if [[ -z "$cmd" ]]; then
		rf_fail "rf_broker_cmd: empty command"
	fi
	out_lines=$(wc -l <"$RF_BROKER_STDOUT")
	err_lines=$(wc -l <"$RF_BROKER_STDERR")

	printf '%s\n' "$cmd" >&"$rf__broker_fd"

	rf__deadline "$RF_BROKER_CMD_TIMEOUT"
	deadline=$rf__deadline_us
	until awk -v skip="$out_lines" -v want="ok $cmd" \
		'NR > skip && $0 == want { found = 1; exit } END { exit !found }' \
		"$RF_BROKER_STDOUT"; do
		err_line=$(awk -v skip="$err_lines" \
			'NR > skip && /error:/ { print; exit }' "$RF_BROKER_STDERR")
		if [[ -n "$err_line" ]]; then
			rf_fail "rf_broker_cmd '$cmd' rejected: $err_line"
		fi
		if ! rf__pid_alive "$RF_BROKER_PID"; then
			rf_fail "rf_broker_cmd '$cmd': rf-mock-broker is no longer running"
		fi
		if rf__passed "$deadline"; then
			rf_fail "rf_broker_cmd '$cmd': no acknowledgement within ${RF_BROKER_CMD_TIMEOUT}s"
		fi
		sleep 0.02
	done
}

# rf_broker_stop: SIGTERM, bounded wait, SIGKILL; the broker must exit 0.
rf_broker_stop() {
	local status

	if [[ -z "$RF_BROKER_PID" ]]; then
		rf_fail "rf_broker_stop: no broker running"
	fi
	kill -TERM "$RF_BROKER_PID" 2>/dev/null || true
	rf__broker_reap "$RF_BROKER_STOP_TIMEOUT"
	status=$rf__broker_status
	if [[ "$status" != 0 ]]; then
		if [[ "$status" == 137 ]]; then
			rf_fail "rf_broker_stop: rf-mock-broker ignored SIGTERM for ${RF_BROKER_STOP_TIMEOUT}s and was killed"
		fi
		rf_fail "rf_broker_stop: rf-mock-broker exited with status $status, expected 0"
	fi
}

rf__cleanup() {
	local status=$? cmd

	# Cleanup must run to the end whatever fails in it.
	set +e
	trap - EXIT
	for cmd in "${rf__tracked[@]}"; do
		if rf__pid_alive "$cmd"; then
			kill -KILL "$cmd" 2>/dev/null
			wait "$cmd" 2>/dev/null
		fi
	done
	for cmd in "${rf__cleanup_cmds[@]}"; do
		eval "$cmd"
	done
	# The test's segments, once its processes are gone.
	for cmd in "${rf__gc_prefixes[@]}"; do
		"$RF_BUILD_ROOT/reporter/ringfence" gc --prefix "$cmd" >/dev/null 2>&1
		rm -f /dev/shm/"$cmd".* 2>/dev/null
	done
	if [[ -n "$RF_BROKER_PID" ]]; then
		kill -TERM "$RF_BROKER_PID" 2>/dev/null
		rf__broker_reap 5
	fi
	# The broker's own words are usually what explains a failure.
	if ((status != 0)); then
		rf__broker_log_dump
	fi
	rm -rf -- "$rf_tmpdir"
	exit "$status"
}

trap rf__cleanup EXIT
# Turn signals into an exit so the EXIT trap runs (meson sends SIGTERM on
# timeout).
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
