#!/usr/bin/env bash
# A librdkafka producer against the embedded broker: its own threads are
# started with thrd_create (seen, flagged c11), named rdk:* and listed as
# library threads, never leaks; rd_kafka_destroy joins them all (thrd_join):
# nothing is alive or unjoined at exit but the shim's publisher, and check
# passes live and after exit. Their groups keep the threads' names once
# they have all ended. Their start routines are static functions of
# librdkafka: without its debug symbols they have no name, and must not take
# that of the exported function before them.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/threads_lib.sh"

thr_setup kafka
export RINGFENCE_THREAD_AGE=1s
PRODUCER=$RF_BUILD_ROOT/test-apps/rf-producer

rf_broker_start --brokers 3
thr_start producer "$PRODUCER" --bootstrap "$RF_BOOTSTRAP" --topic thr --count 200 --linger-ms 2500
pid=$THR_PID
# Lingering: flushed, handles not destroyed yet.
has_brokers() {
	"$RF" threads --no-sample --json "$pid" >"$rf_tmpdir/wait.json" 2>/dev/null &&
		grep -q '"rdk:broker' "$rf_tmpdir/wait.json"
}
rf_wait_until 20 "the producer's rdk:broker threads" has_brokers
sleep 1.2
thr_check "$pid" 0 "producer, running"
thr_json "$pid" "$rf_tmpdir/live.json"
thr_assert "$rf_tmpdir/live.json" \
	'leaks() == []' \
	'r["totals"]["library"] >= 5' \
	'any(g["thread_name"] == "rdk:main" and g["class"] == "library" for g in r["groups"])' \
	'any((g["thread_name"] or "").startswith("rdk:broker") for g in r["groups"])' \
	'all(t["c11"] for g in r["groups"] for t in g["threads"] if t["name"].startswith("rdk:"))' \
	'all("librdkafka" in (g["start_routine"]["module"] or "") and
	     g["start_routine"]["function"] in (None, "rd_kafka_thread_main",
						"rd_kafka_broker_thread_main")
	     for g in r["groups"] if (g["thread_name"] or "").startswith("rdk:"))'
thr_wait "$pid" "rf-producer"
thr_check "$pid" 0 "producer, exited"
thr_json "$pid" "$rf_tmpdir/exit.json"
thr_assert "$rf_tmpdir/exit.json" \
	'leaks() == []' \
	'r["counters"]["alive"] == 1 and r["counters"]["unjoined"] == 0' \
	'r["counters"]["exited"] == r["counters"]["created"] - 1' \
	'r["counters"]["created"] >= 6' \
	'[t["name"] for g in r["groups"] for t in g["threads"]] == ["rf:publisher"]' \
	'any(g["thread_name"] == "rdk:main" and g["threads"] == [] for g in r["groups"])' \
	'any((g["thread_name"] or "").startswith("rdk:broker") and g["threads"] == []
	     for g in r["groups"])'
joined=$(thr_stat "$pid" threads_joined)
[ "$joined" -ge 5 ] || rf_fail "only $joined threads seen joined"
rf_broker_stop
echo "PASS: threads-kafka: librdkafka's threads listed as library threads, joined by rd_kafka_destroy"
