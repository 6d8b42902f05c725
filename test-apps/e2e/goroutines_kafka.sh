#!/usr/bin/env bash
# A Go producer on confluent-kafka-go (cgo, the system's librdkafka.so.1)
# under the shim, against the embedded broker: `ringfence threads` and
# `goroutines` both report it. librdkafka's threads are library threads; the
# runtime's goroutines and confluent-kafka-go's own (poller,
# channelProducer) are not leaks, nor is the program's one reader of
# delivery reports; `check` judges threads and goroutines and passes. With
# -leak the program starts a goroutine a round that waits forever: check
# fails on the goroutines while its threads pass, and --json gives both.
set -euo pipefail
source "$(dirname "$0")/goroutines_lib.sh"

PRODUCER=$(gr_program goroutines-producer)
[[ $(ldd "$PRODUCER") == *"librdkafka.so.1 => /"* ]] ||
	rf_fail "$PRODUCER does not link librdkafka.so.1 dynamically: the shim would see none of its calls"
PREFIX=rf-e2e-gr-kafka-$$
export RINGFENCE_SHM_PREFIX=$PREFIX
rf_cleanup_add "rm -f /dev/shm/$PREFIX.*"

rf_broker_start --brokers 1
has_segment() { [[ -e /dev/shm/$PREFIX.$1 ]]; }

gr_start producer env LD_PRELOAD="$SHIM" "$PRODUCER" -bootstrap "$RF_BOOTSTRAP" -every 50ms
pid=$GR_PID
rf_wait_until 10 "the producer's segment" has_segment "$pid"
gr_run threads threads --json --no-sample "$pid"
gr_status threads 0
gr_assert expect threads 'leaks() == []' \
	'any(g["thread_name"] == "rdk:main" and g["class"] == "library" for g in r["groups"])' \
	'r["totals"]["library"] >= 3'
gr_run goroutines goroutines --json --age 200ms "$pid"
gr_status goroutines 0
gr_assert expect goroutines 'leaks() == []' \
	'group(r, "github.com/confluentinc/confluent-kafka-go/kafka.poller")["kind"] == "library"' \
	'group(r, "github.com/confluentinc/confluent-kafka-go/kafka.channelProducer")["kind"] == "library"' \
	'group(r, "main.readEvents")["class"] == "running" and group(r, "main.readEvents")["count"] == 1' \
	'all(g["kind"] == "runtime" for g in r["groups"] if g["start"].startswith("runtime.") and g["start"] != "runtime.main")'
gr_run check check --age 200ms "$pid"
gr_status check 0
if ! grep -q "^ok: pid $pid (running rules): 0 leaked" "$rf_tmpdir/check.out" ||
	! grep -q "^ok: pid $pid goroutines (go[0-9.]*): 0 leaked (max 0) of" "$rf_tmpdir/check.out"; then
	rf_fail "check: not both ok lines: $(cat "$rf_tmpdir/check.out")"
fi
gr_stop "$pid"
echo "ok: threads and goroutines reported; librdkafka's, the runtime's and the library's own not leaks"

gr_start leaky env LD_PRELOAD="$SHIM" "$PRODUCER" -bootstrap "$RF_BOOTSTRAP" -every 50ms -leak
pid=$GR_PID
rf_wait_until 10 "the leaky producer's segment" has_segment "$pid"
gr_run leaky check --age 200ms "$pid"
gr_status leaky 1
if ! grep -q "^ok: pid $pid (running rules): 0 leaked" "$rf_tmpdir/leaky.out" ||
	! grep -q "^FAIL: pid $pid: [0-9]* goroutines leaked (max 0)$" "$rf_tmpdir/leaky.out"; then
	rf_fail "leaky: threads ok and goroutines failed expected: $(cat "$rf_tmpdir/leaky.out")"
fi
gr_run leaky-json check --json --age 200ms "$pid"
gr_status leaky-json 1
gr_assert expect leaky-json 'leaks(r["threads"]) == []' \
	'[g["start"] for g in leaks(r["goroutines"])] == ["main.awaitReply"]' \
	'leaks(r["goroutines"])[0]["created"]["function"] == "main.produceRound"' \
	'leaks(r["goroutines"])[0]["wait_reasons"] == {"chan receive": leaks(r["goroutines"])[0]["count"]}'
gr_stop "$pid"
rf_broker_stop
echo "PASS: goroutines-kafka: the same gate for the program's threads and its goroutines"
