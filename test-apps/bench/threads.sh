#!/usr/bin/env bash
# threads.sh BENCH SHIM [COUNT [ROUNDS]] - create and join COUNT threads (100,000)
# one after another, plain and under the shim, ROUNDS (5) times each,
# alternating; prints each run with its ratio, the medians of each side and
# their ratio, and the median of the rounds' ratios (each round's two runs
# are neighbours in time, so that one cancels the machine's slow drifts).
#
#   meson compile -C build bench-threads
#   test-apps/bench/threads.sh build/test-apps/rf-threads-bench build/shim/libringfence.so
set -euo pipefail

bench=$1 shim=$2 count=${3:-100000} rounds=${4:-5}
prefix=rf-bench-threads-$$
trap 'rm -f /dev/shm/$prefix.*' EXIT

run() { # plain|shim -> ns per thread
	local out
	if [ "$1" = shim ]; then
		out=$(RINGFENCE_SHM_PREFIX=$prefix LD_PRELOAD=$shim "$bench" --count "$count")
	else
		out=$("$bench" --count "$count")
	fi
	sed -n 's/.*ns_per_thread \([0-9]*\).*/\1/p' <<<"$out"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

ratio() { awk -v s="$1" -v p="$2" 'BEGIN {printf "%.3f", s / p}'; }

plain=() shimmed=() ratios=()
for ((r = 1; r <= rounds; r++)); do
	plain+=("$(run plain)")
	shimmed+=("$(run shim)")
	ratios+=("$(ratio "${shimmed[-1]}" "${plain[-1]}")")
	printf 'round %d: plain %s ns/thread, shim %s ns/thread, ratio %s\n' "$r" "${plain[-1]}" \
		"${shimmed[-1]}" "${ratios[-1]}"
done
p=$(printf '%s\n' "${plain[@]}" | median)
s=$(printf '%s\n' "${shimmed[@]}" | median)
printf 'median of %d rounds of %d threads: plain %d ns/thread, shim %d ns/thread, ratio %s\n' \
	"$rounds" "$count" "$p" "$s" "$(ratio "$s" "$p")"
printf 'median of the rounds'"'"' ratios: %s\n' "$(printf '%s\n' "${ratios[@]}" | median)"
