#!/usr/bin/env bash
# Throughput with the budget not binding: produced messages per second of
# the same producer (rf-producer, one thread, produce then poll, delivery
# callback), plain and under the shim, in the same run, alternating runs so
# that machine noise falls on both alike. Prints the median of each and
# their ratio per message size and payload ownership (target: at least 0.97):
#   copy  F_COPY: the shim copies into its ring instead of librdkafka
#   free  F_FREE: the shim copies into its ring, frees the caller's buffer
#   none  no flag: nothing copied, charged until acknowledged
#
# Further arguments go to the shim's runs only, for example
# `-X message.copy.max.bytes=65535` to compare charging librdkafka's copies
# into its request buffers with the shim's default of avoiding them (0).
#
#   test-apps/bench/budget_throughput.sh [BUILD_DIR] [REPEATS] [PRODUCER_ARG...]
set -euo pipefail
build=${1:-build}
repeats=${2:-5}
shim_args=("${@:3}")
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$build" && pwd)
RF_BUILD_ROOT=$build
source "$root/test-apps/e2e/lib.sh"

rf_broker_start --brokers 3 --lifetime 0
shim=$build/shim/libringfence.so
producer=$build/test-apps/rf-producer

rate() { # label payload size count [env...]
	local label=$1 payload=$2 size=$3 count=$4 args=()
	shift 4
	[ "$label" = shim ] && args=("${shim_args[@]}")
	env "$@" "$producer" --bootstrap "$RF_BOOTSTRAP" --topic "bench-$label-$size-$RANDOM" \
		--count "$count" --size "$size" --payload "$payload" "${args[@]}" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["msgs_per_s"])'
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '%-8s %-7s %-9s %14s %14s %7s\n' size payload messages plain/s shim/s ratio
for payload in copy free none; do
for size in 100 1024 16384; do
	case $size in
	100) count=1000000 ;;
	1024) count=300000 ;;
	16384) count=30000 ;;
	esac
	plain=() shimmed=()
	for _ in $(seq "$repeats"); do
		plain+=("$(rate plain $payload $size $count)")
		shimmed+=("$(rate shim $payload $size $count LD_PRELOAD="$shim" RINGFENCE_BUDGET=4G \
			RINGFENCE_SHM_PREFIX=rf-bench-$$)")
	done
	p=$(median "${plain[@]}")
	s=$(median "${shimmed[@]}")
	printf '%-8s %-7s %-9s %14.0f %14.0f %7.3f\n' "$size" "$payload" "$count" "$p" "$s" \
		"$(python3 -c "print($s / $p)")"
done
done
"$build/reporter/ringfence" gc --prefix "rf-bench-$$" >/dev/null
