#!/usr/bin/env bash
# block never deadlocks, in the two shapes producers come in, with the
# default 60 s block timeout (a stall would show as budget_timeouts and a
# run of a minute or more):
#   - one thread that produces and polls in turn: when its own delivery
#     reports hold the budget, waiting cannot succeed, so the call is refused
#     at once with __QUEUE_FULL; the producer polls and retries;
#   - producers plus a separate thread that polls: they wait, and go on as
#     the poller frees space; nothing is refused.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RF=$RF_BUILD_ROOT/reporter/ringfence
PRODUCER=$RF_BUILD_ROOT/test-apps/rf-producer
PREFIX=rf-e2e-deadlock-$$
rf_gc_at_exit "$PREFIX"

rf_broker_start --brokers 1 --rtt 100

check() { # name pid expect(refused|waited)
	"$RF" stat --prefix "$PREFIX" --json "$2" >"$rf_tmpdir/stat.json"
	python3 - "$rf_tmpdir/$1.out" "$rf_tmpdir/stat.json" "$1" "$3" <<'PY' || exit 1
import json, sys
out, stat, name, expect = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3], sys.argv[4]
c = stat["counters"]
print(f"# {name}: {out['elapsed_s']:.1f} s, waits {c['budget_waits']}, refused at once "
      f"{c['budget_self_refusals']}, retries {out['retries']}, timeouts {c['budget_timeouts']}")
errors = []
if out["delivered"] != out["produced"] or out["produced"] != 3000 or out["sum_delivered"] != out["sum_produced"]:
    errors.append(f"produced {out['produced']}, delivered {out['delivered']}")
if c["budget_timeouts"] != 0:
    errors.append(f"{c['budget_timeouts']} waits ran to the block timeout")
if expect == "refused" and (c["budget_self_refusals"] == 0 or out["retries"] == 0):
    errors.append("the budget never refused the lone producer: the test proves nothing")
if expect == "waited" and (c["budget_waits"] == 0 or c["budget_self_refusals"] != 0 or out["retries"] != 0):
    errors.append(f"expected waits without refusals")
if errors:
    sys.exit(f"FAIL: {name}: " + "; ".join(errors))
PY
}

"$RF" run --exec --budget 256K --policy block --prefix "$PREFIX" -- "$PRODUCER" --bootstrap "$RF_BOOTSTRAP" \
	--topic lone --count 3000 --size 1000 >"$rf_tmpdir/lone.out" &
pid=$!
wait $pid || rf_fail "the lone producer exited $?"
check lone $pid refused

"$RF" run --exec --budget 256K --policy block --prefix "$PREFIX" -- "$PRODUCER" --bootstrap "$RF_BOOTSTRAP" \
	--topic polled --count 1500 --size 1000 --threads 2 --poll-thread >"$rf_tmpdir/polled.out" &
pid=$!
wait $pid || rf_fail "the producer with a poll thread exited $?"
check polled $pid waited

"$RF" gc --prefix "$PREFIX" >/dev/null
rf_broker_stop
echo "ok: no deadlock, refused at once or served by the poller"
