#!/usr/bin/env bash
# Throughput with the budget not binding: produced messages per second of
# the same producer, plain and under the shim, in the same run, alternating
# runs so that machine noise falls on both alike. Prints the median of each
# and their ratio per message size (target: at least 0.97).
#
#   test-apps/bench/budget_throughput.sh [BUILD_DIR] [REPEATS]
set -euo pipefail
build=${1:-build}
repeats=${2:-5}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$build" && pwd)
RF_BUILD_ROOT=$build
source "$root/test-apps/e2e/lib.sh"

rf_broker_start --brokers 3 --lifetime 0
shim=$build/shim/libringfence.so
producer=$build/test-apps/rf-producer

rate() { # label size count [env...]
	local label=$1 size=$2 count=$3
	shift 3
	env "$@" "$producer" --bootstrap "$RF_BOOTSTRAP" --topic "bench-$label-$size-$RANDOM" \
		--count "$count" --size "$size" --payload copy |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["msgs_per_s"])'
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '%-8s %-9s %14s %14s %7s\n' size messages plain/s shim/s ratio
for size in 100 1024 16384; do
	case $size in
	100) count=1500000 ;;
	1024) count=400000 ;;
	16384) count=40000 ;;
	esac
	plain=() shimmed=()
	for _ in $(seq "$repeats"); do
		plain+=("$(rate plain $size $count)")
		shimmed+=("$(rate shim $size $count LD_PRELOAD="$shim" RINGFENCE_BUDGET=4G \
			RINGFENCE_SHM_PREFIX=rf-bench-$$)")
	done
	p=$(median "${plain[@]}")
	s=$(median "${shimmed[@]}")
	printf '%-8s %-9s %14.0f %14.0f %7.3f\n' "$size" "$count" "$p" "$s" \
		"$(python3 -c "print($s / $p)")"
done
"$build/reporter/ringfence" gc --prefix "rf-bench-$$" >/dev/null
