#!/usr/bin/env bash
# What ended processes leave in /dev/shm is bounded: a new segment removes
# the oldest segments of ended processes beyond RINGFENCE_DEAD_MAX, never
# one of a live process, never a file that is not a segment of ours.
set -euo pipefail
source "$(dirname "$0")/safety_lib.sh"

count() {
	find /dev/shm -maxdepth 1 -name "$RINGFENCE_SHM_PREFIX.*" | wc -l
}

# A live process, and a file named like a segment that is not one.
LD_PRELOAD=$SHIM sleep 30 &
live=$!
rf_cleanup_add "kill $live"
echo "not a segment" >"/dev/shm/$RINGFENCE_SHM_PREFIX.999999"
sleep 0.3

for i in $(seq 60); do
	RINGFENCE_DEAD_MAX=20 LD_PRELOAD=$SHIM /bin/true || rf_fail "run $i"
done
n=$(count)
[ "$n" -le 22 ] || rf_fail "$n segments left with RINGFENCE_DEAD_MAX=20"
[ -e "/dev/shm/$RINGFENCE_SHM_PREFIX.$live" ] || rf_fail "the live process's segment was removed"
[ -e "/dev/shm/$RINGFENCE_SHM_PREFIX.999999" ] || rf_fail "a file that is not a segment was removed"
"$RF" ls >"$rf_tmpdir/ls" || true
grep -q "^ *$live  *alive" "$rf_tmpdir/ls" || rf_fail "the live process is not listed alive: $(cat "$rf_tmpdir/ls")"
echo "ok: 60 exits left $n segments with RINGFENCE_DEAD_MAX=20; the live one and the foreign file stay"

# The most recent ones stay: the last run is still there.
LD_PRELOAD=$SHIM RINGFENCE_DEAD_MAX=20 /bin/true &
last=$!
wait "$last"
[ -e "/dev/shm/$RINGFENCE_SHM_PREFIX.$last" ] || rf_fail "the newest segment was removed"
echo "ok: the newest segment stays"

# 0: no bound.
for i in $(seq 30); do
	RINGFENCE_DEAD_MAX=0 LD_PRELOAD=$SHIM /bin/true || rf_fail "run $i"
done
n2=$(count)
[ "$n2" -ge $((n + 30)) ] || rf_fail "RINGFENCE_DEAD_MAX=0 removed segments: $n2 after $n + 30"
echo "ok: RINGFENCE_DEAD_MAX=0 removes nothing"
