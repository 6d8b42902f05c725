#!/usr/bin/python3
"""rf_verify.py - prove that every produced message is accounted for exactly once.

Run with /usr/bin/python3 (Debian's python3-confluent-kafka), never under the
shim. Each case names one producer run: what the client says it produced and
got delivery reports for, what the shim's segment counted, and the topic the
broker holds. The broker side is read from the high-water marks of every
partition and by consuming everything up to them.

A case is a list of KEY=VALUE words, given on the command line (one case) or
one case per line in --cases FILE (blank lines and # comments skipped):

  name=NAME          label for messages (default: the topic)
  client=C           rf-producer (the JSON line of rf-producer, rf-producer-cpp
                     or rf_producer.py), kcat, or rdkafka_example
  topic=T            the topic, fresh for this run
  out=FILE           rf-producer: its standard output (the JSON line)
  threads=N count=N size=N
                     rf-producer: the payload generator's parameters; the
                     expected messages are "<t>:<i>:" + filler for t < threads,
                     i < count, exactly as rf_producer.c builds them
  input=FILE         kcat, rdkafka_example: the lines fed on standard input
  log=FILE           kcat, rdkafka_example: the client's standard error
  stat=FILE          `ringfence stat --json PID` of the run
  policy=P budget=B  what the run was configured with (B in bytes)
  bound=0|1          1: the budget must have bound, as the policy implies
                     (default 1)
  faults=0|1         1: the broker was slowed and taken down during the run:
                     delivery failures are allowed (each must be reported),
                     purges are not matched one to one against failures, and
                     a delivered message may be on the broker twice (a batch
                     resent after the broker dropped the connection; see
                     check_broker) (default 0: no failure other than
                     drop-oldest purges, nothing twice)
  dr_failed_max=N    at most N failed delivery reports (faults=1 allows any)
  dr_log=FILE        rf-producer-cpp --dr-log: one line per failed report,
                     "<error> <message status> <thread>:<i>"; a failed message
                     whose status is POSSIBLY_PERSISTED may be on the broker,
                     any other must not be
  poll_thread=0|1    rf-producer: a dedicated thread served delivery reports
                     (under block nothing may then be refused)
  entry=E            the entry point the client calls (produce, producev,
                     produceva, batch): every accepted message must be counted
                     there; with batch, rf-producer counts one retry per
                     refused call, the segment every refused message

Checks, for every client:
  - every message the client produced got exactly one delivery report:
    produced == delivered + dr_failed, and the checksums add up;
  - the broker holds exactly the delivered messages: its message count (the
    sum of the high-water marks; every low mark is 0) equals what was
    consumed and the delivered count, its checksum equals the delivered
    checksum, nothing appears twice (faults=1: the distinct messages), and
    everything it holds is a message the client was given to send;
  - every message the client was given either was accepted or its refusal
    reached the client (rdkafka_example does not retry a refused message);
  - the segment agrees: messages accepted by the entry points, messages
    purged by drop-oldest == failed delivery reports, no charge left at exit,
    budget_bytes_peak <= budget (except under observe), and the policy's own
    trace (waits, refusals, purges, or observed overruns) when bound=1.

Prints one line per case; exits 1 when any case fails, 2 on a usage error.
"""
import argparse
import json
import os
import re
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from rf_payload import MASK, fnv1a, payload

ENTRIES = ("produce", "producev", "produceva", "produce_batch")
POLICIES = ("block", "fail", "drop-oldest", "observe")
CLIENTS = ("rf-producer", "kcat", "rdkafka_example")


_expected_cache = {}


def expected_generated(threads, count, size):
    """payload -> FNV-1a of every message rf-producer would generate."""
    key = (threads, count, size)
    if key not in _expected_cache:
        _expected_cache[key] = {
            payload(t, i, size): None for t in range(threads) for i in range(count)
        }
    return _expected_cache[key]


def read_lines(path):
    with open(path, "rb") as f:
        return [line.rstrip(b"\n") for line in f]


class Case:
    def __init__(self, words, origin):
        self.kv = {}
        for w in words:
            k, sep, v = w.partition("=")
            if not sep or not k:
                raise ValueError(f"{origin}: {w!r} is not KEY=VALUE")
            self.kv[k] = v
        for k in ("client", "topic", "stat", "policy", "budget"):
            if k not in self.kv:
                raise ValueError(f"{origin}: {k}= is required")
        self.client = self.kv["client"]
        if self.client not in CLIENTS:
            raise ValueError(f"{origin}: client={self.client}: expected one of {CLIENTS}")
        self.policy = self.kv["policy"]
        if self.policy not in POLICIES:
            raise ValueError(f"{origin}: policy={self.policy}: expected one of {POLICIES}")
        self.topic = self.kv["topic"]
        self.name = self.kv.get("name", self.topic)
        self.budget = int(self.kv["budget"])
        self.bound = self.kv.get("bound", "1") == "1"
        self.faults = self.kv.get("faults", "0") == "1"
        self.poll_thread = self.kv.get("poll_thread", "0") == "1"
        need = {"rf-producer": ("out", "threads", "count", "size"),
                "kcat": ("input", "log"), "rdkafka_example": ("input", "log")}[self.client]
        for k in need:
            if k not in self.kv:
                raise ValueError(f"{origin}: client={self.client} needs {k}=")
        self.errors = []
        self.facts = {}

    def fail(self, msg):
        self.errors.append(msg)

    def eq(self, what, expected, actual):
        if expected != actual:
            self.fail(f"{what}: expected {expected}, got {actual}")


# ---- The broker -----------------------------------------------------------------


def topic_metadata(client, topics, timeout_s):
    """Cluster metadata in which no topic of topics carries an error, waiting
    up to timeout_s for one (just after the brokers come back up, a topic may
    report no leader for a while). A topic the cluster does not know is no
    error: nothing was produced to it. An error that outlasts the wait is
    named on stderr, so that a count of 0 is not taken for a loss silently."""
    deadline = time.monotonic() + timeout_s
    while True:
        md = client.list_topics(timeout=timeout_s)
        bad = {t: md.topics[t].error for t in topics
               if t in md.topics and md.topics[t].error is not None}
        if not bad:
            return md
        if time.monotonic() >= deadline:
            for t, err in bad.items():
                print(f"rf_verify: topic {t}: {err}", file=sys.stderr)
            return md
        time.sleep(0.2)


def broker_read(bootstrap, topics, timeout_s):
    """topic -> (list of payloads, watermark message count, low marks not 0)."""
    c = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"rf-verify-{os.getpid()}",
        "enable.auto.commit": False,
        "enable.partition.eof": False,
        "auto.offset.reset": "earliest",
        "log_level": 3,
    })
    result = {t: ([], 0, []) for t in topics}
    try:
        md = topic_metadata(c, topics, timeout_s)
        want = []  # (TopicPartition, high)
        for t in topics:
            tm = md.topics.get(t)
            if tm is None or tm.error is not None:
                continue
            for p in sorted(tm.partitions):
                lo, hi = c.get_watermark_offsets(TopicPartition(t, p), timeout=timeout_s,
                                                 cached=False)
                msgs, total, low = result[t]
                result[t] = (msgs, total + hi - lo, low + ([(p, lo)] if lo != 0 else []))
                if hi > lo:
                    want.append((TopicPartition(t, p, OFFSET_BEGINNING), hi))
        if not want:
            return result
        c.assign([tp for tp, _ in want])
        remaining = {(tp.topic, tp.partition): hi for tp, hi in want}
        deadline = time.monotonic() + timeout_s
        while remaining and time.monotonic() < deadline:
            for m in c.consume(num_messages=1000, timeout=0.5):
                if m.error() is not None:
                    if m.error().code() != KafkaError._PARTITION_EOF:
                        raise RuntimeError(f"consume {m.topic()}: {m.error()}")
                    continue
                result[m.topic()][0].append(m.value() or b"")
                key = (m.topic(), m.partition())
                if key in remaining and m.offset() + 1 >= remaining[key]:
                    del remaining[key]
        if remaining:
            raise RuntimeError(f"could not consume up to the high-water marks within "
                               f"{timeout_s}s: {sorted(remaining)}")
    finally:
        c.close()
    return result


def check_broker(case, broker, sent_hashes, delivered_count, delivered_sum, failed_np=frozenset(),
                 failed_pp=frozenset()):
    """The broker holds exactly delivered_count messages of sent_hashes, summing to
    delivered_sum. With faults=1 a message may be there twice: librdkafka sends a
    batch again when the broker closed the connection before answering, and the
    mock (librdkafka 2.0.2) keeps both copies, with or without the shim and even
    with enable.idempotence; the distinct messages must still be exactly the
    delivered ones.

    failed_np, failed_pp: messages whose delivery report was a failure, with
    status NOT_PERSISTED (must not be on the broker) or POSSIBLY_PERSISTED
    (sent, no answer, then failed, e.g. purged from the retry queue: the
    broker may hold them; they are left out of the comparison)."""
    msgs, total, low = broker
    if low:
        case.fail(f"low watermarks not 0 (the mock dropped data; keep topics small): {low}")
    case.eq("messages consumed vs sum of high-water marks", total, len(msgs))
    seen, dups, strangers, s, failed_there, pp_there = set(), 0, 0, 0, 0, 0
    for v in msgs:
        if v in seen:
            dups += 1
            continue
        seen.add(v)
        if v in failed_np:
            failed_there += 1
        if v in failed_pp:
            pp_there += 1
            continue
        if v not in sent_hashes:
            strangers += 1
            h = fnv1a(v)
        else:
            h = sent_hashes[v]
            if h is None:
                h = sent_hashes[v] = fnv1a(v)
        s = (s + h) & MASK
    case.facts["broker"] = total
    if dups:
        case.facts["broker_duplicates"] = dups
        if not case.faults:
            case.fail(f"{dups} message(s) appear more than once on the broker")
    if strangers:
        case.fail(f"{strangers} message(s) on the broker were never given to the client")
    if failed_there:
        case.fail(f"{failed_there} message(s) reported failed (status NOT_PERSISTED) are on "
                  f"the broker")
    if failed_pp:
        case.facts["failed_possibly_persisted"] = len(failed_pp)
        case.facts["of_which_on_broker"] = pp_there
    case.eq("distinct messages on the broker vs delivered", delivered_count, len(seen) - pp_there)
    if delivered_sum is not None:
        case.eq("broker checksum (distinct messages) vs delivered checksum",
                f"{delivered_sum:016x}", f"{s:016x}")
    return seen


# ---- The segment ----------------------------------------------------------------


def check_segment(case, accepted, refused_seen, dr_failed, extra_retries_ok=False):
    """accepted: messages the client says were taken; refused_seen: refusals the client saw
    (None when the client does not say); dr_failed: failed delivery reports."""
    if "dr_failed_max" in case.kv and dr_failed > int(case.kv["dr_failed_max"]):
        case.fail(f"{dr_failed} failed delivery reports, at most {case.kv['dr_failed_max']} "
                  f"expected")
    with open(case.kv["stat"]) as f:
        s = json.load(f)
    c = s["counters"]
    cfg = s.get("config", {})
    if s.get("passive"):
        case.fail(f"the shim ran passive (config_error {s.get('config_error')!r})")
    case.eq("segment config.policy", case.policy, cfg.get("policy"))
    case.eq("segment config.budget", case.budget, cfg.get("budget"))
    msgs = sum(c[f"{e}_msgs"] for e in ENTRIES)
    failed = sum(c[f"{e}_failed"] for e in ENTRIES)
    case.eq("segment messages accepted by the entry points vs the client's count", accepted, msgs)
    entry = case.kv.get("entry")
    if entry is not None:
        entry = "produce_batch" if entry == "batch" else entry
        if entry not in ENTRIES:
            raise ValueError(f"entry={entry}: expected one of {ENTRIES} or batch")
        case.eq(f"segment {entry}_msgs (the entry point the client calls)", accepted,
                c[f"{entry}_msgs"])
    if refused_seen is not None:
        if extra_retries_ok:
            # produce_batch: the client counts one retry per call, the shim every message.
            if failed < refused_seen:
                case.fail(f"segment refusals {failed} < refusals the client saw {refused_seen}")
        else:
            case.eq("segment refusals vs refusals the client saw", refused_seen, failed)
    for k in ("budget_bytes", "budget_records", "budget_waiting"):
        case.eq(f"segment {k} after exit", 0, c.get(k, 0))
    if "budget_admitted" in c and "budget_released" in c:
        case.eq("segment budget_released vs budget_admitted", c["budget_admitted"],
                c["budget_released"])
    if c.get("shim_errors", 0):
        case.fail(f"segment shim_errors {c['shim_errors']}")
    peak, budget = c["budget_bytes_peak"], case.budget
    p = case.policy
    dropped = c["budget_dropped_msgs"]
    case.facts.update(peak=peak, waits=c["budget_waits"], rejected=c["budget_rejected"],
                      self_refusals=c["budget_self_refusals"], dropped=dropped,
                      observed_over=c["budget_observed_over"])
    if p != "observe" and peak > budget:
        case.fail(f"budget_bytes_peak {peak} > budget {budget}")
    if p == "block" and c["budget_timeouts"]:
        case.fail(f"budget_timeouts {c['budget_timeouts']}: a produce call waited the whole "
                  f"block timeout")
    if p != "drop-oldest":
        case.eq("segment budget_dropped_msgs (not drop-oldest)", 0, dropped)
    elif not case.faults:
        case.eq("segment budget_dropped_msgs vs failed delivery reports", dr_failed, dropped)
    elif dropped > dr_failed:
        case.fail(f"segment budget_dropped_msgs {dropped} > failed delivery reports {dr_failed}")
    if p == "observe":
        case.eq("observe: budget_rejected", 0, c["budget_rejected"])
        case.eq("observe: budget_waits", 0, c["budget_waits"])
        if refused_seen is not None:
            case.eq("observe: refusals the client saw", 0, refused_seen)
    if p == "fail":
        case.eq("fail: budget_waits", 0, c["budget_waits"])
    if p == "drop-oldest":
        # After a purge a call waits a little for the purged payloads; every refusal is
        # the end of that wait or a self-deadlock refusal.
        case.eq("drop-oldest: budget_rejected vs self refusals + timeouts",
                c["budget_self_refusals"] + c["budget_timeouts"], c["budget_rejected"])
    if p == "block":
        # A refusal under block is the self-deadlock refusal (timeouts are checked above).
        case.eq("block: budget_rejected vs budget_self_refusals", c["budget_self_refusals"],
                c["budget_rejected"])
        if case.poll_thread:
            case.eq("block with a polling thread: budget_rejected", 0, c["budget_rejected"])
    if not case.bound:
        return
    if p == "block" and c["budget_waits"] == 0:
        case.fail("block: budget_waits is 0: the budget never bound")
    if p == "fail" and c["budget_rejected"] == 0:
        case.fail("fail: budget_rejected is 0: the budget never bound")
    if p == "drop-oldest" and (dropped == 0 or c["budget_purges"] == 0):
        case.fail(f"drop-oldest: budget_purges {c['budget_purges']}, budget_dropped_msgs "
                  f"{dropped}: the budget never bound")
    if p == "observe":
        if c["budget_observed_over"] == 0:
            case.fail("observe: budget_observed_over is 0: the budget never bound")
        if peak <= budget:
            case.fail(f"observe: budget_bytes_peak {peak} <= budget {budget} although "
                      f"observed over")


# ---- Clients --------------------------------------------------------------------


def load_json_line(path):
    with open(path) as f:
        lines = [line for line in f if line.startswith("{")]
    if not lines:
        raise ValueError(f"{path}: no JSON line")
    return json.loads(lines[-1])


def check_rf_producer(case, broker):
    j = load_json_line(case.kv["out"])
    threads, count, size = (int(case.kv[k]) for k in ("threads", "count", "size"))
    expected = expected_generated(threads, count, size)
    for v, h in expected.items():
        if h is None:
            expected[v] = fnv1a(v)
    total = threads * count
    produced, failed = j["produced"], j["produce_failed"]
    delivered, dr_failed = j["delivered"], j["dr_failed"]
    sp, sd, sf = (int(j[k], 16) for k in ("sum_produced", "sum_delivered", "sum_dr_failed"))
    case.facts.update(produced=produced, delivered=delivered, dr_failed=dr_failed,
                      retries=j.get("retries"))
    case.eq("unflushed messages", 0, j.get("unflushed", 0))
    case.eq("produced + produce_failed vs messages generated", total, produced + failed)
    # rf-producer retries a full queue; any other refusal is unexpected here.
    case.eq("produce_failed", 0, failed)
    if failed == 0:
        want = 0
        for h in expected.values():
            want = (want + h) & MASK
        case.eq("sum_produced vs the generator's checksum", f"{want:016x}", f"{sp:016x}")
    case.eq("produced vs delivered + dr_failed", produced, delivered + dr_failed)
    case.eq("sum_produced vs sum_delivered + sum_dr_failed", f"{sp:016x}",
            f"{(sd + sf) & MASK:016x}")
    if not case.faults and case.policy != "drop-oldest":
        case.eq("failed delivery reports", 0, dr_failed)
    if "dr_errors" in j and case.policy == "drop-oldest" and not case.faults:
        other = {k: v for k, v in j["dr_errors"].items() if k != "_PURGE_QUEUE"}
        if other:
            case.fail(f"delivery failures other than _PURGE_QUEUE: {other}")
    failed_np, failed_pp = set(), set()
    if "dr_log" in case.kv:
        by_id = {v.split(b":", 2)[0] + b":" + v.split(b":", 2)[1]: v for v in expected}
        entries = [line.split() for line in read_lines(case.kv["dr_log"]) if line.strip()]
        case.eq("failed reports logged vs dr_failed", dr_failed, len(entries))
        for err, status, ident in entries:
            v = by_id.get(ident)
            if v is None:
                case.fail(f"failed report for an unknown message {ident!r}")
            elif status == b"POSSIBLY_PERSISTED":
                failed_pp.add(v)
            else:
                failed_np.add(v)
        if case.policy == "drop-oldest" and not case.faults and failed_pp:
            case.fail(f"{len(failed_pp)} purged message(s) were possibly persisted")
    elif j.get("dr_failed_possibly_persisted"):
        case.facts["failed_possibly_persisted"] = j["dr_failed_possibly_persisted"]
        if not case.faults:
            case.fail(f"{j['dr_failed_possibly_persisted']} failed message(s) may be on the "
                      f"broker without faults")
    check_broker(case, broker, expected, delivered, sd, failed_np, failed_pp)
    if case.policy == "observe":
        case.eq("observe: retries on a full queue", 0, j.get("retries", 0))
    check_segment(case, produced, j.get("retries", 0) + failed, dr_failed,
                  extra_retries_ok=case.kv.get("entry") == "batch")


KCAT_DR_FAILED = re.compile(rb"^% Delivery failed for message: (.*)$")


def check_kcat(case, broker):
    lines = read_lines(case.kv["input"])
    sent = {v: None for v in lines}
    if len(sent) != len(lines):
        raise ValueError(f"{case.kv['input']}: lines are not unique")
    dr_failed, reasons, errors = 0, {}, []
    for line in read_lines(case.kv["log"]):
        m = KCAT_DR_FAILED.match(line)
        if m:
            dr_failed += 1
            reasons[m.group(1).decode()] = reasons.get(m.group(1).decode(), 0) + 1
        elif line.startswith(b"% ERROR"):
            # With the broker down (faults=1, kcat -E) kcat prints its connection errors.
            if not (case.faults and re.match(rb"% ERROR: Local: (Broker transport failure|"
                                             rb"All broker connections are down)", line)):
                errors.append(line.decode(errors="replace"))
    if errors:
        case.fail(f"kcat reported errors: {errors[:3]}")
    delivered = len(lines) - dr_failed
    case.facts.update(produced=len(lines), delivered=delivered, dr_failed=dr_failed)
    if case.policy == "drop-oldest" and not case.faults:
        other = {k: v for k, v in reasons.items() if "Purged in queue" not in k}
        if other:
            case.fail(f"delivery failures other than purges: {other}")
    elif not case.faults:
        case.eq("failed delivery reports", 0, dr_failed)
    # kcat retries every refusal until accepted: every line was produced once, and either
    # reached the broker or was reported failed; the broker checksum is checked line by
    # line through the set (no checksum from kcat itself).
    check_broker(case, broker, sent, delivered, None)
    check_segment(case, len(lines), None, dr_failed)


EX_SENT = re.compile(rb"^% Sent (\d+) bytes to topic ")
EX_REFUSED = re.compile(rb"^% Failed to produce to topic \S+ partition -?\d+: (.*)$")
EX_DELIVERED = re.compile(
    rb"^% Message delivered \((\d+) bytes, offset -?\d+, partition -?\d+, broker -?\d+\): (.*)$")
EX_DR_FAILED = re.compile(rb"^% Message delivery failed \(broker -?\d+\): (.*)$")


def check_rdkafka_example(case, broker):
    lines = read_lines(case.kv["input"])
    if len(set(lines)) != len(lines):
        raise ValueError(f"{case.kv['input']}: lines are not unique")
    outcomes, delivered, dr_failed, refusals, dr_reasons = [], [], 0, {}, {}
    for line in read_lines(case.kv["log"]):
        if EX_SENT.match(line):
            outcomes.append(True)
        elif (m := EX_REFUSED.match(line)):
            outcomes.append(False)
            r = m.group(1).decode()
            refusals[r] = refusals.get(r, 0) + 1
        elif (m := EX_DELIVERED.match(line)):
            v = m.group(2)
            if int(m.group(1)) != len(v):
                case.fail(f"a delivery report line is cut ({len(v)} of {m.group(1)} bytes)")
            delivered.append(v)
        elif (m := EX_DR_FAILED.match(line)):
            dr_failed += 1
            r = m.group(1).decode()
            dr_reasons[r] = dr_reasons.get(r, 0) + 1
    # Every line read from standard input was produced or refused, in order.
    case.eq("produce outcomes printed vs lines fed", len(lines), len(outcomes))
    accepted = {v for v, ok in zip(lines, outcomes) if ok}
    refused = sum(1 for ok in outcomes if not ok)
    case.facts.update(produced=len(accepted), refused=refused, delivered=len(delivered),
                      dr_failed=dr_failed)
    other = {k: v for k, v in refusals.items() if k != "Local: Queue full"}
    if other:
        case.fail(f"refusals other than Local: Queue full: {other}")
    dset = set(delivered)
    if len(dset) != len(delivered):
        case.fail(f"{len(delivered) - len(dset)} message(s) got two successful delivery reports")
    if not dset <= accepted:
        case.fail(f"{len(dset - accepted)} delivered message(s) were never accepted")
    case.eq("accepted vs delivered + failed delivery reports", len(accepted),
            len(delivered) + dr_failed)
    if case.policy == "drop-oldest" and not case.faults:
        other = {k: v for k, v in dr_reasons.items() if k != "Local: Purged in queue"}
        if other:
            case.fail(f"delivery failures other than purges: {other}")
    elif not case.faults:
        case.eq("failed delivery reports", 0, dr_failed)
    sent = {v: None for v in accepted}
    seen = check_broker(case, broker, sent, len(delivered), None)
    if seen != dset:
        case.fail(f"the broker's messages differ from the delivered ones: "
                  f"{len(seen - dset)} not reported delivered, {len(dset - seen)} missing")
    check_segment(case, len(accepted), refused, dr_failed)


CHECKS = {"rf-producer": check_rf_producer, "kcat": check_kcat,
          "rdkafka_example": check_rdkafka_example}


def main():
    ap = argparse.ArgumentParser(
        description="Prove that every produced message is accounted for exactly once.",
        epilog="See the module docstring for the case keys and the checks.")
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--cases", help="a file with one case (KEY=VALUE words) per line")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds to read the broker")
    ap.add_argument("case", nargs="*", help="one case as KEY=VALUE words")
    args = ap.parse_args()

    cases = []
    try:
        if args.case:
            cases.append(Case(args.case, "command line"))
        if args.cases:
            with open(args.cases) as f:
                for n, line in enumerate(f, 1):
                    words = line.split("#", 1)[0].split()
                    if words:
                        cases.append(Case(words, f"{args.cases}:{n}"))
    except (OSError, ValueError) as e:
        print(f"rf_verify.py: {e}", file=sys.stderr)
        return 2
    if not cases:
        ap.error("no case given")

    topics = [c.topic for c in cases]
    if len(set(topics)) != len(topics):
        print("rf_verify.py: each case needs a topic of its own", file=sys.stderr)
        return 2
    try:
        broker = broker_read(args.bootstrap, sorted({c.topic for c in cases}), args.timeout)
    except (RuntimeError, KafkaException) as e:
        print(f"rf_verify.py: reading the broker at {args.bootstrap}: {e}", file=sys.stderr)
        return 1
    bad = 0
    for case in cases:
        try:
            CHECKS[case.client](case, broker[case.topic])
        except (OSError, ValueError, KeyError) as e:
            case.fail(f"{type(e).__name__}: {e}")
        facts = " ".join(f"{k}={v}" for k, v in case.facts.items())
        if case.errors:
            bad += 1
            print(f"FAIL {case.name}: {facts}", flush=True)
            for e in case.errors:
                print(f"  - {e}", flush=True)
        else:
            print(f"ok   {case.name}: {facts}", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
