#!/usr/bin/env bash
# A fork child's threads are told apart from its parent's: the thread-id
# cache starts afresh in the child (rf_tid_fork_child, from the shim's fork
# handler). The child's main thread, the one that forked, polls its producer
# handle and is recorded as its poller under its own id, so the child's
# producing thread, waiting for budget (policy block, a 256 KiB budget), is
# waited for and gets every message delivered. With the parent's id still
# cached, the polls would be recorded under a thread the child does not
# have, the poller judged gone, and each wait refused at once
# (budget_self_refusals), as if nothing would ever serve the reports.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RF=$RF_BUILD_ROOT/reporter/ringfence
APP=$RF_BUILD_ROOT/test-apps/rf-budget-app
SHIM=$RF_BUILD_ROOT/shim/libringfence.so
PREFIX=rf-e2e-fork-$$
COUNT=2000
rf_gc_at_exit "$PREFIX"

rf_broker_start --brokers 1

RINGFENCE_SHM_PREFIX=$PREFIX RINGFENCE_BUDGET=256K RINGFENCE_POLICY=block LD_PRELOAD=$SHIM \
	"$APP" fork --count "$COUNT" --bootstrap "$RF_BOOTSTRAP" \
	>"$rf_tmpdir/fork.out" 2>"$rf_tmpdir/fork.err" &
pid=$!
rf_track "$pid"
rf_run_wait fork "$pid" 90 "0 1"
child=$(sed -n 's/^{"child": \([0-9]*\),.*/\1/p' "$rf_tmpdir/fork.out")
[[ -n $child ]] || rf_fail "the fork child printed nothing: $(cat "$rf_tmpdir/fork.out")"
"$RF" stat --prefix "$PREFIX" --json "$child" >"$rf_tmpdir/stat.json" ||
	rf_fail "ringfence stat $child: $(cat "$rf_tmpdir/stat.json")"
python3 - "$rf_tmpdir/fork.out" "$rf_tmpdir/stat.json" "$child" "$COUNT" <<'PY'
import json, sys
out, stat, child, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
lines = [json.loads(line) for line in open(out) if line.startswith("{")]
run = next(l for l in lines if "child" in l)
parent = next(l for l in lines if "parent" in l)
stat = json.load(open(stat))
c = stat["counters"]
handle = [h for h in stat["handles"] if h["client_id"] == "rf-fork-child"]
print(f"# child {child}: {run['produced']} produced, {run['delivered']} delivered, "
      f"{run['retries']} retried; waits {c['budget_waits']}, refused at once "
      f"{c['budget_self_refusals']}; poller {handle[0]['poller_tid'] if handle else None}")
why = []
if parent["child_status"] != 0 or run["delivered"] != count or run["produced"] != count:
    why.append(f"the child: {run}, exit status {parent['child_status']}")
if c["budget_waits"] == 0:
    why.append("the budget never made the child wait: the test proves nothing")
if c["budget_self_refusals"] != 0 or run["retries"] != 0:
    why.append(f"{c['budget_self_refusals']} waits refused at once ({run['retries']} retries): "
               "the child's poller was taken for a thread that has ended")
if not handle or handle[0]["poller_tid"] != child:
    why.append(f"the handle's poller is {handle[0]['poller_tid'] if handle else None}, "
               f"not the child's main thread {child}")
if why:
    sys.exit("FAIL: " + "; ".join(why))
PY
rf_broker_stop
echo "PASS: budget-fork"
