# shellcheck shell=bash
#
# serve_lib.sh - helpers for the tests of `ringfence serve`. Sources
# reporter_lib.sh (and through it lib.sh).
#
#   serve_start [OPTIONS...]  start `ringfence serve --listen 127.0.0.1:0
#                             OPTIONS` (the prefix from RINGFENCE_SHM_PREFIX),
#                             wait for its line, set SERVE_PID and SERVE_URL
#                             (http://127.0.0.1:PORT/); stopped at exit
#   serve_get PATH FILE       GET SERVE_URL/PATH into FILE with curl (10 s at
#                             most); prints the HTTP status
#   serve_rss_kb              the server's resident memory now, and its peak
#                             (VmRSS VmHWM, in KiB)
#   prom_check FILE WHAT      promtool check metrics: no error, no lint message

# shellcheck source=reporter_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/reporter_lib.sh"

SERVE_PID=""
SERVE_URL=""

serve_start() {
	local out=$rf_tmpdir/serve.out

	: >"$out"
	"$RF" serve --listen 127.0.0.1:0 "$@" >"$out" 2>"$rf_tmpdir/serve.err" &
	SERVE_PID=$!
	rf_track "$SERVE_PID"
	rf_wait_until 10 "ringfence serve to listen" grep -q 'listening on http://' "$out"
	SERVE_URL=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$out" | head -n 1)
	[ -n "$SERVE_URL" ] || rf_fail "serve printed no URL: $(cat "$out")"
}

serve_get() {
	curl -s --max-time 10 -o "$2" -w '%{http_code}' "$SERVE_URL$1"
}

serve_rss_kb() {
	awk '/^VmRSS:/ { rss = $2 } /^VmHWM:/ { hwm = $2 } END { print rss, hwm }' \
		"/proc/$SERVE_PID/status"
}

prom_check() {
	local rc=0

	command -v promtool >/dev/null || rf_fail "promtool not found (Debian: apt-get install prometheus)"
	promtool check metrics <"$1" >"$rf_tmpdir/promtool.out" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ] || [ -s "$rf_tmpdir/promtool.out" ]; then
		head -n 20 "$rf_tmpdir/promtool.out" >&2
		rf_fail "$2: promtool check metrics (exit $rc) has something to say"
	fi
}
