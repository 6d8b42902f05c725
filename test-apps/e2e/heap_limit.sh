#!/usr/bin/env bash
# The soft limit (RINGFENCE_HEAP_LIMIT, docs/heap.md). rf-heap-app produce
# keeps each payload on the heap until its delivery report (4 threads x 5,000
# x 4 KiB = 80 MiB in all) against a broker slowed to a 100 ms round trip, so
# the heap climbs while producing. Without a limit it climbs far past 24 MiB;
# with RINGFENCE_HEAP_LIMIT=24M the producers are pushed back (block policy:
# they wait), the live heap peaks near the limit, and every message is
# delivered. Also: a malformed value is refused with the one-line message.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

SHIM=$RF_BUILD_ROOT/shim/libringfence.so
APP=$RF_BUILD_ROOT/test-apps/rf-heap-app
export RINGFENCE_SHM_PREFIX=rf-e2e-heap-limit-$$
export RINGFENCE_PUBLISH_INTERVAL=50ms RINGFENCE_BUDGET=1G
rf_cleanup_add "rm -f /dev/shm/$RINGFENCE_SHM_PREFIX.*"

rf_broker_start --brokers 1 --rtt 100

run() { # limit -> JSON line
	RINGFENCE_HEAP_LIMIT=$1 timeout 80 env LD_PRELOAD="$SHIM" "$APP" produce --bootstrap "$RF_BOOTSTRAP" \
		--threads 4 --count 5000 --payload 4096 2>"$rf_tmpdir/err" | tail -1 ||
		rf_fail "rf-heap-app produce (limit $1): $(tail -3 "$rf_tmpdir/err")"
}

free_run=$(run 0)
echo "no limit: $free_run"
limited=$(run 24M)
echo "limit 24M: $limited"
python3 - "$free_run" "$limited" <<'PY' || rf_fail "the soft limit did not hold"
import json, sys
free, lim = json.loads(sys.argv[1]), json.loads(sys.argv[2])
mib = 1 << 20
for r in (free, lim):
    assert r["delivered"] == r["produced"] == 20000 and r["dr_failed"] == 0, r
assert free["heap_live_peak_bytes"] > 40 * mib, ("the heap must climb without a limit", free)
assert free["heap_limit_episodes"] == 0, free
assert lim["heap_limit_episodes"] >= 1 and lim["heap_limit_pushbacks"] >= 1, lim
assert lim["heap_live_peak_bytes"] <= 32 * mib, ("the heap must stay near the limit", lim)
PY
echo "ok: pushed back under the limit, no message lost"

out=$(RINGFENCE_HEAP_LIMIT=lots LD_PRELOAD=$SHIM "$APP" churn --threads 1 --count 10 2>&1)
grep -q 'RINGFENCE_HEAP_LIMIT="lots" is not accepted' <<<"$out" || rf_fail "no message for lots: $out"
grep -q '^ok churn' <<<"$out" || rf_fail "the program did not run: $out"
rf_broker_stop
echo "PASS: heap-limit"
