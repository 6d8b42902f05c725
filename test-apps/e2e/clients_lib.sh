# shellcheck shell=bash
#
# clients_lib.sh - helpers shared by the tests of real producers nobody here
# wrote (client_*.sh: Go on confluent-kafka-go, rsyslog with omkafka,
# collectd with write_kafka). Each client runs plain and under the shim
# against the embedded broker, and each run becomes one record (a JSON line)
# that the test checks and prints as a table (the figures of
# docs/clients.md):
#
#   . "$(dirname "${BASH_SOURCE[0]}")/clients_lib.sh"
#   rf_broker_start --brokers 3
#   cl_start NAME plain|shim -- CMD...      # sets CL_PID (ringfence run's, under the shim)
#   cl_process NAME                         # the client's own pid
#   cl_wait NAME "$CL_PID"                  # bounded; exit status, wall time
#   cl_segment NAME PID                     # the process's segment: stat, ls, check
#   cl_count NAME REGEX TOPIC...            # what the broker holds
#   cl_record NAME key=value...             # one record
#   cl_expect NAME 'PYTHON EXPRESSION' WHAT # on the record r: fail unless true
#   cl_table                                # every record, as a table
#
# Sources lib.sh. Everything a test starts is tracked by pid (rf_track) and
# stopped at exit; its segments are removed. Under the shim the budget is $CL_BUDGET,
# the policy block.

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${RF_SOURCE_ROOT:?RF_SOURCE_ROOT must name the source tree}"
CL_RF=$RF_BUILD_ROOT/reporter/ringfence
# Debian's interpreter, which has python3-confluent-kafka.
CL_PY=/usr/bin/python3
CL_PYDIR=$RF_SOURCE_ROOT/test-apps/py
CL_PREFIX=rf-cl-$$
CL_BUDGET=${CL_BUDGET:-4M}
# The longest any one client may run.
CL_RUN_TIMEOUT=${CL_RUN_TIMEOUT:-60}
CL_RESULTS=$rf_tmpdir/results.jsonl
: >"$CL_RESULTS"
declare -A CL_T0=() CL_MODE=() CL_STATUS=() CL_WALL=()

rf_gc_at_exit "$CL_PREFIX"
rf_require_kafka_python "$CL_PY"

# cl_start NAME plain|shim [ringfence run options...] -- CMD...: start CMD in
# the background, plain or under `ringfence run` (which stays its parent and
# records how it ended); standard output in $rf_tmpdir/NAME.out, standard
# error in NAME.err, standard input from /dev/null. Sets CL_PID.
cl_start() {
	local name=$1 mode=$2
	shift 2
	rf_opts_split "cl_start $name" "$@"
	if [[ $mode == shim ]]; then
		"$CL_RF" run --budget "$CL_BUDGET" --policy block --prefix "$CL_PREFIX" \
			"${RF_OPTS[@]}" -- "${RF_CMD[@]}" </dev/null >"$rf_tmpdir/$name.out" \
			2>"$rf_tmpdir/$name.err" &
	else
		"${RF_CMD[@]}" </dev/null >"$rf_tmpdir/$name.out" 2>"$rf_tmpdir/$name.err" &
	fi
	CL_PID=$!
	rf_track "$CL_PID"
	CL_T0[$name]=$EPOCHREALTIME
	CL_MODE[$name]=$mode
}

# cl_process NAME: the pid of NAME's client itself: under the shim the child
# of ringfence run (its parent), else the process cl_start started.
cl_process() {
	local children
	if [[ ${CL_MODE[$1]} != shim ]]; then
		printf '%s\n' "$CL_PID"
		return
	fi
	children=$(<"/proc/$CL_PID/task/$CL_PID/children")
	[[ $children =~ ^([0-9]+) ]] || rf_fail "$1: ringfence run ($CL_PID) has no child"
	printf '%s\n' "${BASH_REMATCH[1]}"
}

# cl_wait NAME PID [OK_STATUSES]: wait for PID (bounded by CL_RUN_TIMEOUT),
# require an exit status among OK_STATUSES (default 0).
cl_wait() {
	rf_run_wait "$1" "$2" "$CL_RUN_TIMEOUT" "${3:-0}"
	CL_STATUS[$1]=$RF_RUN_STATUS
	CL_WALL[$1]=$(rf_elapsed "${CL_T0[$1]}")
}

# cl_stop NAME PID: SIGTERM, then cl_wait (a daemon's clean shutdown).
cl_stop() {
	kill -TERM "$2" 2>/dev/null || true
	cl_wait "$@"
}

# cl_segment NAME PID: the reporter's view of PID's segment after its end:
# stat --json in $rf_tmpdir/NAME.stat, its ls line in NAME.ls, `threads` in
# NAME.threads, `check` in NAME.check with its exit status in NAME.check.rc.
cl_segment() {
	local name=$1 pid=$2 rc=0
	"$CL_RF" stat --prefix "$CL_PREFIX" --json "$pid" >"$rf_tmpdir/$name.stat" ||
		rf_fail "$name: ringfence stat $pid exited $?"
	"$CL_RF" ls --prefix "$CL_PREFIX" | awk -v p="$pid" '$1 == p' >"$rf_tmpdir/$name.ls"
	"$CL_RF" threads --prefix "$CL_PREFIX" "$pid" >"$rf_tmpdir/$name.threads" 2>&1 ||
		rf_fail "$name: ringfence threads $pid exited $?"
	"$CL_RF" check --prefix "$CL_PREFIX" "$pid" >"$rf_tmpdir/$name.check" 2>&1 || rc=$?
	printf '%s\n' "$rc" >"$rf_tmpdir/$name.check.rc"
}

# cl_count NAME REGEX TOPIC...: what the broker holds of TOPIC...,
# distinct messages by the id REGEX's group finds, in $rf_tmpdir/NAME.count.
# Reading back needs no round-trip delay: set to 0 meanwhile, CL_RTT after.
cl_count() {
	local name=$1 regex=$2
	shift 2
	if [[ ${CL_RTT:-0} != 0 ]]; then rf_broker_cmd "rtt all 0"; fi
	"$CL_PY" "$CL_PYDIR/rf_clients_count.py" --bootstrap "$RF_BOOTSTRAP" --id-regex "$regex" \
		"$@" >"$rf_tmpdir/$name.count" || rf_fail "$name: rf_clients_count.py exited $?"
	if [[ ${CL_RTT:-0} != 0 ]]; then rf_broker_cmd "rtt all $CL_RTT"; fi
}

# cl_vmhwm PID: the process's peak resident set (kB) so far.
cl_vmhwm() {
	awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo -1
}

# cl_free_port: a TCP port free on 127.0.0.1 now (bound, then released).
cl_free_port() {
	"$CL_PY" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# cl_record NAME key=value...: one record in $CL_RESULTS: the run's mode,
# exit status and wall time; what the broker holds (NAME.count: distinct,
# duplicates, hwm summed over the topics); under the shim the segment's
# state, budget peak, self refusals and `check` status; and the pairs given
# (a value that reads as JSON is taken as JSON: numbers, objects).
cl_record() {
	local name=$1
	shift
	"$CL_PY" - "$rf_tmpdir" "$name" "${CL_MODE[$name]}" "${CL_STATUS[$name]:-}" \
		"${CL_WALL[$name]:-}" "$@" >>"$CL_RESULTS" <<'PY' || rf_fail "$name: cannot record the run"
import json, os, sys
tmp, name, mode, status, wall, *pairs = sys.argv[1:]
r = {"name": name, "mode": mode, "status": int(status), "wall_s": float(wall)}
for kv in pairs:
    k, v = kv.split("=", 1)
    try:
        r[k] = json.loads(v)
    except ValueError:
        r[k] = v
path = os.path.join(tmp, name)
if os.path.exists(path + ".count"):
    topics = json.load(open(path + ".count")).values()
    for k in ("distinct", "duplicates", "hwm", "other"):
        r[k] = sum(t[k] for t in topics)
if mode == "shim":
    s = json.load(open(path + ".stat"))
    c = s["counters"]
    r.update(state=s["state"], exit_recorded_by=s["exit_recorded_by"],
             budget=s["config"]["budget"], budget_peak=c["budget_bytes_peak"],
             waits=c["budget_waits"], self_refusals=c["budget_self_refusals"],
             rejected=c["budget_rejected"], timeouts=c["budget_timeouts"],
             heap_peak=c["heap_live_peak_bytes"],
             check_rc=int(open(path + ".check.rc").read()))
print(json.dumps(r, sort_keys=True))
PY
	tail -n 1 "$CL_RESULTS"
}

# cl_expect NAME EXPRESSION WHAT: evaluate the Python EXPRESSION on NAME's
# record r; fail the test with WHAT and the record unless it is true.
cl_expect() {
	"$CL_PY" - "$CL_RESULTS" "$@" <<'PY' || exit 1
import json, sys
results, name, expr, what = sys.argv[1:]
r = [r for r in map(json.loads, open(results)) if r["name"] == name][-1]
if not eval(expr, {}, {"r": r}):
    sys.exit(f"FAIL: {name}: {what}: {expr} is false for {json.dumps(r, sort_keys=True)}")
PY
}

# cl_shim_ok NAME: what every run under the shim must show after a clean
# end: exit status 0, its end recorded (by the shim or by ringfence run),
# the budget never exceeded, no wait that ran to the block timeout, and
# `ringfence check` passing (no thread leaked).
cl_shim_ok() {
	cl_expect "$1" 'r["status"] == 0 and r["state"] == "exited"' "ended cleanly, its end recorded"
	cl_expect "$1" 'r["budget_peak"] <= r["budget"]' "the budget held"
	cl_expect "$1" 'r["timeouts"] == 0' "no wait ran to the block timeout"
	cl_expect "$1" 'r["check_rc"] == 0' "ringfence check passes at a clean shutdown"
}

# cl_table: every record as a Markdown table (the figures of docs/clients.md).
cl_table() {
	"$CL_PY" - "$CL_RESULTS" <<'PY'
import json, sys
cols = [("name", "run"), ("wall_s", "wall s"), ("expected", "sent"), ("distinct", "at broker"),
        ("duplicates", "dup"), ("rss_mb", "peak RSS MB"), ("budget_peak", "budget peak"),
        ("waits", "waits"), ("self_refusals", "self refusals"), ("check_rc", "check")]
print("| " + " | ".join(h for _, h in cols) + " |")
print("|" + "---|" * len(cols))
for r in map(json.loads, open(sys.argv[1])):
    print("| " + " | ".join("" if r.get(k) is None else str(r.get(k)) for k, _ in cols) + " |")
PY
}
