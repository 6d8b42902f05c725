#!/usr/bin/env bash
# The reporter's commands on forged segments (rp-test-forge): one whose every
# string is a terminal escape or a byte of no UTF-8 sequence and whose
# thread's state letter is ESC, beside a valid one. ls, stat and threads
# write no control character and only valid UTF-8; their JSON is ASCII and
# parses; `stat --prometheus` keeps label values clean and promtool finds
# neither a parse error nor a lint message (names, units, HELP) in it.
# Without promtool (Debian: prometheus) that one check is skipped with a
# message, and the test reports itself skipped; CI installs it.
set -euo pipefail
source "$(dirname "$0")/reporter_lib.sh"

rep_setup hostile
hostile=$REP_NO_PID
valid=$((REP_NO_PID + 1))

"$FORGE" "$PREFIX" "$hostile" hostile
"$FORGE" "$PREFIX" "$valid" valid

# terminal_safe FILE WHAT: valid UTF-8, no control character but newline (C0, DEL, C1).
terminal_safe() {
	python3 - "$1" "$2" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
try:
    text = data.decode("utf-8")
except UnicodeDecodeError as e:
    sys.exit(f"FAIL: {sys.argv[2]}: not UTF-8 at byte {e.start}: {data[e.start:e.start + 16]!r}")
bad = [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) <= 0x9f]
if bad:
    sys.exit(f"FAIL: {sys.argv[2]}: control characters {bad[:8]!r}")
if not text:
    sys.exit(f"FAIL: {sys.argv[2]}: no output")
PY
}

# json_ascii FILE WHAT: pure ASCII, and JSON.
json_ascii() {
	python3 - "$1" "$2" <<'PY'
import json, sys
data = open(sys.argv[1], "rb").read()
if any(b > 0x7e or (b < 0x20 and b != 0x0a) for b in data):
    sys.exit(f"FAIL: {sys.argv[2]}: not printable ASCII")
json.loads(data)
PY
}

out=$rf_tmpdir
"$RF" ls >"$out/ls" 2>&1
terminal_safe "$out/ls" "ls"
"$RF" stat "$hostile" >"$out/stat" 2>&1
terminal_safe "$out/stat" "stat"
"$RF" threads "$hostile" >"$out/threads" 2>&1
terminal_safe "$out/threads" "threads"
grep -qF 'state [\x1b (unknown) in \x1b]0;owned\x07' "$out/threads" ||
	rf_fail "threads: the state letter ESC is not shown as \\x1b: $(grep state "$out/threads")"
rc=0
"$RF" check --max-leaked 0 "$hostile" >"$out/check" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || rf_fail "check exited $rc, expected 1 (a leaked thread)"
terminal_safe "$out/check" "check"
echo "ok: ls, stat, threads and check write no control character and only UTF-8"

"$RF" ls --json >"$out/ls.json"
json_ascii "$out/ls.json" "ls --json"
"$RF" stat --json "$hostile" "$valid" >"$out/stat.json"
json_ascii "$out/stat.json" "stat --json"
"$RF" threads --json "$hostile" >"$out/threads.json"
json_ascii "$out/threads.json" "threads --json"
echo "ok: ls, stat and threads --json are ASCII JSON"

"$RF" stat --prometheus >"$out/prom"
terminal_safe "$out/prom" "stat --prometheus"
grep -qF 'client_id="\\x1b]0;owned\\x07\\x1b[2J\\x0d\\x7f\\xc2\\x9b\\xe9"' "$out/prom" ||
	rf_fail "stat --prometheus: client_id not as the text shows it: $(grep -m1 client_id "$out/prom")"
if ! command -v promtool >/dev/null; then
	echo "SKIP: promtool not found (Debian: apt-get install prometheus): the exposition was not checked by it"
	exit 77
fi
rc=0
promtool check metrics <"$out/prom" >"$out/promtool" 2>&1 || rc=$?
if [ "$rc" -ne 0 ] || [ -s "$out/promtool" ]; then
	cat "$out/promtool" >&2
	rf_fail "promtool check metrics (exit $rc) has something to say about stat --prometheus"
fi
echo "ok: promtool check metrics passes stat --prometheus without a lint message"
echo "PASS: reporter-hostile"
