#!/usr/bin/env bash
# The budget holds memory: 4 handles in 8 threads overload a slow broker
# (200 ms round trips) with 8 KiB messages, 6x the budget in all. The budget's
# peak never exceeds it, and peak resident memory stays within the idle
# process plus the budget plus a small margin (docs/budget.md: 6 MiB; measured about 2 MiB),
# for copied (F_COPY, callback) and handed-over (F_FREE, no callback)
# payloads; every message is delivered.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RF=$RF_BUILD_ROOT/reporter/ringfence
PRODUCER=$RF_BUILD_ROOT/test-apps/rf-producer
PREFIX=rf-e2e-mem-$$
rf_gc_at_exit "$PREFIX"
BUDGET_MIB=16
MARGIN_MIB=6

rf_broker_start --brokers 3 --rtt 200

# librdkafka copies payloads up to message.copy.max.bytes into its request
# buffers: the shim sets 0 (ring payloads are referenced, never copied), and
# keeps a value the application chose (each such copy is charged).
copy_max() { # expected, command...
	local want=$1 got
	shift
	got=$("$@" --bootstrap "$RF_BOOTSTRAP" --topic mem-copy-max --count 10 --size 100 |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["copy_max_bytes"])')
	[ "$got" = "$want" ] || rf_fail "message.copy.max.bytes is $got, expected $want: $*"
}
copy_max 65535 "$PRODUCER"
copy_max 0 "$RF" run --prefix "$PREFIX" -- "$PRODUCER"
copy_max 4096 "$RF" run --prefix "$PREFIX" -- "$PRODUCER" --copy-max 4096

for mode in "copy" "free --no-dr"; do
	read -r -a extra <<<"$mode"
	payload=${extra[0]}
	"$RF" run --exec --budget ${BUDGET_MIB}M --prefix "$PREFIX" -- "$PRODUCER" --bootstrap "$RF_BOOTSTRAP" \
		--topic "mem-$payload" --count 1500 --size 8192 --handles 4 --threads 8 \
		--payload "$payload" "${extra[@]:1}" >"$rf_tmpdir/out" &
	pid=$!
	wait $pid || rf_fail "$mode: producer exited $?"
	"$RF" stat --prefix "$PREFIX" --json $pid >"$rf_tmpdir/stat.json"
	python3 - "$rf_tmpdir/out" "$rf_tmpdir/stat.json" "$mode" $BUDGET_MIB $MARGIN_MIB <<'PY' || exit 1
import json, sys
out, stat, mode = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
budget, margin = int(sys.argv[4]) << 20, int(sys.argv[5]) << 20
c = stat["counters"]
grown = (out["rss_peak_kib"] - out["rss_idle_kib"]) << 10
print(f"# {mode}: produced {out['bytes'] >> 20} MiB, budget peak {c['budget_bytes_peak'] / 2**20:.1f} MiB, "
      f"resident peak - idle {grown / 2**20:.1f} MiB, waits {c['budget_waits']}")
errors = []
if out["produced"] != 12000 or out["produce_failed"] != 0:
    errors.append(f"produced {out['produced']}, failed {out['produce_failed']}")
if "no-dr" not in mode and (out["delivered"] != 12000 or out["sum_delivered"] != out["sum_produced"]):
    errors.append(f"delivered {out['delivered']}")
if c["budget_bytes_peak"] > budget:
    errors.append(f"budget peak {c['budget_bytes_peak']} > {budget}")
if c["budget_waits"] == 0:
    errors.append("the budget never bound: the test proves nothing")
if grown > budget + margin:
    errors.append(f"resident memory grew {grown} bytes > budget {budget} + margin {margin}")
if c["budget_bytes"] != 0:
    errors.append(f"{c['budget_bytes']} bytes still charged after exit")
if errors:
    sys.exit(f"FAIL: {mode}: " + "; ".join(errors))
PY
done
"$RF" gc --prefix "$PREFIX" >/dev/null
rf_broker_stop
echo "ok: peak memory within idle + budget + ${MARGIN_MIB} MiB"
