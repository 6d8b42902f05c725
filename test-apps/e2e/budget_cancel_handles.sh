#!/usr/bin/env bash
# A thread cancelled inside rd_kafka_new or rd_kafka_destroy (librdkafka
# waits for its own threads there: cancellation points) gives back the slot
# the shim keeps for the handle. After 70 such cancellations (there are 63
# slots), a new producer handle is still tracked: listed open, its messages
# charged to it. After cancelled destroys, the messages those handles still
# held are credited as librdkafka's teardown releases them: the budget holds
# nothing but the new handle's messages.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RF=$RF_BUILD_ROOT/reporter/ringfence
APP=$RF_BUILD_ROOT/test-apps/rf-budget-app
SHIM=$RF_BUILD_ROOT/shim/libringfence.so
PREFIX=rf-e2e-cancel-handles-$$
TIMES=70
rf_gc_at_exit "$PREFIX"

rf_broker_start --brokers 1

# check MODE PID: the process's figures as the test expects them; 1 with the
# reason in $rf_tmpdir/why otherwise.
check() {
	"$RF" stat --prefix "$PREFIX" --json "$2" >"$rf_tmpdir/stat.json" 2>"$rf_tmpdir/why" ||
		return 1
	python3 - "$1" "$TIMES" "$rf_tmpdir/$1.out" "$rf_tmpdir/stat.json" >"$rf_tmpdir/why" <<'PY'
import json, sys
mode, times, out, stat = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ready = next(json.loads(line) for line in open(out) if '"ready"' in line)
stat = json.load(open(stat))
c = stat["counters"]
after = [h for h in stat["handles"] if h["client_id"] == "rf-after"]
why = []
if ready["cancelled"] != times:
    why.append(f"cancelled inside rd_kafka_{mode} {ready['cancelled']} times in "
               f"{ready['attempts']} attempts, expected {times}")
if ready["produced"] != 20:
    why.append(f"rf-after produced {ready['produced']} of 20")
if not after:
    why.append(f"the handle made after them is not listed ({len(stat['handles'])} listed): "
               "no slot was left for it")
elif after[0]["state"] != "open" or after[0]["bytes_held"] == 0:
    why.append(f"rf-after is {after[0]['state']}, holding {after[0]['bytes_held']} bytes")
elif c["budget_bytes"] != after[0]["bytes_held"]:
    why.append(f"budget_bytes {c['budget_bytes']}, rf-after holds {after[0]['bytes_held']}: "
               "the cancelled handles' messages are still charged")
if c["shim_errors"] != 0:
    why.append(f"shim_errors {c['shim_errors']}")
if why:
    print(f"{mode}: " + "; ".join(why))
    sys.exit(1)
listed = {}
for h in stat["handles"]:
    listed[h["state"]] = listed.get(h["state"], 0) + 1
print(f"ok: {times} threads cancelled inside rd_kafka_{mode}, then rf-after holds "
      f"{after[0]['bytes_held']} bytes, all the budget holds; handles listed: {listed}")
PY
}

for mode in new destroy; do
	fifo=$rf_tmpdir/$mode.go
	mkfifo "$fifo"
	# Read-write: the open never blocks, and the app sees no end of file early.
	exec {go}<>"$fifo"
	RINGFENCE_SHM_PREFIX=$PREFIX RINGFENCE_PUBLISH_INTERVAL=50ms LD_PRELOAD=$SHIM \
		"$APP" "$mode" --times "$TIMES" --bootstrap "$RF_BOOTSTRAP" <"$fifo" \
		>"$rf_tmpdir/$mode.out" 2>"$rf_tmpdir/$mode.err" &
	pid=$!
	rf_track "$pid"
	rf_wait_until 90 "$mode: rf-budget-app ready" grep -q '"ready"' "$rf_tmpdir/$mode.out"
	deadline=$((SECONDS + 20))
	until check "$mode" "$pid"; do
		((SECONDS < deadline)) || rf_fail "$(cat "$rf_tmpdir/why")"
		sleep 0.1
	done
	cat "$rf_tmpdir/why"
	echo go >&"$go"
	rf_run_wait "$mode" "$pid" 60
	exec {go}>&-
done
rf_broker_stop
echo "PASS: budget-cancel-handles"
