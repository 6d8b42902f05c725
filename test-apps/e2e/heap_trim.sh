#!/usr/bin/env bash
# RINGFENCE_HEAP_TRIM gives glibc's free memory back: 8 threads over 4
# handles overload a 16M budget with 100-byte messages (most of their charge
# is librdkafka's heap, spread over glibc's per-thread arenas), then idle 3 s
# with the handles alive. With the trim the publisher gives back what glibc
# kept, and resident memory falls below the same run's without it
# (docs/heap.md, "Giving memory back").
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RF=$RF_BUILD_ROOT/reporter/ringfence
PRODUCER=$RF_BUILD_ROOT/test-apps/rf-producer
PREFIX=rf-e2e-trim-$$
rf_gc_at_exit "$PREFIX"

rf_broker_start --brokers 3 --rtt 200

for trim in 0 1; do
	RINGFENCE_HEAP_TRIM=$trim "$RF" run --exec --budget 16M --prefix "$PREFIX" -- "$PRODUCER" \
		--bootstrap "$RF_BOOTSTRAP" --topic "trim-$trim" --count 40000 --size 100 \
		--handles 4 --threads 8 --linger-ms 3000 >"$rf_tmpdir/out-$trim.json" &
	pid=$!
	wait $pid || rf_fail "producer with RINGFENCE_HEAP_TRIM=$trim exited $?"
	"$RF" stat --prefix "$PREFIX" --json $pid >"$rf_tmpdir/stat-$trim.json"
done
python3 - "$rf_tmpdir" <<'PY'
import json, sys
d = sys.argv[1]
out = [json.load(open(f"{d}/out-{t}.json")) for t in (0, 1)]
c = [json.load(open(f"{d}/stat-{t}.json"))["counters"] for t in (0, 1)]
mib = lambda kib: f"{kib / 1024:.1f} MiB"
print(f"# resident after 3 s idle: {mib(out[0]['rss_linger_kib'])} untrimmed, "
      f"{mib(out[1]['rss_linger_kib'])} trimmed ({c[1]['heap_trims']} trims gave back "
      f"{c[1]['heap_trimmed_bytes'] / 2**20:.1f} MiB, the longest took "
      f"{c[1]['heap_trim_ns_max'] / 1e6:.2f} ms)")
errors = []
for t in (0, 1):
    if out[t]["delivered"] != 320000 or out[t]["sum_delivered"] != out[t]["sum_produced"]:
        errors.append(f"trim {t}: delivered {out[t]['delivered']} of 320000")
if c[0]["heap_trims"] != 0:
    errors.append(f"{c[0]['heap_trims']} trims without RINGFENCE_HEAP_TRIM")
if c[1]["heap_trims"] < 1 or c[1]["heap_trimmed_bytes"] < 4 << 20:
    errors.append(f"trims {c[1]['heap_trims']} gave back {c[1]['heap_trimmed_bytes']} bytes")
if out[1]["rss_linger_kib"] >= out[0]["rss_linger_kib"]:
    errors.append("resident memory after idle is no lower with the trim")
if errors:
    sys.exit("FAIL: " + "; ".join(errors))
PY
"$RF" gc --prefix "$PREFIX" >/dev/null
rf_broker_stop
echo "ok: RINGFENCE_HEAP_TRIM gives glibc's free memory back after a burst"
