#!/usr/bin/env bash
# Throughput with the budget not binding: produced messages per second of
# the same producer (rf-producer, one thread, produce then poll, delivery
# callback) per message size and payload ownership, three sides in the same
# run, each round starting with the next side so that machine noise falls on
# all alike:
#   plain  librdkafka alone
#   refs   librdkafka alone with message.copy.max.bytes 0, the setting the
#          shim gives every handle (docs/budget.md): what librdkafka's
#          referencing of payloads costs by itself, without any shim
#   shim   under libringfence.so
# Prints the median of each side and the ratios shim/plain (the issue's
# target: at least 0.97), refs/plain (librdkafka's share) and shim/refs (the
# shim's own share). Payload ownership:
#   copy  F_COPY: the shim copies into its ring instead of librdkafka
#   free  F_FREE: the shim copies into its ring, frees the caller's buffer
#   none  no flag: nothing copied, charged until acknowledged
#
# Further arguments go to the shim's runs only, for example
# `-X message.copy.max.bytes=256` to let librdkafka copy small payloads
# (charged per message, see docs/budget.md).
#
#   test-apps/bench/budget_throughput.sh [BUILD_DIR] [REPEATS] [PRODUCER_ARG...]
set -euo pipefail
build=${1:-build}
repeats=${2:-5}
shim_args=("${@:3}")
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$build" && pwd)
RF_BUILD_ROOT=$build
# shellcheck source=../e2e/lib.sh
source "$root/test-apps/e2e/lib.sh"

rf_broker_start --brokers 3 --lifetime 0
shim=$build/shim/libringfence.so
producer=$build/test-apps/rf-producer

rate() { # side payload size count
	local side=$1 payload=$2 size=$3 count=$4 env=() args=()
	case $side in
	refs) args=(-X message.copy.max.bytes=0) ;;
	shim)
		env=(LD_PRELOAD="$shim" RINGFENCE_BUDGET=4G RINGFENCE_SHM_PREFIX="rf-bench-$$")
		args=("${shim_args[@]}")
		;;
	esac
	env "${env[@]}" "$producer" --bootstrap "$RF_BOOTSTRAP" --topic "bench-$side-$size-$RANDOM" \
		--count "$count" --size "$size" --payload "$payload" "${args[@]}" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["msgs_per_s"])'
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }

sides=(plain refs shim)
printf '%-6s %-7s %-8s %10s %10s %10s %10s %9s %9s\n' size payload messages plain/s refs/s shim/s \
	shim/plain refs/plain shim/refs
for payload in copy free none; do
for size in 100 1024 16384; do
	case $size in
	100) count=1000000 ;;
	1024) count=300000 ;;
	16384) count=30000 ;;
	esac
	declare -A runs=([plain]="" [refs]="" [shim]="")
	for r in $(seq "$repeats"); do
		for k in 0 1 2; do
			side=${sides[(r - 1 + k) % 3]}
			runs[$side]+=" $(rate "$side" "$payload" "$size" "$count")"
		done
	done
	# shellcheck disable=SC2086 # the runs are words
	p=$(median ${runs[plain]}) f=$(median ${runs[refs]}) s=$(median ${runs[shim]})
	printf '%-6s %-7s %-8s %10.0f %10.0f %10.0f %10s %9s %9s\n' "$size" "$payload" "$count" \
		"$p" "$f" "$s" "$(ratio "$s" "$p")" "$(ratio "$f" "$p")" "$(ratio "$s" "$f")"
done
done
"$build/reporter/ringfence" gc --prefix "rf-bench-$$" >/dev/null
