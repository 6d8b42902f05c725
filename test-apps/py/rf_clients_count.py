#!/usr/bin/python3
"""rf_clients_count.py - what reached the broker, per topic, for the client
tests (e2e/client_*.sh): the sum of the high-water marks (every message the
broker stored, duplicates included) and, reading everything back, the
distinct messages by the id a regular expression finds in each payload.

  rf_clients_count.py --bootstrap B --id-regex RE TOPIC...
  rf_clients_count.py --bootstrap B --hwm TOPIC...


RE has one group, the message's id: 'g:([0-9]+):' for rf-go-producer.
Payloads it does not match count as "other". Prints one JSON object:
{"TOPIC": {"hwm": N, "consumed": N, "distinct": N, "duplicates": N,
"other": N}, ...}. Run with Debian's /usr/bin/python3
(python3-confluent-kafka), never under the shim. Reading back needs the
whole topic on the broker: the mock keeps at most 5 MiB a partition.
"""
import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from confluent_kafka import Consumer, TopicPartition  # noqa: E402
from rf_verify import broker_read, topic_metadata  # noqa: E402


def high_water_marks(bootstrap, topics, timeout_s):
    """The sum of each topic's high-water marks (0 for a topic not there yet)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"rf-count-{os.getpid()}",
                  "log_level": 3})
    try:
        md = topic_metadata(c, topics, timeout_s)
        out = {}
        for t in topics:
            tm = md.topics.get(t)
            out[t] = 0 if tm is None or tm.error is not None else sum(
                c.get_watermark_offsets(TopicPartition(t, p), timeout=timeout_s, cached=False)[1]
                for p in tm.partitions)
        return out
    finally:
        c.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--id-regex")
    ap.add_argument("--hwm", action="store_true", help="only the high-water marks, quickly")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("topics", nargs="+")
    a = ap.parse_args()
    if a.hwm:
        print(json.dumps({t: {"hwm": n} for t, n in
                          high_water_marks(a.bootstrap, a.topics, a.timeout).items()}))
        return 0
    if a.id_regex is None:
        ap.error("--id-regex or --hwm is required")
    rx = re.compile(a.id_regex.encode())
    out = {}
    for topic, (payloads, total, low) in broker_read(a.bootstrap, a.topics, a.timeout).items():
        if low:
            sys.exit(f"{topic}: the broker dropped old data (low marks {low}): cannot count")
        ids, other = set(), 0
        for p in payloads:
            m = rx.search(p)
            if m is None:
                other += 1
            else:
                ids.add(m.group(1))
        matched = len(payloads) - other
        out[topic] = {"hwm": total, "consumed": len(payloads), "distinct": len(ids),
                      "duplicates": matched - len(ids), "other": other}
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
