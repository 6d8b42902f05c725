#!/usr/bin/env bash
# goroutines.sh RINGFENCE MANY [GOROUTINES [RUNS]] - how long `ringfence
# goroutines` takes on a program with GOROUTINES (10,000) goroutines: starts
# MANY (rf-go-many) with that many, then times RUNS (7) whole runs of
# `ringfence goroutines --interval 0 PID` (one sample: opening the binary and
# its DWARF, reading every goroutine and its frames, grouping, symbolising,
# printing; no interval to wait) and prints each and their median, in ms.
#
#   meson compile -C build bench-goroutines
#   test-apps/bench/goroutines.sh build/reporter/ringfence build/test-apps/rf-go-many
set -euo pipefail

ringfence=$1 many=$2 count=${3:-10000} runs=${4:-7}
out=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$out"' EXIT

: >"$out/many.log"
"$many" -n "$count" >"$out/many.log" 2>&1 &
pid=$!
for _ in $(seq 200); do
	grep -q '^ready' "$out/many.log" && break
	sleep 0.1
done
grep -q '^ready' "$out/many.log" || {
	echo "$many -n $count did not get ready" >&2
	exit 1
}

ms() { # microseconds since the epoch, without forking
	local t=${EPOCHREALTIME//[!0-9]/}
	echo $((10#$t))
}

times=()
for ((r = 1; r <= runs; r++)); do
	t0=$(ms)
	"$ringfence" goroutines --interval 0 "$pid" >"$out/report.txt"
	t1=$(ms)
	times+=("$(awk -v d=$((t1 - t0)) 'BEGIN {printf "%.1f", d / 1000}')")
	printf 'run %d: %s ms\n' "$r" "${times[-1]}"
done
read -r goroutines groups < <(sed -n 's/^pid [0-9]* ([^)]*): \([0-9]*\) goroutines in \([0-9]*\) groups.*/\1 \2/p' "$out/report.txt")
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
printf '%s goroutines in %s groups: median of %d runs %s ms (%s)\n' "$goroutines" "$groups" \
	"$runs" "$median" "$(tail -1 "$out/report.txt")"
