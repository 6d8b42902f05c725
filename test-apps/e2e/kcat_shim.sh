#!/usr/bin/env bash
# kcat, unmodified, produces 1,000 lines under the shim: all delivered (read
# back and compared), the segment's produce counters equal what was sent, `ls`
# shows the process exited and `gc` removes its segment. Run twice: preloaded
# by hand, and through `ringfence run`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RF=$RF_BUILD_ROOT/reporter/ringfence
SHIM=$RF_BUILD_ROOT/shim/libringfence.so
PREFIX=rf-e2e-kcat-$$
rf_gc_at_exit "$PREFIX"

rf_broker_start --brokers 3

seq -f 'line-%06g' 1 1000 >"$rf_tmpdir/in"
expected_bytes=$(($(wc -c <"$rf_tmpdir/in") - 1000)) # payloads exclude the newlines

check_run() { # how topic pid
	local how=$1 topic=$2 pid=$3
	kcat -C -b "$RF_BOOTSTRAP" -t "$topic" -e -o beginning -q >"$rf_tmpdir/out-$topic"
	sort "$rf_tmpdir/out-$topic" | cmp -s - "$rf_tmpdir/in" ||
		rf_fail "$how: what the broker holds differs from what kcat sent ($(wc -l <"$rf_tmpdir/out-$topic") lines read back)"

	"$RF" stat --prefix "$PREFIX" --json "$pid" >"$rf_tmpdir/stat-$topic.json" ||
		rf_fail "$how: ringfence stat $pid exited $?"
	python3 - "$rf_tmpdir/stat-$topic.json" "$pid" "$expected_bytes" "$how" <<'PY'
import json, sys
path, pid, expected_bytes, how = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
s = json.load(open(path))
c = s["counters"]
entries = ("produce", "producev", "produceva", "produce_batch")
msgs = sum(c[f"{e}_msgs"] for e in entries)
nbytes = sum(c[f"{e}_bytes"] for e in entries)
failed = sum(c[f"{e}_failed"] for e in entries)
errors = []
if s["pid"] != pid: errors.append(f"pid {s['pid']} != {pid}")
if msgs != 1000: errors.append(f"messages {msgs} != 1000")
if nbytes != expected_bytes: errors.append(f"bytes {nbytes} != {expected_bytes}")
if failed != 0: errors.append(f"failed {failed} != 0")
if s["state"] != "exited": errors.append(f"state {s['state']} != exited")
if s["exit_status"] != 0: errors.append(f"exit_status {s['exit_status']} != 0")
# kcat ends through exit(): the shim published that, and nobody wrote over it.
if s["exit_recorded_by"] != "process": errors.append(f"exit_recorded_by {s['exit_recorded_by']} != process")
if "kcat" not in s["command"]: errors.append(f"command {s['command']!r} lacks kcat")
if errors:
    sys.exit(f"FAIL: {how}: " + "; ".join(errors))
PY

	"$RF" ls --prefix "$PREFIX" >"$rf_tmpdir/ls-$topic"
	grep -E "^ *$pid +exited" "$rf_tmpdir/ls-$topic" >/dev/null ||
		rf_fail "$how: ringfence ls does not show $pid exited: $(cat "$rf_tmpdir/ls-$topic")"

	"$RF" gc --prefix "$PREFIX" >/dev/null || rf_fail "$how: gc exited $?"
	[ ! -e "/dev/shm/$PREFIX.$pid" ] || rf_fail "$how: gc left /dev/shm/$PREFIX.$pid"
	"$RF" stat --prefix "$PREFIX" "$pid" >/dev/null 2>&1 && rf_fail "$how: stat of a collected segment succeeded"
	return 0
}

# Preloaded by hand.
RINGFENCE_SHM_PREFIX=$PREFIX LD_PRELOAD=$SHIM \
	kcat -P -b "$RF_BOOTSTRAP" -t e2e-kcat-preload <"$rf_tmpdir/in" &
pid=$!
wait $pid || rf_fail "kcat under LD_PRELOAD exited $?"
check_run "LD_PRELOAD" e2e-kcat-preload $pid

# Through the launcher, which stays kcat's parent: kcat's segment is the only
# one left under the prefix.
"$RF" run --prefix "$PREFIX" -- kcat -P -b "$RF_BOOTSTRAP" -t e2e-kcat-run <"$rf_tmpdir/in" &
launcher=$!
wait $launcher || rf_fail "ringfence run kcat exited $?"
pid=$("$RF" ls --prefix "$PREFIX" --json | python3 -c 'import json, sys; print(*[s["pid"] for s in json.load(sys.stdin)])')
[[ $pid =~ ^[0-9]+$ && $pid != "$launcher" ]] ||
	rf_fail "ringfence run: expected one segment, of a child of the launcher ($launcher), found: $pid"
check_run "ringfence run" e2e-kcat-run "$pid"

# With --exec kcat replaces the launcher: same pid.
"$RF" run --exec --prefix "$PREFIX" -- kcat -P -b "$RF_BOOTSTRAP" -t e2e-kcat-exec <"$rf_tmpdir/in" &
pid=$!
wait $pid || rf_fail "ringfence run --exec kcat exited $?"
check_run "ringfence run --exec" e2e-kcat-exec $pid

rf_broker_stop
echo "ok: kcat 1000 lines under the shim, by hand and through ringfence run (parent and --exec)"
