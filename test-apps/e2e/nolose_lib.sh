# shellcheck shell=bash
#
# nolose_lib.sh - helpers shared by the no-loss tests (nolose_*.sh): run a
# producer under the shim with a budget small enough to bind, keep its output
# and its segment's figures, and hand every run to py/rf_verify.py, which
# proves each message was accounted for exactly once (see its docstring).
#
#   . "$(dirname "${BASH_SOURCE[0]}")/nolose_lib.sh"
#   rf_broker_start --brokers 1 --rtt 50
#   nl_run NAME POLICY client=rf-producer threads=1 count=2000 size=1000 -- CMD...
#   nl_verify
#
# Sources lib.sh. Each test gets its own segment prefix; its segments are
# collected at exit.

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${RF_SOURCE_ROOT:?RF_SOURCE_ROOT must name the source tree}"
NL_RF=$RF_BUILD_ROOT/reporter/ringfence
# shellcheck disable=SC2034 # for the tests that source this file
NL_APPS=$RF_BUILD_ROOT/test-apps
# Debian's interpreter, which has python3-confluent-kafka; never another python3 on PATH.
NL_PYTHON=/usr/bin/python3
NL_PY=$RF_SOURCE_ROOT/test-apps/py
NL_PREFIX=rf-nl-$$
# 256 KiB against 1000-byte messages (about 200 of them with their overhead):
# a broker round trip of 50 ms or more keeps more than that buffered.
NL_BUDGET=${NL_BUDGET:-256K}
NL_BUDGET_BYTES=${NL_BUDGET_BYTES:-262144}
# The longest any one producer may run.
NL_RUN_TIMEOUT=${NL_RUN_TIMEOUT:-30}
NL_CASES=$rf_tmpdir/cases
: >"$NL_CASES"
declare -A NL_T0=()

rf_gc_at_exit "$NL_PREFIX"
rf_require_kafka_python "$NL_PYTHON"

# nl_start NAME POLICY [RINGFENCE options...] -- CMD...: start CMD under
# `ringfence run` with the test's budget and POLICY, standard output in
# $rf_tmpdir/NAME.out, standard error in NAME.err, standard input from
# $NL_STDIN when set (else /dev/null), through the function $NL_WRAP when
# set. Sets NL_PID.
nl_start() {
	local name=$1 policy=$2
	shift 2
	rf_opts_split "nl_start $name" "$@"
	# NL_WRAP: a function that execs its arguments (same pid) in a changed setting.
	# --exec: the command replaces ringfence, so $! is the pid of its segment.
	${NL_WRAP:-} "$NL_RF" run --exec --budget "$NL_BUDGET" --policy "$policy" --prefix "$NL_PREFIX" \
		"${RF_OPTS[@]}" -- "${RF_CMD[@]}" \
		<"${NL_STDIN:-/dev/null}" >"$rf_tmpdir/$name.out" 2>"$rf_tmpdir/$name.err" &
	NL_PID=$!
	rf_track "$NL_PID"
	NL_T0[$NL_PID]=$EPOCHREALTIME
}

# nl_wait NAME PID [OK_STATUSES]: wait for PID (bounded by NL_RUN_TIMEOUT),
# require an exit status among OK_STATUSES (default "0"), save its segment's
# figures in $rf_tmpdir/NAME.stat.
nl_wait() {
	local name=$1 pid=$2
	rf_run_wait "$name" "$pid" "$NL_RUN_TIMEOUT" "${3:-0}"
	"$NL_RF" stat --prefix "$NL_PREFIX" --json "$pid" >"$rf_tmpdir/$name.stat" ||
		rf_fail "$name: ringfence stat $pid exited $?"
	printf '%s: exited %s after %ss\n' "$name" "$RF_RUN_STATUS" \
		"$(rf_elapsed "${NL_T0[$pid]:-$EPOCHREALTIME}")"
}

# nl_case NAME POLICY KEY=VALUE...: hand a finished run to the verifier.
nl_case() {
	local name=$1 policy=$2
	shift 2
	printf '%s\n' "name=$name policy=$policy budget=$NL_BUDGET_BYTES stat=$rf_tmpdir/$name.stat $*" \
		>>"$NL_CASES"
}

# nl_run NAME POLICY [KEY=VALUE... (verifier)] [RF OPTIONS...] -- CMD...:
# start, wait (exit status 0 unless NL_OK says otherwise), and add the case.
# Verifier keys come first; anything else before -- goes to ringfence run.
nl_run() {
	local name=$1 policy=$2
	local -a keys=() rfopts=()
	shift 2
	while (($#)) && [[ $1 != -- ]]; do
		if [[ $1 == *=* && $1 != --* ]]; then keys+=("$1"); else rfopts+=("$1"); fi
		shift
	done
	nl_start "$name" "$policy" "${rfopts[@]}" "$@"
	nl_wait "$name" "$NL_PID" "${NL_OK:-0}"
	nl_case "$name" "$policy" "${keys[@]}"
}

# nl_verify: check every case added so far against the broker.
nl_verify() {
	local status=0 t0=$EPOCHREALTIME
	# Reading back needs no round-trip delay.
	rf_broker_cmd "rtt all 0"
	"$NL_PYTHON" "$NL_PY/rf_verify.py" --bootstrap "$RF_BOOTSTRAP" --cases "$NL_CASES" ||
		status=$?
	if ((status != 0)); then
		rf_fail "rf_verify.py: some message is not accounted for exactly once, or a figure is off (status $status; FAIL lines above)"
	fi
	printf 'verified in %ss\n' "$(rf_elapsed "$t0")"
	: >"$NL_CASES"
}

# nl_lines FILE COUNT SIZE... : COUNT unique lines, line i of SIZE[i % n]
# bytes ("line-<i>-" then filler), for kcat and rdkafka_example.
nl_lines() {
	local file=$1 count=$2
	shift 2
	awk -v n="$count" -v sizes="$*" 'BEGIN {
		ns = split(sizes, sz, " ")
		fill = ""
		for (k = 0; k < 4096; k++) fill = fill sprintf("%c", 97 + k % 26)
		for (i = 0; i < n; i++) {
			head = sprintf("line-%d-", i)
			print head substr(fill, 1 + i % 26, sz[1 + i % ns] - length(head))
		}
	}' >"$file"
}
