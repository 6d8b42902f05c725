#!/usr/bin/env bash
# serve_scrape.sh RINGFENCE FORGE [SEGMENTS [SCRAPES]] - `ringfence serve` over
# SEGMENTS (1000) forged segments of a producer (rp-test-forge typical: a
# handle, three thread groups, eight threads, two leak groups: the process is
# gone), scraped SCRAPES (20) times one after the other with curl, each past
# the second in which scrapes share a reading, then 4 at once; prints each
# scrape's time, the median and the slowest, the size of the exposition and
# the server's resident memory (now and its peak). Exits 1 when a scrape
# takes over 200 ms or the peak passes 20 MiB (the targets of docs/fleet.md).
#
#   meson compile -C build bench-serve
#   test-apps/bench/serve_scrape.sh build/reporter/ringfence build/reporter/rp-test-forge 1000 20
set -euo pipefail

rf=$1 forge=$2 segments=${3:-1000} scrapes=${4:-20}
prefix=rf-bench-serve-$$
out=$(mktemp)
server=
trap 'if [ -n "$server" ]; then kill "$server"; wait "$server" || true; fi; rm -f /dev/shm/"$prefix".* "$out"' EXIT

"$forge" "$prefix" 4194305 typical "$segments"
"$rf" serve --prefix "$prefix" --listen 127.0.0.1:0 >"$out" &
server=$!
for _ in $(seq 100); do
	grep -q 'listening on' "$out" && break
	sleep 0.05
done
url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$out" | head -n 1)
[ -n "$url" ] || { echo "serve did not start" >&2; exit 1; }

times=()
for i in $(seq "$scrapes"); do
	sleep 1.05 # a new reading each time
	read -r code t size < <(curl -s -o /dev/null -w '%{http_code} %{time_total} %{size_download}\n' "${url}metrics")
	[ "$code" = 200 ] || { echo "scrape $i: HTTP $code" >&2; exit 1; }
	times+=("$t")
	awk -v i="$i" -v t="$t" -v n="$size" 'BEGIN { printf "scrape %2d: %.1f ms, %d bytes\n", i, t * 1000, n }'
done
sleep 1.05
parallel=()
for _ in 1 2 3 4; do
	curl -s -o /dev/null -w '%{time_total}\n' "${url}metrics" >"$out.p$_" &
	parallel+=($!)
done
wait "${parallel[@]}"
read -r rss hwm < <(awk '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } END { print r, h }' "/proc/$server/status")
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
median=$(sed -n "$(((scrapes + 1) / 2))p" <<<"$sorted")
slowest=$(tail -n 1 <<<"$sorted")
four=$(cat "$out".p* | sort -n | tail -n 1)
rm -f "$out".p*
awk -v n="$segments" -v k="$scrapes" -v m="$median" -v s="$slowest" -v f="$four" 'BEGIN {
	printf "segments %d  scrapes %d  median %.1f ms  slowest %.1f ms  4 at once: slowest %.1f ms\n",
		n, k, m * 1000, s * 1000, f * 1000 }'
printf 'exposition %d bytes  serve RSS %d KiB  peak %d KiB\n' "$size" "$rss" "$hwm"
status=0
if awk -v s="$slowest" 'BEGIN { exit !(s > 0.2) }'; then
	echo "over target: a scrape took more than 200 ms" >&2
	status=1
fi
if [ "$hwm" -ge 20480 ]; then
	echo "over target: serve's peak resident memory is 20 MiB or more" >&2
	status=1
fi
exit $status
