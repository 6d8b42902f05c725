#!/usr/bin/env bash
# Go on confluent-kafka-go (Debian's golang-github-confluentinc-confluent-kafka-go-dev,
# cgo, linked to the system librdkafka.so.1), plain and under the shim (4M,
# block), against 3 brokers: fast, then slow (200 ms) with all brokers down
# for 5 s. rf-go-producer (test-apps/go/) produces 20,000 messages of 512
# bytes with Produce() (a full queue retried) or ProduceChannel(), which
# produces with RD_KAFKA_MSG_F_BLOCK. Each run: every message at the broker
# once (read back by id), exit status 0; under the shim also the budget
# held, the end recorded by `ringfence run` (a Go program ends with
# exit_group, not exit()), and `ringfence check` passing: the Go runtime's
# threads are library threads, not leaks.
#
# The deadlock guard once took "the thread that polled last" for the poller:
# Go moves its poller goroutine between threads, and ProduceChannel lost
# messages (__QUEUE_FULL) at random, about one run in five, each loss a
# budget_self_refusal. Channel mode therefore runs 4 times under the shim
# here and must show no self refusal at all.
set -euo pipefail
source "$(dirname "$0")/clients_lib.sh"

GO_PRODUCER=${RF_GO_PRODUCER:-$RF_BUILD_ROOT/test-apps/rf-go-producer}
COUNT=20000
SIZE=512
OUTAGE_S=5
[[ -x $GO_PRODUCER ]] ||
	rf_fail "$GO_PRODUCER is missing: meson builds it when go (golang-go) and confluent-kafka-go (golang-github-confluentinc-confluent-kafka-go-dev) are installed"
[[ $(ldd "$GO_PRODUCER") == *"librdkafka.so.1 => /"* ]] ||
	rf_fail "$GO_PRODUCER does not link librdkafka.so.1 dynamically: the shim would see none of its produce calls"

# run NAME plain|shim produce|channel [outage]: one run, recorded and checked.
run() {
	local name=$1 mode=$2 api=$3 outage=${4:-} pid
	# Spread over the 4 partitions (the sticky partitioner would fill one past
	# the 5 MiB the mock keeps): for counting only, plain and shim alike.
	cl_start "$name" "$mode" --publish-interval 50ms -- "$GO_PRODUCER" -bootstrap "$RF_BOOTSTRAP" \
		-topic "$name" -count "$COUNT" -size "$SIZE" -mode "$api" \
		-X sticky.partitioning.linger.ms=0
	if [[ -n $outage ]]; then
		sleep 0.5
		rf_broker_cmd "down all"
		sleep "$OUTAGE_S"
		rf_broker_cmd "up all"
	fi
	cl_wait "$name" "$CL_PID"
	pid=$("$CL_PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["pid"])' \
		"$rf_tmpdir/$name.out") || rf_fail "$name: no JSON line from rf-go-producer"
	if [[ $mode == shim ]]; then
		cl_segment "$name" "$pid"
	fi
	cl_count "$name" 'g:([0-9]+):' "$name"
	cl_record "$name" expected=$COUNT client="$(cat "$rf_tmpdir/$name.out")" \
		rss_mb="$("$CL_PY" -c 'import json, sys; print(round(json.load(open(sys.argv[1]))["vmhwm_kb"] / 1024))' "$rf_tmpdir/$name.out")"
	cl_expect "$name" 'r["status"] == 0' "exit status 0"
	cl_expect "$name" 'r["distinct"] == r["expected"] == r["client"]["delivered"]' \
		"every message delivered and at the broker"
	cl_expect "$name" 'not r["client"]["refused"] and not r["client"]["dr_failed"]' \
		"no message refused or failed"
	if [[ -z $outage ]]; then
		cl_expect "$name" 'r["duplicates"] == 0' "no duplicate without an outage"
	fi
	if [[ $mode == shim ]]; then
		cl_shim_ok "$name"
		cl_expect "$name" 'r["exit_recorded_by"] == "parent"' \
			"the exit_group end recorded by ringfence run"
		if [[ $api == channel ]]; then
			cl_expect "$name" 'r["self_refusals"] == 0' \
				"no F_BLOCK call refused while the poller goroutine keeps polling"
		fi
	fi
}

rf_broker_start --brokers 3
CL_RTT=0
for api in produce channel; do
	run "go-fast-$api-plain" plain "$api"
	run "go-fast-$api-shim" shim "$api"
done
for n in 2 3; do
	run "go-fast-channel-shim-$n" shim channel
done
rf_broker_stop

# The runtime's threads in `ringfence threads`: C frames with their source
# lines, Go frames without (Go's functions lie in no DWARF unit of the C
# line tables: a lookup took the nearest C unit's last line for them).
threads=$rf_tmpdir/go-fast-produce-shim.threads
grep -Eq '_cgo_try_pthread_create\+0x[0-9a-f]+ +/_/runtime/cgo/gcc_libinit\.c:[0-9]+ ' "$threads" ||
	rf_fail "ringfence threads shows no creation by _cgo_try_pthread_create with its line: $(head -40 "$threads")"
if grep -E ' runtime\.[A-Za-z0-9_.]+\+0x[0-9a-f]+ +[^ (]+\.c:[0-9]+ ' "$threads"; then
	rf_fail "ringfence threads shows Go functions at C source lines"
fi

rf_broker_start --brokers 3 --rtt 200
CL_RTT=200
for api in produce channel; do
	run "go-outage-$api-plain" plain "$api" outage
	run "go-outage-$api-shim" shim "$api" outage
	cl_expect "go-outage-$api-shim" 'r["waits"] > 0' "the budget bound"
done
rf_broker_stop

cl_table
echo "ok: Go (Produce and ProduceChannel) loses nothing under the shim, fast and through an outage; its end recorded, no false leak"
