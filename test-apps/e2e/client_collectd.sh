#!/usr/bin/env bash
# collectd with write_kafka (Debian collectd-core), plain and under the shim
# (1M, block): a private `collectd -f` (its own configuration, base directory
# and unix socket; client_collectd.conf.in) writing every value to 2 topics,
# that is 2 producer handles, fed 50,000 values through its unixsock plugin:
# fast, then slow (200 ms) with all brokers down for 5 s. Everything arrives,
# read back by id, with collectd's defaults.
#
# write_kafka produces on collectd's write threads and never polls: under a
# binding budget they wait (librdkafka frees on its own threads, nothing is
# refused) while collectd's own write queue grows. `ringfence stat` must say
# so plainly during the outage: threads waiting for budget, for how long,
# and the heap grown meanwhile. Stopped with SIGTERM through ringfence run
# once every value is at the broker: exit 0, ringfence check passing.
set -euo pipefail
CL_BUDGET=1M
source "$(dirname "$0")/clients_lib.sh"

COUNT=50000
OUTAGE_S=5
CD_CONF=$RF_SOURCE_ROOT/test-apps/e2e/client_collectd.conf.in
CD_SEND=$RF_SOURCE_ROOT/test-apps/e2e/client_collectd_send.py
command -v collectd >/dev/null || rf_fail "collectd is required (Debian collectd-core)"
[[ -e /usr/lib/collectd/write_kafka.so ]] || rf_fail "write_kafka.so is missing (collectd-core)"

# least TOPIC...: the smallest sum of high-water marks among the topics.
least() {
	"$CL_PY" "$CL_PYDIR/rf_clients_count.py" --bootstrap "$RF_BOOTSTRAP" --hwm "$@" |
		"$CL_PY" -c 'import json, sys; print(min(t["hwm"] for t in json.load(sys.stdin).values()))'
}

# while_waiting NAME PID: what the reporter says while the write threads wait.
while_waiting() {
	"$CL_RF" stat --prefix "$CL_PREFIX" "$2" >"$rf_tmpdir/$1.stat-live" ||
		rf_fail "$1: ringfence stat $2 exited $?"
	"$CL_RF" stat --prefix "$CL_PREFIX" --json "$2" >"$rf_tmpdir/$1.stat-live.json" ||
		rf_fail "$1: ringfence stat --json $2 exited $?"
	"$CL_RF" threads --prefix "$CL_PREFIX" "$2" >"$rf_tmpdir/$1.threads" 2>&1 || true
	grep '^waiting ' "$rf_tmpdir/$1.stat-live" || rf_fail "$1: stat says nothing of the threads waiting for budget: $(head -20 "$rf_tmpdir/$1.stat-live")"
	"$CL_PY" - "$rf_tmpdir/$1.stat-live.json" <<'PY' || rf_fail "$1: stat --json has no waiting figures"
import json, sys
w = json.load(open(sys.argv[1]))["waiting"]
assert w and w["threads"] >= 1 and w["longest_ns"] > 0 and w["heap_growth_bytes"] > 0, w
PY
}

# run NAME plain|shim [outage]: one collectd, fed, settled, stopped, counted.
run() {
	local name=$1 mode=$2 outage=${3:-} work launcher pid sender rss start
	work=$rf_tmpdir/$name
	mkdir -p "$work"
	sed -e "s|@WORK@|$work|g; s|@TOPIC@|$name|g; s|@BROKERS@|$RF_BOOTSTRAP|" "$CD_CONF" \
		>"$work/collectd.conf"
	cl_start "$name" "$mode" -- collectd -f -C "$work/collectd.conf"
	launcher=$CL_PID
	# collectd -t accepts a configuration it cannot parse: its socket says it runs.
	rf_wait_until 10 "collectd's unix socket" test -S "$work/collectd.sock"
	pid=$(cl_process "$name") # collectd -f writes no pid file
	"$CL_PY" "$CD_SEND" --socket "$work/collectd.sock" --count "$COUNT" &
	sender=$!
	rf_track "$sender"
	if [[ -n $outage ]]; then
		sleep 0.3
		rf_broker_cmd "down all"
		sleep 2
		if [[ $mode == shim ]]; then
			while_waiting "$name" "$pid"
		fi
		sleep $((OUTAGE_S - 2))
		rf_broker_cmd "up all"
	fi
	wait "$sender" || rf_fail "$name: the sender exited $?"
	rf_untrack "$sender"
	start=$SECONDS
	until (($(least "$name-a" "$name-b") >= COUNT)); do
		((SECONDS - start < 60)) || rf_fail "$name: not every value at the broker after 60 s"
		sleep 0.5
	done
	rss=$(cl_vmhwm "$pid")
	cl_stop "$name" "$launcher"
	if [[ $mode == shim ]]; then
		cl_segment "$name" "$pid"
	fi
	cl_count "$name" '^PUTVAL (rfhost/\S+ interval=\S+ [0-9.]+):' "$name-a" "$name-b"
	cl_record "$name" expected=$((2 * COUNT)) rss_mb=$((rss / 1024))
	cl_expect "$name" 'r["distinct"] == r["expected"] and r["duplicates"] == 0' \
		"every value at the broker once, in both topics"
	if [[ $mode == shim ]]; then
		cl_shim_ok "$name"
		cl_expect "$name" 'r["self_refusals"] == 0 and r["rejected"] == 0' \
			"nothing refused: librdkafka frees on its own threads"
	fi
}

rf_broker_start --brokers 3
CL_RTT=0
run cd-fast-plain plain
run cd-fast-shim shim
rf_broker_stop

rf_broker_start --brokers 3 --rtt 200
CL_RTT=200
run cd-outage-plain plain outage
run cd-outage-shim shim outage
cl_expect cd-outage-shim 'r["waits"] > 0' "the budget bound"
rf_broker_stop

cl_table
sed -n '1p' "$rf_tmpdir/cd-outage-shim.stat-live"
grep '^waiting ' "$rf_tmpdir/cd-outage-shim.stat-live"
echo "ok: collectd write_kafka loses nothing under the shim; stat says who waits for budget and how the heap grew"
