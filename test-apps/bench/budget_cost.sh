#!/usr/bin/env bash
# What the budget costs a producer that it does not bind: the same program
# (rf-producer) in the same run, three sides per cell, each round starting
# with the next side so that machine noise falls on all alike:
#   refs   librdkafka alone with message.copy.max.bytes 0, configured as the
#          shim configures every handle (docs/budget.md)
#   shim   under libringfence.so, RINGFENCE_BUDGET=4G (never binding)
#   plain  librdkafka alone with its defaults
# For every message size (100 B, 1 KiB, 16 KiB), payload ownership (copy:
# F_COPY, free: F_FREE, none: no flag), entry point (produce, producev,
# produceva, batch) and loop shape (inline: poll(0) after every produce on
# the producing thread; thread: a separate poll thread; 4x2: 4 producing
# threads over 2 handles), the medians of the rounds and the ratios
#   tput  shim/refs messages per second (the target: at least 0.97)
#   cpu   refs/shim process CPU time per message (at least 0.97: shim no
#         more than 3% above refs)
#   plain shim/plain messages per second, for reference
# and last, per size and per shape, how many cells meet the target in both
# ratios and the geometric mean of each ratio.
#
# RF_COST_AGAIN=1 adds a fourth side, refs run again, and the two ratios of
# refs against itself (a/a tput, a/a cpu): how far a cell moves when nothing
# differs, the floor under what the table can tell apart.
#
# SCALE multiplies the messages of every run (default 1: 200,000 at 100 B,
# 100,000 at 1 KiB, 20,000 at 16 KiB; a quarter of that per thread in 4x2):
# longer runs for steadier ratios where a cell is in doubt. WARMUP (default
# 0) makes every run first produce WARMUP times its messages and see them
# delivered before the clocks start, so that the run is timed from a steady
# state: the allocators' caches filled, the arena's pages in use, the
# connections' batching settled, on every side alike.
#
#   test-apps/bench/budget_cost.sh [BUILD_DIR] [ROUNDS] [SIZES] [PAYLOADS] [ENTRIES] [SHAPES] [SCALE] [WARMUP]
#   test-apps/bench/budget_cost.sh build 5 "100 1024 16384" "copy free none" \
#       "produce producev produceva batch" "inline thread 4x2"
set -euo pipefail
build=${1:-build}
rounds=${2:-3}
read -r -a sizes <<<"${3:-100 1024 16384}"
read -r -a payloads <<<"${4:-copy free none}"
read -r -a entries <<<"${5:-produce producev produceva batch}"
read -r -a shapes <<<"${6:-inline thread 4x2}"
scale=${7:-1}
warmup=${8:-0}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$build" && pwd)
RF_BUILD_ROOT=$build
# shellcheck source=../e2e/lib.sh
source "$root/test-apps/e2e/lib.sh"

rf_broker_start --brokers 3 --lifetime 0
shim=$build/shim/libringfence.so
producer=$build/test-apps/rf-producer
prefix=rf-bench-cost-$$
rf_cleanup_add "rm -f /dev/shm/$prefix.*"

# run SIDE SIZE PAYLOAD ENTRY SHAPE: "msgs_per_s cpu_s_per_msg" of one run
run() {
	local side=$1 size=$2 payload=$3 entry=$4 shape=$5 env=() args=() count
	case $size in
	100) count=200000 ;;
	1024) count=100000 ;;
	*) count=20000 ;;
	esac
	count=$((count * scale))
	case $shape in
	thread) args+=(--poll-thread) ;;
	4x2) args+=(--threads 4 --handles 2) count=$((count / 4)) ;;
	esac
	case $side in
	refs | again) args+=(-X message.copy.max.bytes=0) ;;
	shim) env=(LD_PRELOAD="$shim" RINGFENCE_BUDGET=4G RINGFENCE_SHM_PREFIX="$prefix") ;;
	esac
	env "${env[@]}" "$producer" --bootstrap "$RF_BOOTSTRAP" --topic "cost-$side-$RANDOM" \
		--count "$count" --warmup "$((count * warmup))" --size "$size" --payload "$payload" \
		--entry "$entry" "${args[@]}" |
		python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["msgs_per_s"], r["cpu_s"] / max(r["timed"], 1))'
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }

sides=(refs shim plain)
again=${RF_COST_AGAIN:-0}
[ "$again" = 1 ] && sides+=(again)
summary=() # "size shape tput cpu" of every cell; with RF_COST_AGAIN, then refs against itself
printf '%-6s %-9s %-7s %-6s %10s %10s %7s %7s %7s' shape entry payload size refs/s shim/s \
	tput cpu plain
[ "$again" = 1 ] && printf ' %8s %8s' "a/a tput" "a/a cpu"
printf '\n'
worst_tput=9 worst_cpu=9
for shape in "${shapes[@]}"; do
for entry in "${entries[@]}"; do
for payload in "${payloads[@]}"; do
for size in "${sizes[@]}"; do
	declare -A rate=() cpu=()
	for ((r = 0; r < rounds; r++)); do
		for ((k = 0; k < ${#sides[@]}; k++)); do
			side=${sides[(r + k) % ${#sides[@]}]}
			read -r m c < <(run "$side" "$size" "$payload" "$entry" "$shape")
			rate[$side]+="$m "
			cpu[$side]+="$c "
		done
	done
	# shellcheck disable=SC2086 # lists of numbers
	{
		refs=$(median ${rate[refs]}) shim_rate=$(median ${rate[shim]}) plain=$(median ${rate[plain]})
		cpu_refs=$(median ${cpu[refs]}) cpu_shim=$(median ${cpu[shim]})
	}
	tput=$(ratio "$shim_rate" "$refs") cpur=$(ratio "$cpu_refs" "$cpu_shim")
	printf '%-6s %-9s %-7s %-6s %10.0f %10.0f %7s %7s %7s' "$shape" "$entry" "$payload" "$size" \
		"$refs" "$shim_rate" "$tput" "$cpur" "$(ratio "$shim_rate" "$plain")"
	if [ "$again" = 1 ]; then
		# shellcheck disable=SC2086 # lists of numbers
		aa_tput=$(ratio "$(median ${rate[again]})" "$refs")
		# shellcheck disable=SC2086
		aa_cpu=$(ratio "$cpu_refs" "$(median ${cpu[again]})")
		printf ' %8s %8s' "$aa_tput" "$aa_cpu"
		summary+=("$size $shape $tput $cpur $aa_tput $aa_cpu")
	else
		summary+=("$size $shape $tput $cpur")
	fi
	printf '\n'
	worst_tput=$(awk -v a="$worst_tput" -v b="$tput" 'BEGIN {print (b < a) ? b : a}')
	worst_cpu=$(awk -v a="$worst_cpu" -v b="$cpur" 'BEGIN {print (b < a) ? b : a}')
	unset rate cpu
done
done
done
done
echo "worst shim/refs: throughput $worst_tput, CPU per message $worst_cpu (target: at least 0.97 each)"
# Per size and per shape: the cells at 0.97 or above in both ratios, and the
# geometric means of each ratio.
printf '%s\n' "${summary[@]}" | awk '
	function add(k) { n[k]++; ok[k] += ($3 >= 0.97 && $4 >= 0.97); lt[k] += log($3); lc[k] += log($4)
		if (NF == 6) aa[k] += ($5 >= 0.97 && $6 >= 0.97) }
	{ add($1 " B"); add($2) }
	END { for (k in n) printf "%s: %d of %d cells at 0.97 or above in both; geometric means tput %.3f, cpu %.3f%s\n",
		k, ok[k], n[k], exp(lt[k] / n[k]), exp(lc[k] / n[k]),
		(k in aa) ? sprintf("; refs against itself: %d of %d", aa[k], n[k]) : "" }' | sort -n
