#!/usr/bin/env bash
# Tight limits, as plain: a program that has used up its address space
# (ulimit -v) and then creates a thread with little of its main stack left
# gets EAGAIN from pthread_create, plain and under the shim; the shim's
# creation-stack capture must not need stack the main thread cannot grow to.
# And a single-threaded program stays single-threaded under the shim, while
# a program with threads of its own gets the shim's publisher thread too.
set -euo pipefail
source "$(dirname "$0")/safety_lib.sh"

for headroom in 4096 8192 16384; do
	sf_same "address space used up, $headroom bytes of stack left" 60 \
		bash -c 'ulimit -v 200000 && exec "$@"' limit "$SAFETY_APP" exhaust "$headroom"
done

# threads_of PID: the kernel's count of the process's threads.
threads_of() {
	awk '/^Threads:/ { print $2 }' "/proc/$1/status"
}

LD_PRELOAD=$SHIM sleep 2 &
pid=$!
sleep 0.5
rf_assert_eq 1 "$(threads_of "$pid")" "threads of a single-threaded program under the shim"
wait "$pid"
echo "ok: a single-threaded program stays single-threaded"

LD_PRELOAD=$SHIM "$SAFETY_APP" threads 3 2 >/dev/null &
pid=$!
sleep 0.5
rf_assert_eq 5 "$(threads_of "$pid")" "threads of a program with 3 of its own (main, 3, the shim's)"
wait "$pid"
echo "ok: a program with threads of its own gets the publisher"

LD_PRELOAD=$SHIM RINGFENCE_PUBLISH_THREAD=1 sleep 2 &
pid=$!
sleep 0.5
rf_assert_eq 2 "$(threads_of "$pid")" "threads with RINGFENCE_PUBLISH_THREAD=1"
wait "$pid"
echo "ok: RINGFENCE_PUBLISH_THREAD=1 starts the publisher at once"
