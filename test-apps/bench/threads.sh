#!/usr/bin/env bash
# threads.sh BENCH SHIM [COUNT [ROUNDS [CPUS]]] - create and join COUNT threads (100,000)
# one after another: plain, plain with one idle thread (what the shim's
# publisher thread costs by merely existing), and under the shim, ROUNDS (5)
# times each, alternating, each round starting with the next side; prints
# each round with its ratios to plain, the medians of each side and their
# ratios, and the medians of the rounds' ratios (each round's runs are
# neighbours in time, so that one cancels the machine's slow drifts), the
# shim's with a 95% confidence interval. With CPUS (a taskset list such as
# 0), every run is pinned there: one CPU leaves out the wake-ups from core
# to core, and shows what the shim's own work costs.
#
#   meson compile -C build bench-threads
#   test-apps/bench/threads.sh build/test-apps/rf-threads-bench build/shim/libringfence.so
set -euo pipefail

bench=$1 shim=$2 count=${3:-100000} rounds=${4:-5} cpus=${5:-}
pin=()
[ -n "$cpus" ] && pin=(taskset -c "$cpus")
prefix=rf-bench-threads-$$
trap 'rm -f /dev/shm/$prefix.*' EXIT

run() { # plain|idle|shim -> ns per thread
	local out
	case $1 in
	shim) out=$(RINGFENCE_SHM_PREFIX=$prefix LD_PRELOAD=$shim "${pin[@]}" "$bench" --count "$count") ;;
	idle) out=$("${pin[@]}" "$bench" --count "$count" --idle-threads 1) ;;
	*) out=$("${pin[@]}" "$bench" --count "$count") ;;
	esac
	sed -n 's/.*ns_per_thread \([0-9]*\).*/\1/p' <<<"$out"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# A 95% confidence interval for the median of the values on stdin, from
# their order statistics (distribution-free: the k-th and (n-k+1)-th of the
# sorted values, k = (n - 1.96 sqrt(n)) / 2), so that a verdict against the
# target can say how sure it is.
median_interval() {
	sort -n | awk '{a[NR]=$1} END {
		k = int((NR - 1.96 * sqrt(NR)) / 2); if (k < 1) k = 1
		printf "%s to %s", a[k], a[NR - k + 1]
	}'
}

ratio() { awk -v s="$1" -v p="$2" 'BEGIN {printf "%.3f", s / p}'; }

plain=() idle=() shimmed=() idle_ratios=() ratios=()
sides=(plain idle shim)
for ((r = 1; r <= rounds; r++)); do
	# Each round starts with the next side, so that no side always runs
	# first or last in its round.
	for ((k = 0; k < 3; k++)); do
		case ${sides[(r - 1 + k) % 3]} in
		plain) plain+=("$(run plain)") ;;
		idle) idle+=("$(run idle)") ;;
		shim) shimmed+=("$(run shim)") ;;
		esac
	done
	idle_ratios+=("$(ratio "${idle[-1]}" "${plain[-1]}")")
	ratios+=("$(ratio "${shimmed[-1]}" "${plain[-1]}")")
	printf 'round %d: plain %s ns/thread, idle thread %s (%s), shim %s ns/thread, ratio %s\n' \
		"$r" "${plain[-1]}" "${idle[-1]}" "${idle_ratios[-1]}" "${shimmed[-1]}" "${ratios[-1]}"
done
p=$(printf '%s\n' "${plain[@]}" | median)
i=$(printf '%s\n' "${idle[@]}" | median)
s=$(printf '%s\n' "${shimmed[@]}" | median)
printf 'median of %d rounds of %d threads: plain %d ns/thread, idle thread %d (%s), shim %d ns/thread, ratio %s\n' \
	"$rounds" "$count" "$p" "$i" "$(ratio "$i" "$p")" "$s" "$(ratio "$s" "$p")"
printf 'median of the rounds'"'"' ratios: idle thread %s, shim %s (95%% interval %s)\n' \
	"$(printf '%s\n' "${idle_ratios[@]}" | median)" "$(printf '%s\n' "${ratios[@]}" | median)" \
	"$(printf '%s\n' "${ratios[@]}" | median_interval)"
