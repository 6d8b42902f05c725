#!/usr/bin/env bash
# Heap accounting in real processes (docs/heap.md). rf-heap-app allocates
# known amounts and checks the shim's figures from its own segment: threads
# of one group, realloc growth and shrink, the memalign family, calloc
# overflow (NULL with ENOMEM), errno kept, a fork child's own figures, a
# signal handler that mallocs (exact counts, no deadlock), the thread cache
# (every size served, blocks given back when a thread ends, a double free
# aborts; RINGFENCE_HEAP_CACHE=0 turns it off). Then the reporter:
# heap figures in stat, --json and --prometheus, and the heap a group of
# leaked threads keeps alive in the thread report, text and JSON.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RF=$RF_BUILD_ROOT/reporter/ringfence
SHIM=$RF_BUILD_ROOT/shim/libringfence.so
APP=$RF_BUILD_ROOT/test-apps/rf-heap-app
export RINGFENCE_SHM_PREFIX=rf-e2e-heap-counts-$$
export RINGFENCE_PUBLISH_INTERVAL=10ms
# rf-heap-app reads its own figures as they are published, also in its
# single-threaded modes: the publisher thread from the start.
export RINGFENCE_PUBLISH_THREAD=1
rf_cleanup_add "rm -f /dev/shm/$RINGFENCE_SHM_PREFIX.*"

for mode in counts calls fork signal cache; do
	out=$(timeout 60 env LD_PRELOAD="$SHIM" "$APP" "$mode" 2>&1) || rf_fail "rf-heap-app $mode: $out"
	printf '%s\n' "$out"
done
n=$(grep -c 'free(): double free detected (block .*, freed before)' <<<"$out") || true
[ "$n" = 3 ] || rf_fail "the shim reported $n of the 3 double frees: $out"

# The thread cache turned off, and a value that is not accepted.
out=$(RINGFENCE_HEAP_CACHE=0 timeout 60 env LD_PRELOAD="$SHIM" "$APP" cache 2>&1) ||
	rf_fail "rf-heap-app cache with RINGFENCE_HEAP_CACHE=0: $out"
grep -q 'ok cache: off, nothing cached' <<<"$out" || rf_fail "cache not off: $out"
n=$(grep -c 'free(): double free detected (block .*, freed before)' <<<"$out") || true
[ "$n" = 3 ] || rf_fail "the shim reported $n of the 3 double frees with the cache off: $out"
printf '%s\n' "$out"
out=$(RINGFENCE_HEAP_CACHE=maybe LD_PRELOAD=$SHIM "$APP" churn --threads 1 --count 10 2>&1) ||
	rf_fail "rf-heap-app churn with RINGFENCE_HEAP_CACHE=maybe: $out"
grep -q 'RINGFENCE_HEAP_CACHE="maybe" is not accepted' <<<"$out" ||
	rf_fail "no message for RINGFENCE_HEAP_CACHE=maybe: $out"
echo "ok: RINGFENCE_HEAP_CACHE=0 turns the thread cache off; a bad value is named"

# Leaked threads keep their heap: 3 threads x 200 x 5000 bytes, alive at exit.
LD_PRELOAD=$SHIM "$APP" leak --threads 3 --count 200 --size 5000 --ms 300 >"$rf_tmpdir/leak.out" ||
	rf_fail "rf-heap-app leak exited $?"
# The newest segment (pids wrap around: the highest is not always the last).
pid=$(find /dev/shm -maxdepth 1 -name "$RINGFENCE_SHM_PREFIX.*" -printf '%T@ %f\n' | sort -n |
	sed -n "s/^[0-9.]* $RINGFENCE_SHM_PREFIX\.\([0-9]*\)\$/\1/p" | tail -1)
"$RF" threads --json "$pid" >"$rf_tmpdir/threads.json" || rf_fail "ringfence threads --json $pid"
python3 - "$rf_tmpdir/threads.json" <<'PY' || rf_fail "no leaked group holding 3,000,000 heap bytes"
import json, sys
r = json.load(open(sys.argv[1]))
assert any(g["leak"] and g["alive"] == 3 and g["heap_live_bytes"] == 3_000_000 for g in r["groups"]), r["groups"]
assert r["heap"]["live_bytes"] >= 3_000_000 and r["heap"]["unattributed_bytes"] < r["heap"]["live_bytes"], r["heap"]
PY
"$RF" threads "$pid" >"$rf_tmpdir/threads.txt" || true
grep -q 'heap 3000000 bytes live' "$rf_tmpdir/threads.txt" ||
	rf_fail "the thread report shows no heap for the group: $(head -30 "$rf_tmpdir/threads.txt")"
grep -q '^heap: ' "$rf_tmpdir/threads.txt" || rf_fail "the thread report has no heap line"
echo "ok: the leaked group's 3,000,000 heap bytes in the thread report (text and JSON)"

"$RF" stat "$pid" >"$rf_tmpdir/stat"
grep -Eq '^  heap_live_bytes +[0-9]+ ' "$rf_tmpdir/stat" || rf_fail "no heap_live_bytes in stat"
"$RF" stat --json "$pid" | python3 -c '
import json, sys
c = json.load(sys.stdin)["counters"]
assert c["heap_live_bytes"] >= 3_000_000 and c["heap_allocs"] >= 600 and c["heap_interposed"] == 1, c
assert c["heap_live_peak_bytes"] >= c["heap_live_bytes"], c' || rf_fail "heap figures in stat --json"
"$RF" stat --prometheus >"$rf_tmpdir/prom"
grep -Eq "^ringfence_heap_live_bytes\{pid=\"$pid\",comm=\"[^\"]*\"\} [0-9]+\$" "$rf_tmpdir/prom" ||
	rf_fail "no heap_live_bytes gauge in --prometheus"
grep -Eq "^ringfence_heap_allocs_total\{pid=\"$pid\",comm=\"[^\"]*\"\} [0-9]+\$" "$rf_tmpdir/prom" ||
	rf_fail "no heap_allocs counter in --prometheus"
echo "ok: heap figures in stat, --json and --prometheus"
echo "PASS: heap-counts"
