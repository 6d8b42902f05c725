#!/usr/bin/env bash
# rsyslog with omkafka (Debian rsyslog, rsyslog-kafka), plain and under the
# shim (4M, block): a private `rsyslogd -n` (its own configuration, work
# directory and pid file; input on a loopback TCP port; client_rsyslog.conf.in)
# fed 50,000 lines: fast, slow (200 ms), and slow with all brokers down for
# 5 s while lines arrive. What reached the broker is read back by id.
#
# omkafka produces and polls on the one action worker that holds its lock:
# under a binding budget the shim refuses it at once (its reports only that
# thread would serve), and with omkafka's defaults rsyslog drops each refused
# line: lost == budget_self_refusals, the documented loss. The settings
# docs/clients.md recommends lose nothing, plain and under the shim, fast and
# through the outage: resubmitOnFailure="on" keeps a refused line for
# later, action.resumeRetryCount="-1" keeps the action's lines while it is
# suspended (rsyslog discards them otherwise: 80% through an outage, plain
# too), action.resumeInterval="1" resumes in a second instead of 30.
# Stopped with SIGTERM through ringfence run (which passes it on) once every
# line is at the broker: exit 0, ringfence check passing.
set -euo pipefail
source "$(dirname "$0")/clients_lib.sh"

COUNT=50000
OUTAGE_S=5
RS_CONF=$RF_SOURCE_ROOT/test-apps/e2e/client_rsyslog.conf.in
RS_SEND=$RF_SOURCE_ROOT/test-apps/e2e/client_rsyslog_send.py
NOLOSE='resubmitOnFailure="on" action.resumeRetryCount="-1" action.resumeInterval="1"'
command -v rsyslogd >/dev/null || rf_fail "rsyslogd is required (Debian rsyslog)"
[[ -e /usr/lib/x86_64-linux-gnu/rsyslog/omkafka.so ]] ||
	rf_fail "omkafka is required (Debian rsyslog-kafka)"

# hwm TOPIC: the sum of its high-water marks, at once.
hwm() {
	"$CL_PY" "$CL_PYDIR/rf_clients_count.py" --bootstrap "$RF_BOOTSTRAP" --hwm "$1" |
		"$CL_PY" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]]["hwm"])' "$1"
}

# processed WORK: lines the omkafka action processed (impstats, each second).
processed() {
	"$CL_PY" - "$1/stats.log" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1], errors="replace"):
    i = line.find("{")
    try:
        r = json.loads(line[i:]) if i >= 0 else {}
    except ValueError:
        continue
    if r.get("name") == "kafka":
        n = r.get("processed", 0)
print(n)
PY
}

# settle TOPIC WORK: until the broker holds every line; or the action has
# processed them all and the broker's count stood still for STILL_S (what
# is missing is lost); at most 40 s. STILL_S is longer than librdkafka's
# longest reconnection backoff (reconnect.backoff.max.ms, 10 s): after a
# 5 s outage the next attempt may come 6 s or more after the brokers are
# back, and a run that had nothing at the broker before the outage, judged
# still after 5 s, was stopped with every line still queued (0 of 50,000).
STILL_S=12
settle() {
	local topic=$1 work=$2 last=-1 now since=$SECONDS start=$SECONDS
	while ((SECONDS - start < 40)); do
		now=$(hwm "$topic")
		((now >= COUNT)) && return 0
		if ((now != last)); then
			last=$now
			since=$SECONDS
		elif ((SECONDS - since >= STILL_S)) && (($(processed "$work") >= COUNT)); then
			return 0
		fi
		sleep 0.5
	done
}

# run NAME plain|shim SETTING RATE [outage]: one rsyslogd, fed, settled,
# stopped, counted and recorded.
run() {
	local name=$1 mode=$2 setting=$3 rate=$4 outage=${5:-} work port launcher pid sender rss
	work=$rf_tmpdir/$name
	mkdir -p "$work"
	port=$(cl_free_port)
	sed -e "s|@PORT@|$port|; s|@WORK@|$work|g; s|@TOPIC@|$name|; s|@BROKERS@|$RF_BOOTSTRAP|" \
		-e "s|@OMKAFKA_EXTRA@|$setting|" "$RS_CONF" >"$work/rsyslog.conf"
	rsyslogd -N1 -f "$work/rsyslog.conf" >"$work/validate.log" 2>&1 ||
		rf_fail "$name: rsyslogd -N1 rejects the configuration: $(tail -n 3 "$work/validate.log")"
	cl_start "$name" "$mode" -- rsyslogd -n -f "$work/rsyslog.conf" -i "$work/rsyslogd.pid"
	launcher=$CL_PID
	rf_wait_until 10 "rsyslogd listening on port $port" "$CL_PY" -c \
		'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$port"
	rf_wait_until 10 "rsyslogd's pid file" test -s "$work/rsyslogd.pid"
	pid=$(<"$work/rsyslogd.pid") # written without a newline
	"$CL_PY" "$RS_SEND" --port "$port" --count "$COUNT" --rate "$rate" &
	sender=$!
	rf_track "$sender"
	if [[ -n $outage ]]; then
		sleep 1
		rf_broker_cmd "down all"
		sleep "$OUTAGE_S"
		rf_broker_cmd "up all"
	fi
	wait "$sender" || rf_fail "$name: the sender exited $?"
	rf_untrack "$sender"
	settle "$name" "$work"
	rss=$(cl_vmhwm "$pid")
	cl_stop "$name" "$launcher"
	if [[ $mode == shim ]]; then
		cl_segment "$name" "$pid"
	fi
	cl_count "$name" 'rsl:([0-9]+):' "$name"
	cl_record "$name" expected=$COUNT rss_mb=$((rss / 1024))
	if [[ $mode == shim ]]; then
		cl_shim_ok "$name"
		cl_expect "$name" 'r["exit_recorded_by"] == "process"' "rsyslogd's exit() seen by the shim"
	fi
}

rf_broker_start --brokers 3
CL_RTT=0
for mode in plain shim; do
	run "rs-fast-nolose-$mode" "$mode" "$NOLOSE" 0
	cl_expect "rs-fast-nolose-$mode" 'r["distinct"] == r["expected"] and r["duplicates"] == 0' \
		"the recommended settings lose nothing"
done
rf_broker_stop

# At 200 ms the budget binds every time (fast, only when the broker falls
# behind): the defaults' loss shows without an outage, which alone would make
# rsyslog discard lines, plain too.
rf_broker_start --brokers 3 --rtt 200
CL_RTT=200
run rs-slow-defaults-plain plain "" 0
cl_expect rs-slow-defaults-plain 'r["distinct"] == r["expected"]' "plain loses nothing"
run rs-slow-defaults-shim shim "" 0
cl_expect rs-slow-defaults-shim 'r["expected"] - r["distinct"] == r["self_refusals"] > 0' \
	"omkafka's defaults drop each line the shim refuses at once (the documented loss)"
for mode in plain shim; do
	run "rs-outage-nolose-$mode" "$mode" "$NOLOSE" 10000 outage
	cl_expect "rs-outage-nolose-$mode" 'r["distinct"] == r["expected"]' \
		"the recommended settings lose nothing through an outage"
done
cl_expect rs-outage-nolose-shim 'r["waits"] > 0' "the budget bound"
rf_broker_stop

cl_table
echo "ok: rsyslog omkafka: the documented loss with its defaults, none with the recommended settings"
