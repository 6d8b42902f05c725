#!/usr/bin/env bash
# No message lost, C++ producer (rf-producer-cpp on librdkafka++): every
# policy times both produce paths of RdKafka::Producer (a Topic object:
# rd_kafka_produce; a topic name with headers: rd_kafka_producev), payload
# ownership rotating over RK_MSG_COPY, RK_MSG_FREE and none. Delivery reports
# through a DeliveryReportCb; ERR__QUEUE_FULL is retried after polling. The
# same proofs as nolose_c.sh (see there and py/rf_verify.py); under
# drop-oldest every failed report must also be ERR__PURGE_QUEUE.
set -euo pipefail
source "$(dirname "$0")/nolose_lib.sh"

rf_broker_start --brokers 1 --rtt 50

policies=(block fail drop-oldest observe)
entries=(produce producev)
payloads=(copy free none)

for pi in "${!policies[@]}"; do
	policy=${policies[pi]}
	for ei in "${!entries[@]}"; do
		entry=${entries[ei]}
		payload=${payloads[(pi * 2 + ei) % 3]}
		name=cpp-$policy-$entry-$payload
		nl_run "$name" "$policy" client=rf-producer "topic=$name" "out=$rf_tmpdir/$name.out" \
			threads=1 count=2000 size=1000 "entry=$entry" -- \
			"$NL_APPS/rf-producer-cpp" --bootstrap "$RF_BOOTSTRAP" --topic "$name" \
			--entry "$entry" --payload "$payload" --count 2000 --size 1000
	done
done

nl_verify
rf_broker_stop
echo "ok: rf-producer-cpp, 4 policies x 2 produce paths, every message accounted for exactly once"
