#!/usr/bin/env bash
# Overload: the same multi-handle producer (4 handles, 8 threads, 8 KiB
# messages, 32,000 in all = 250 MiB) against a broker with 200 ms round
# trips, plain and under the shim with budgets of 16 and 64 MiB, side by side
# in one run: peak resident memory (VmHWM), its growth over the idle process,
# and the time taken. Then the same with 100-byte messages (320,000 of them)
# under a 16 MiB budget, with glibc's default arenas and with
# MALLOC_ARENA_MAX=1: with small messages most of the charge is librdkafka's
# per-message heap, and glibc's per-thread arenas keep what one thread freed
# away from the others (docs/budget.md, "The budget as a bound on memory").
# Each COPY_LIMIT adds runs under a 16 MiB budget with the application setting
# message.copy.max.bytes to it (charged for its copies, not for the request
# buffers librdkafka sizes for them): what letting librdkafka copy would do to
# resident memory.
#
#   test-apps/bench/budget_overload.sh [BUILD_DIR] [COPY_LIMIT...]
set -euo pipefail
build=${1:-build}
copy_limits=("${@:2}")
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$build" && pwd)
RF_BUILD_ROOT=$build
# shellcheck source=../e2e/lib.sh
source "$root/test-apps/e2e/lib.sh"

rf_broker_start --brokers 3 --rtt 200 --lifetime 0
args=(--bootstrap "$RF_BOOTSTRAP" --handles 4 --threads 8)
size=(--count 4000 --size 8192)
extra=() # rf-producer's own options for the next runs

run() { # label payload [ringfence run options]
	local label=$1 payload=$2
	shift 2
	local cmd=("$build/test-apps/rf-producer" "${args[@]}" "${size[@]}" --payload "$payload"
		--topic "ov-$RANDOM" "${extra[@]}")
	if [ $# -gt 0 ]; then
		cmd=("$build/reporter/ringfence" run --exec --prefix "rf-bench-$$" "$@" -- "${cmd[@]}")
	fi
	"${cmd[@]}" | python3 "$rf_tmpdir/row.py" "$label" "$payload"
}

cat >"$rf_tmpdir/row.py" <<'PY'
import json, sys
r = json.load(sys.stdin)
label, payload = sys.argv[1], sys.argv[2]
print(f"{label:<16} {payload:<6} {r['rss_idle_kib'] / 1024:8.1f} {r['rss_peak_kib'] / 1024:9.1f} "
      f"{(r['rss_peak_kib'] - r['rss_idle_kib']) / 1024:9.1f} {r['elapsed_s']:7.2f} {r['delivered']:9d}")
PY

printf '%-16s %-6s %8s %9s %9s %7s %9s\n' run payload "idle MiB" "peak MiB" "grown MiB" seconds delivered
for payload in copy free; do
	run plain "$payload"
	run "shim 64M" "$payload" --budget 64M
	run "shim 16M" "$payload" --budget 16M
done
for limit in "${copy_limits[@]}"; do
	extra=(-X "message.copy.max.bytes=$limit")
	run "16M cl=$limit" copy --budget 16M
	extra=()
done
size=(--count 40000 --size 100)
for payload in copy free none; do
	run "shim 16M 100B" "$payload" --budget 16M
	MALLOC_ARENA_MAX=1 run "16M 100B a=1" "$payload" --budget 16M
done
for limit in "${copy_limits[@]}"; do
	extra=(-X "message.copy.max.bytes=$limit")
	run "16M 100B cl=$limit" copy --budget 16M
	extra=()
done
"$build/reporter/ringfence" gc --prefix "rf-bench-$$" >/dev/null
