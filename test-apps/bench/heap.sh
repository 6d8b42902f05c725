#!/usr/bin/env bash
# heap.sh BENCH SHIM [PAIRS [ROUNDS [BENCH_ARG...]]] - malloc/free pairs (16 B to 1 KiB, 64
# live blocks per thread) on 1 and 2 threads: plain, under the shim, and under
# glibc's own counting preload libmemusage.so, alternating, ROUNDS (5) times;
# prints each run, the medians, the shim's cost per pair on one thread and
# each preload's two-thread throughput against plain.
#
# Further arguments go to every run of BENCH (--min-size B --max-size B).
#
#   meson compile -C build bench-heap
#   test-apps/bench/heap.sh build/test-apps/rf-heap-bench build/shim/libringfence.so 20000000 21
set -euo pipefail

bench=$1 shim=$2 pairs=${3:-20000000} rounds=${4:-5}
extra=("${@:5}")
memusage=
for lib in /usr/lib/x86_64-linux-gnu/libmemusage.so /usr/lib/*/libmemusage.so /lib/*/libmemusage.so; do
	[ -e "$lib" ] && { memusage=$lib; break; }
done
prefix=rf-bench-heap-$$
trap 'rm -f /dev/shm/$prefix.*' EXIT

run() { # plain|shim|memusage threads -> "ns_per_pair mpairs_per_s"
	local out
	case $1 in
	plain) out=$("$bench" --threads "$2" --pairs "$pairs" "${extra[@]}") ;;
	shim) out=$(RINGFENCE_SHM_PREFIX=$prefix LD_PRELOAD=$shim "$bench" --threads "$2" --pairs "$pairs" "${extra[@]}") ;;
	memusage) out=$(LD_PRELOAD=$memusage "$bench" --threads "$2" --pairs "$pairs" "${extra[@]}" 2>/dev/null) ;;
	esac
	sed -n 's/.*ns_per_pair \([0-9.]*\) mpairs_per_s \([0-9.]*\).*/\1 \2/p' <<<"$out"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

kinds=(plain shim)
[ -n "$memusage" ] && kinds+=(memusage)
declare -A ns mp
for ((r = 1; r <= rounds; r++)); do
	for t in 1 2; do
		line="round $r, $t thread(s):"
		for k in "${kinds[@]}"; do
			read -r n m <<<"$(run "$k" "$t")"
			ns[$k.$t]+="$n "
			mp[$k.$t]+="$m "
			line+=" $k $n ns/pair"
		done
		echo "$line"
	done
done
for t in 1 2; do
	for k in "${kinds[@]}"; do
		printf '%d thread(s) %-8s median %6s ns/pair %7s Mpairs/s\n' "$t" "$k" \
			"$(tr ' ' '\n' <<<"${ns[$k.$t]}" | grep . | median)" \
			"$(tr ' ' '\n' <<<"${mp[$k.$t]}" | grep . | median)"
	done
done
p1=$(tr ' ' '\n' <<<"${ns[plain.1]}" | grep . | median)
s1=$(tr ' ' '\n' <<<"${ns[shim.1]}" | grep . | median)
p2=$(tr ' ' '\n' <<<"${mp[plain.2]}" | grep . | median)
s2=$(tr ' ' '\n' <<<"${mp[shim.2]}" | grep . | median)
p1m=$(tr ' ' '\n' <<<"${mp[plain.1]}" | grep . | median)
s1m=$(tr ' ' '\n' <<<"${mp[shim.1]}" | grep . | median)
# Scaling: two-thread throughput over one-thread throughput, against plain's
# (1.00: the preload adds no contention between threads).
printf 'shim: %+.2f ns per malloc/free pair on one thread; two threads %.2f of plain throughput; scaling %.2f of plain\n' \
	"$(awk -v a="$s1" -v b="$p1" 'BEGIN {print a - b}')" "$(awk -v a="$s2" -v b="$p2" 'BEGIN {print a / b}')" \
	"$(awk -v a="$s2" -v b="$s1m" -v c="$p2" -v d="$p1m" 'BEGIN {print (a / b) / (c / d)}')"
if [ -n "$memusage" ]; then
	m1=$(tr ' ' '\n' <<<"${ns[memusage.1]}" | grep . | median)
	m2=$(tr ' ' '\n' <<<"${mp[memusage.2]}" | grep . | median)
	m1m=$(tr ' ' '\n' <<<"${mp[memusage.1]}" | grep . | median)
	printf 'libmemusage.so: %+.2f ns per pair on one thread; two threads %.2f of plain throughput; scaling %.2f of plain\n' \
		"$(awk -v a="$m1" -v b="$p1" 'BEGIN {print a - b}')" "$(awk -v a="$m2" -v b="$p2" 'BEGIN {print a / b}')" \
		"$(awk -v a="$m2" -v b="$m1m" -v c="$p2" -v d="$p1m" 'BEGIN {print (a / b) / (c / d)}')"
fi
