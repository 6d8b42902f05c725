#!/usr/bin/env bash
# Another allocator preloaded before or after the shim (docs/heap.md):
# Debian's jemalloc and tcmalloc-minimal, in both orders, under a
# multi-threaded program (malloc, calloc, realloc, posix_memalign,
# malloc_usable_size) and a librdkafka producer against the embedded broker
# whose payloads the shim would copy into its ring. After the shim: heap
# accounted on top of that allocator. Before: the shim says so once, passes
# every call through, copies nothing into the ring; nothing crashes and
# every message is delivered. Then /usr/bin/python3, whose malloc and free
# the dynamic linker finds first in the executable itself (see below).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RF=$RF_BUILD_ROOT/reporter/ringfence
SHIM=$RF_BUILD_ROOT/shim/libringfence.so
APP=$RF_BUILD_ROOT/test-apps/rf-heap-app
PRODUCER=$RF_BUILD_ROOT/test-apps/rf-producer
export RINGFENCE_SHM_PREFIX=rf-e2e-heap-alloc-$$
rf_cleanup_add "rm -f /dev/shm/$RINGFENCE_SHM_PREFIX.*"

libs=()
for lib in /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4; do
	[ -e "$lib" ] && libs+=("$lib")
done
[ ${#libs[@]} -gt 0 ] || { echo "SKIP: neither libjemalloc2 nor libtcmalloc-minimal4 is installed"; exit 77; }

rf_broker_start --brokers 1

interposed_of() { # the last segment's heap_interposed
	local pid
	pid=$(find /dev/shm -maxdepth 1 -name "$RINGFENCE_SHM_PREFIX.*" -printf '%T@ %f\n' | LC_ALL=C sort -rn |
		sed -n "s/^[0-9.]* $RINGFENCE_SHM_PREFIX\.\([0-9]*\)\$/\1/p" | head -1)
	"$RF" stat --json "$pid" | python3 -c 'import json,sys; c=json.load(sys.stdin)["counters"]; print(c["heap_interposed"], c["heap_allocs"])'
}

for lib in "${libs[@]}"; do
	name=$(basename "$lib")
	for order in after before; do
		if [ $order = after ]; then pre="$SHIM $lib"; else pre="$lib $SHIM"; fi
		rm -f /dev/shm/$RINGFENCE_SHM_PREFIX.*
		timeout 60 env LD_PRELOAD="$pre" "$APP" churn --threads 4 --count 200000 \
			>"$rf_tmpdir/churn.out" 2>"$rf_tmpdir/churn.err" ||
			rf_fail "churn with $name $order the shim exited $?: $(cat "$rf_tmpdir/churn.err")"
		read -r interposed allocs <<<"$(interposed_of)"
		if [ $order = after ]; then
			{ [ "$interposed" = 1 ] && [ "$allocs" -ge 800000 ]; } ||
				rf_fail "$name after the shim: interposed $interposed, allocs $allocs"
		else
			[ "$interposed" = 0 ] || rf_fail "$name before the shim: heap_interposed $interposed"
			grep -q "come before the shim's" "$rf_tmpdir/churn.err" ||
				rf_fail "$name before the shim: no message"
		fi
		timeout 60 env LD_PRELOAD="$pre" "$PRODUCER" --bootstrap "$RF_BOOTSTRAP" --count 3000 \
			--threads 2 --payload free >"$rf_tmpdir/prod.out" 2>"$rf_tmpdir/prod.err" ||
			rf_fail "producer with $name $order the shim exited $?: $(tail -3 "$rf_tmpdir/prod.err")"
		python3 -c '
import json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[-1])
assert r["produced"] == 6000 and r["delivered"] == 6000 and r["dr_failed"] == 0, r' "$rf_tmpdir/prod.out" ||
			rf_fail "producer with $name $order the shim lost messages: $(cat "$rf_tmpdir/prod.out")"
		echo "ok: $name $order the shim: churn and producer complete (heap_interposed $interposed)"
	done
done

# An executable with canonical PLT entries for malloc and free: Debian's
# python3.11 is not PIE and takes their addresses, so looking malloc up finds
# the executable's stub, which jumps to the first definition after it. That
# is the shim's, unless an allocator is preloaded before the shim.
py='blocks = [bytearray(4096) for _ in range(3000)]'
rm -f /dev/shm/$RINGFENCE_SHM_PREFIX.*
timeout 60 env LD_PRELOAD="$SHIM" /usr/bin/python3 -c "$py" 2>"$rf_tmpdir/py.err" ||
	rf_fail "python3 under the shim exited $?: $(cat "$rf_tmpdir/py.err")"
read -r interposed allocs <<<"$(interposed_of)"
{ [ "$interposed" = 1 ] && [ "$allocs" -ge 3000 ]; } ||
	rf_fail "python3 under the shim: heap_interposed $interposed, allocs $allocs"
! grep -q "come before the shim's" "$rf_tmpdir/py.err" ||
	rf_fail "python3 under the shim: $(cat "$rf_tmpdir/py.err")"
rm -f /dev/shm/$RINGFENCE_SHM_PREFIX.*
timeout 60 env LD_PRELOAD="${libs[0]} $SHIM" /usr/bin/python3 -c "$py" 2>"$rf_tmpdir/py.err" ||
	rf_fail "python3 with $(basename "${libs[0]}") before the shim exited $?"
read -r interposed allocs <<<"$(interposed_of)"
{ [ "$interposed" = 0 ] && grep -q "come before the shim's" "$rf_tmpdir/py.err"; } ||
	rf_fail "python3 with $(basename "${libs[0]}") before the shim: heap_interposed $interposed"
echo "ok: python3 (canonical PLT entries for malloc and free): the shim's are in effect," \
	"an allocator preloaded before it still comes first"
rf_broker_stop
echo "PASS: heap-allocators"
