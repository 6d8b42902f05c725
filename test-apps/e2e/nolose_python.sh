#!/usr/bin/env bash
# No message lost, Python producer: py/rf_producer.py under Debian's
# /usr/bin/python3 and python3-confluent-kafka (librdkafka loaded with dlopen
# after the shim started), every policy. Producer.produce reaches
# rd_kafka_producev with F_COPY; BufferError is served by poll() and retried;
# delivery reports through on_delivery. The same proofs as nolose_c.sh (see
# there and py/rf_verify.py); under drop-oldest every failed report must also
# be _PURGE_QUEUE.
set -euo pipefail
source "$(dirname "$0")/nolose_lib.sh"

rf_broker_start --brokers 1 --rtt 50

for policy in block fail drop-oldest observe; do
	name=py-$policy
	nl_run "$name" "$policy" client=rf-producer "topic=$name" "out=$rf_tmpdir/$name.out" \
		threads=1 count=2000 size=1000 entry=producev -- \
		"$NL_PYTHON" "$NL_PY/rf_producer.py" --bootstrap "$RF_BOOTSTRAP" --topic "$name" \
		--count 2000 --size 1000
done

nl_verify
rf_broker_stop
echo "ok: rf_producer.py, 4 policies, every message accounted for exactly once"
