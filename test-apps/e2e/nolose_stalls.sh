#!/usr/bin/env bash
# block must not stall when the thread that would free the space cannot poll.
#
# Under block a produce call waits for budget up to RINGFENCE_BLOCK_TIMEOUT
# (60 s by default), unless waiting is hopeless: then it is refused at once
# (__QUEUE_FULL), which tells the application to poll. Copied payloads are
# freed, and their budget given back, when their delivery reports are served
# by rd_kafka_poll/flush. In three common producers budget sits in reports
# that nobody can serve while the call waits; the shim must see that and
# refuse rather than wait out the timeout (with the default timeout the run
# would take minutes: a hang, to the user):
#   1. rf-producer, 2 handles, a producing thread per handle that polls its
#      own: the thread that ends first leaves its handle's reports for main's
#      flush, which comes after joining the other thread, which waits.
#      (Timing-dependent: at 48a6e13 about 2 runs in 3 stalled; run 3 times.)
#   2. Python (confluent-kafka) with a polling thread: Producer.produce holds
#      the GIL while it waits in the shim, so the polling thread cannot poll.
#   3. Python with 2 producing threads that poll: the same GIL.
# Every message is still accounted for (rf_verify.py, as everywhere);
# budget_timeouts > 0 fails a case. The block timeout is 1 s here so that a
# stall costs seconds, not minutes.
set -euo pipefail
source "$(dirname "$0")/nolose_lib.sh"

rf_broker_start --brokers 1 --rtt 50

for n in 1 2 3; do
	name=stall-c-handles-$n
	nl_run "$name" block client=rf-producer "topic=$name" "out=$rf_tmpdir/$name.out" \
		threads=2 count=1000 size=1000 entry=produce --block-timeout 1s -- \
		"$NL_APPS/rf-producer" --bootstrap "$RF_BOOTSTRAP" --topic "$name" --entry produce \
		--payload copy --threads 2 --handles 2 --count 1000 --size 1000
done

name=stall-py-pollthread
nl_run "$name" block client=rf-producer "topic=$name" "out=$rf_tmpdir/$name.out" threads=1 \
	count=1000 size=1000 entry=producev --block-timeout 1s -- \
	"$NL_PYTHON" "$NL_PY/rf_producer.py" --bootstrap "$RF_BOOTSTRAP" --topic "$name" \
	--count 1000 --size 1000 --poll-thread

name=stall-py-threads
nl_run "$name" block client=rf-producer "topic=$name" "out=$rf_tmpdir/$name.out" threads=2 \
	count=500 size=1000 entry=producev --block-timeout 1s -- \
	"$NL_PYTHON" "$NL_PY/rf_producer.py" --bootstrap "$RF_BOOTSTRAP" --topic "$name" \
	--count 500 --size 1000 --threads 2

nl_verify
rf_broker_stop
echo "ok: no produce call waited out the block timeout"
