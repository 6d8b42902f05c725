#!/usr/bin/env bash
# A produce call with RD_KAFKA_MSG_F_BLOCK cancelled while librdkafka blocks
# in it (queue.buffering.max.messages reached, and the report that would
# make room never served) gives back what the budget charged it: with a
# 1 MiB budget and policy fail, the cancelled call asked for 600,000 bytes,
# and a 700,000-byte message on another handle is admitted afterwards. The
# budget then holds only what delivered messages leave (reports nobody
# serves), nothing at all unless a message of the batch was taken before
# the wait; an F_FREE payload the call never took stays the application's
# (it frees it: a double free would abort). Every entry point, every payload
# ownership.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RF=$RF_BUILD_ROOT/reporter/ringfence
APP=$RF_BUILD_ROOT/test-apps/rf-budget-app
SHIM=$RF_BUILD_ROOT/shim/libringfence.so
PREFIX=rf-e2e-cancel-block-$$
rf_gc_at_exit "$PREFIX"

rf_broker_start --brokers 1

# check NAME PID ENTRY PAYLOAD: the figures as the test expects them; 1 with
# the reason in $rf_tmpdir/why otherwise.
check() {
	"$RF" stat --prefix "$PREFIX" --json "$2" >"$rf_tmpdir/stat.json" 2>"$rf_tmpdir/why" ||
		return 1
	python3 - "$rf_tmpdir/$1.out" "$rf_tmpdir/stat.json" "$1" "$3" "$4" \
		>"$rf_tmpdir/why" <<'PY'
import json, sys
out, stat, name, entry, payload = sys.argv[1:6]
ready = next(json.loads(line) for line in open(out) if '"ready"' in line)
stat = json.load(open(stat))
c = stat["counters"]
blocked = [h for h in stat["handles"] if h["client_id"] == "rf-blocked"]
# The batch's first message was taken before the wait; copied, it stays
# charged until its report is served, which never happens.
kept = entry == "batch" and payload != "none"
why = []
if not ready["ready"] or not ready["cancelled"]:
    why.append(f"the blocking call was not cancelled inside librdkafka: {ready}")
else:
    if ready["later"] != "admitted" or ready["later_delivered"] != 1:
        why.append(f"the later message: {ready['later']}, {ready['later_delivered']} delivered")
    if c["budget_bytes"] != c["budget_acked_unfreed_bytes"]:
        why.append(f"budget_bytes {c['budget_bytes']}, of which delivered and unserved "
                   f"{c['budget_acked_unfreed_bytes']}: the cancelled call is still charged")
    elif (c["budget_bytes"] > 0) != kept:
        why.append(f"budget_bytes {c['budget_bytes']}, expected "
                   + ("the taken message's charge" if kept else "0"))
    if len(blocked) != 1 or blocked[0]["bytes_held"] != blocked[0]["acked_unfreed_bytes"]:
        why.append(f"the blocked handle: {blocked}")
    if c["shim_errors"] != 0:
        why.append(f"shim_errors {c['shim_errors']}")
if why:
    print(f"{name}: " + "; ".join(why))
    sys.exit(1)
print(f"ok: {name}: cancelled while blocked, a 700,000-byte message {ready['later']} "
      f"later; the budget holds {c['budget_bytes']} bytes")
PY
}

for run in produce:copy produce:free produce:none producev:free produceva:copy \
	batch:copy batch:free batch:none; do
	entry=${run%:*} payload=${run#*:} name=${run/:/-}
	fifo=$rf_tmpdir/$name.go
	mkfifo "$fifo"
	# Read-write: the open never blocks, and the app sees no end of file early.
	exec {go}<>"$fifo"
	RINGFENCE_SHM_PREFIX=$PREFIX RINGFENCE_PUBLISH_INTERVAL=50ms RINGFENCE_BUDGET=1M \
		RINGFENCE_POLICY=fail LD_PRELOAD=$SHIM \
		"$APP" block --entry "$entry" --payload "$payload" --bootstrap "$RF_BOOTSTRAP" \
		<"$fifo" >"$rf_tmpdir/$name.out" 2>"$rf_tmpdir/$name.err" &
	pid=$!
	rf_track "$pid"
	rf_wait_until 60 "$name: rf-budget-app ready" grep -q '"ready"' "$rf_tmpdir/$name.out"
	deadline=$((SECONDS + 10))
	until check "$name" "$pid" "$entry" "$payload"; do
		((SECONDS < deadline)) || rf_fail "$(cat "$rf_tmpdir/why")"
		sleep 0.1
	done
	cat "$rf_tmpdir/why"
	echo go >&"$go"
	rf_run_wait "$name" "$pid" 30
	exec {go}>&-
done
rf_broker_stop
echo "PASS: budget-cancel-block"
