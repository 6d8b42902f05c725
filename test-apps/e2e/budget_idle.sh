#!/usr/bin/env bash
# Resident memory follows the load: a burst through a 64M budget (4 handles,
# 8 threads, 8 KiB messages, a broker at 200 ms round trips), then 3 s idle
# with the handles alive. The arena's chunks unused for a second give their
# pages back, so the process falls to 32 MiB or less (docs/budget.md); plain
# librdkafka in the same run shape, printed beside, keeps about 80 MiB.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RF=$RF_BUILD_ROOT/reporter/ringfence
PRODUCER=$RF_BUILD_ROOT/test-apps/rf-producer
PREFIX=rf-e2e-idle-$$
rf_gc_at_exit "$PREFIX"
LIMIT_MIB=32

rf_broker_start --brokers 3 --rtt 200

burst=(--bootstrap "$RF_BOOTSTRAP" --count 3000 --size 8192 --handles 4 --threads 8 --linger-ms 3000)

"$PRODUCER" "${burst[@]}" --topic idle-plain >"$rf_tmpdir/plain.json" ||
	rf_fail "plain producer exited $?"
"$RF" run --exec --budget 64M --prefix "$PREFIX" -- "$PRODUCER" "${burst[@]}" --topic idle-shim \
	>"$rf_tmpdir/shim.json" &
pid=$!
wait $pid || rf_fail "producer under the shim exited $?"
"$RF" stat --prefix "$PREFIX" --json $pid >"$rf_tmpdir/stat.json"
python3 - "$rf_tmpdir/plain.json" "$rf_tmpdir/shim.json" "$rf_tmpdir/stat.json" $LIMIT_MIB <<'PY'
import json, sys
plain, shim, stat = (json.load(open(p)) for p in sys.argv[1:4])
limit = int(sys.argv[4]) << 10
c = stat["counters"]
mib = lambda kib: f"{kib / 1024:.1f} MiB"
print(f"# resident after 3 s idle: shim {mib(shim['rss_linger_kib'])} (peak {mib(shim['rss_peak_kib'])}), "
      f"plain {mib(plain['rss_linger_kib'])} (peak {mib(plain['rss_peak_kib'])}); "
      f"arena pages given back {c['budget_arena_returned_bytes'] >> 20} MiB, budget waits {c['budget_waits']}")
errors = []
if shim["delivered"] != 24000 or shim["sum_delivered"] != shim["sum_produced"]:
    errors.append(f"delivered {shim['delivered']} of 24000")
if c["budget_waits"] == 0:
    errors.append("the budget never bound: the burst did not fill the arena")
if shim["rss_linger_kib"] > limit:
    errors.append(f"resident after idle {mib(shim['rss_linger_kib'])} > {mib(limit)}")
if c["budget_arena_returned_bytes"] < 32 << 20:
    errors.append(f"only {c['budget_arena_returned_bytes']} arena bytes given back")
if errors:
    sys.exit("FAIL: " + "; ".join(errors))
PY
"$RF" gc --prefix "$PREFIX" >/dev/null
rf_broker_stop
echo "ok: resident memory falls to ${LIMIT_MIB} MiB or less after a burst"
