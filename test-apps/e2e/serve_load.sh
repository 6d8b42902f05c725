#!/usr/bin/env bash
# `ringfence serve` under load, over 200 forged segments of a producer: 8
# concurrent scrapes all answered in full; a client that asks for /metrics
# and reads nothing, and a flood of 300 idle connections from another
# address (127.0.0.2), hold no one else up: scrapes from 127.0.0.1 are still
# answered meanwhile; a connection that never sends a request is closed by
# the server after its timeout (10 s); resident memory stays under 20 MiB
# throughout.
set -euo pipefail
source "$(dirname "$0")/serve_lib.sh"

rep_setup load
"$FORGE" "$PREFIX" "$REP_NO_PID" typical 200
serve_start --leak-groups 5

scrape_ok() { # scrape_ok FILE: a whole exposition of the 200 segments, within 5 s
	[ "$(curl -s --max-time 5 -o "$1" -w '%{http_code}' "${SERVE_URL}metrics")" = 200 ] &&
		grep -q '^ringfence_scrape_segments 200$' "$1"
}

pids=()
for i in 1 2 3 4 5 6 7 8; do
	scrape_ok "$rf_tmpdir/c$i" &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || rf_fail "one of 8 concurrent scrapes failed"
done
for i in 2 3 4 5 6 7 8; do
	cmp -s "$rf_tmpdir/c1" "$rf_tmpdir/c$i" || rf_fail "concurrent scrapes within a second differ"
done
echo "ok: 8 concurrent scrapes answered in full (one reading shared)"

# A slow reader, a flood from 127.0.0.2, and a connection that never asks.
python3 - "${SERVE_URL#http://}" "$rf_tmpdir/held" <<'PY' &
import socket, sys, time
host, port = sys.argv[1].rstrip("/").split(":")
port = int(port)
slow = socket.socket()
slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
slow.connect((host, port))
slow.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
flood = []
for _ in range(300):
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    try:
        s.connect((host, port))
    except OSError:
        pass
    flood.append(s)
silent = socket.socket()
silent.bind(("127.0.0.3", 0))
silent.connect((host, port))
open(sys.argv[2], "w").write("held\n")
silent.settimeout(20)
t0 = time.monotonic()
try:
    closed = silent.recv(1) == b""
except OSError:
    closed = True
print(f"silent connection closed by the server after {time.monotonic() - t0:.1f}s" if closed else "silent connection not closed")
time.sleep(0.5)
sys.exit(0 if closed and time.monotonic() - t0 < 16 else 1)
PY
holder=$!
rf_track "$holder"
rf_wait_until 10 "the connections to be held" test -s "$rf_tmpdir/held"
sleep 1.2 # past the shared reading: the next scrape takes a new one
for i in 1 2 3; do
	scrape_ok "$rf_tmpdir/during" || rf_fail "a scrape from 127.0.0.1 during the flood failed"
	sleep 0.5
done
read -r rss hwm < <(serve_rss_kb)
echo "ok: scrapes answered beside a slow reader and 300 idle connections (RSS ${rss} KiB, peak ${hwm} KiB)"
[ "$hwm" -lt 20480 ] || rf_fail "serve's peak resident memory is $hwm KiB, not under 20 MiB"
rf_run_wait holder "$holder" 30 0
cat "$rf_tmpdir/holder.out" 2>/dev/null || true
echo "ok: a connection that sends nothing is closed after the timeout"
scrape_ok "$rf_tmpdir/after" || rf_fail "a scrape after the flood failed"
read -r rss hwm < <(serve_rss_kb)
[ "$hwm" -lt 20480 ] || rf_fail "serve's peak resident memory is $hwm KiB, not under 20 MiB"
echo "ok: memory stayed under 20 MiB (peak ${hwm} KiB)"
echo "PASS: serve-load"
