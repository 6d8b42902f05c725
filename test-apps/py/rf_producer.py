#!/usr/bin/python3
"""rf_producer.py - a confluent-kafka producer that accounts for every message.

The Python counterpart of rf_producer.c, for Debian's python3-confluent-kafka
run with /usr/bin/python3 (it loads the system librdkafka with dlopen, after
the shim's constructor ran). Producer.produce reaches rd_kafka_producev with
RD_KAFKA_MSG_F_COPY. A full queue (BufferError) is served by polling and the
message retried. Prints one JSON line with the same fields and checksums as
rf_producer.c: FNV-1a 64 of each payload summed mod 2^64; payload i of thread
t is "<t>:<i>:" then filler up to --size bytes.
"""
import argparse
import json
import sys
import threading
import time

from confluent_kafka import KafkaException, Producer

from rf_payload import MASK, fnv1a, payload


class Totals:
    def __init__(self):
        self.lock = threading.Lock()
        self.produced = self.produce_failed = self.retries = self.bytes = 0
        self.delivered = self.dr_failed = 0
        self.sum_produced = self.sum_delivered = self.sum_dr_failed = 0
        self.hashes = {}  # payload -> FNV-1a, so a report need not hash again
        self.dr_errors = {}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", default="rf-test")
    ap.add_argument("--count", type=int, default=1000, help="messages per thread")
    ap.add_argument("--size", type=int, default=100, help="payload bytes (>= 16)")
    ap.add_argument("--threads", type=int, default=1, help="producing threads, one Producer")
    ap.add_argument("--poll-thread", action="store_true",
                    help="one thread polls; producing threads never do")
    ap.add_argument("--flush-s", type=float, default=60.0)
    ap.add_argument("-X", dest="conf", action="append", default=[], metavar="KEY=VALUE",
                    help="a librdkafka property (repeatable)")
    args = ap.parse_args()
    if args.size < 16 or args.count < 0 or args.threads < 1:
        ap.error("--size must be >= 16, --count >= 0, --threads >= 1")

    conf = {
        "bootstrap.servers": args.bootstrap,
        "client.id": "rf-producer-py",
        "acks": "all",
        "linger.ms": 5,
    }
    for kv in args.conf:
        k, sep, v = kv.partition("=")
        if not sep or not k:
            ap.error(f"-X {kv!r}: expected KEY=VALUE")
        conf[k] = v
    tot = Totals()

    def on_delivery(err, msg):
        value = msg.value() or b""
        h = tot.hashes.get(value)
        if h is None:
            h = fnv1a(value)
        with tot.lock:
            if err is not None:
                tot.dr_failed += 1
                tot.sum_dr_failed = (tot.sum_dr_failed + h) & MASK
                name = err.name()
                tot.dr_errors[name] = tot.dr_errors.get(name, 0) + 1
            else:
                tot.delivered += 1
                tot.sum_delivered = (tot.sum_delivered + h) & MASK

    producer = Producer(conf)
    stop = threading.Event()

    def poller():
        while not stop.is_set():
            producer.poll(0.02)

    def produce_all(t):
        for i in range(args.count):
            value = payload(t, i, args.size)
            h = fnv1a(value)
            with tot.lock:
                tot.hashes[value] = h
            while True:
                try:
                    producer.produce(args.topic, value=value, key=b"key", on_delivery=on_delivery)
                except BufferError:
                    with tot.lock:
                        tot.retries += 1
                    if args.poll_thread:
                        time.sleep(0.001)
                    else:
                        producer.poll(0.01)
                    continue
                except KafkaException as e:
                    print(f"rf_producer.py: produce: {e}", file=sys.stderr)
                    with tot.lock:
                        tot.produce_failed += 1
                    break
                with tot.lock:
                    tot.produced += 1
                    tot.bytes += len(value)
                    tot.sum_produced = (tot.sum_produced + h) & MASK
                break
            if not args.poll_thread:
                producer.poll(0)

    poll_thread = threading.Thread(target=poller) if args.poll_thread else None
    if poll_thread:
        poll_thread.start()
    workers = [threading.Thread(target=produce_all, args=(t,)) for t in range(args.threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if poll_thread:
        stop.set()
        poll_thread.join()
    unflushed = producer.flush(args.flush_s)
    del producer

    print(json.dumps({
        "produced": tot.produced,
        "produce_failed": tot.produce_failed,
        "delivered": tot.delivered,
        "dr_failed": tot.dr_failed,
        "retries": tot.retries,
        "bytes": tot.bytes,
        "unflushed": unflushed,
        "sum_produced": f"{tot.sum_produced:016x}",
        "sum_delivered": f"{tot.sum_delivered:016x}",
        "sum_dr_failed": f"{tot.sum_dr_failed:016x}",
        "dr_errors": tot.dr_errors,
    }, separators=(",", ":")), flush=True)
    return 1 if unflushed else 0


if __name__ == "__main__":
    sys.exit(main())
