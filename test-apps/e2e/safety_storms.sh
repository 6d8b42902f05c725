#!/usr/bin/env bash
# What busy programs do, plain and under the shim alike: threads that fork,
# vfork and posix_spawn at once; 100,000 threads ended every way (joined,
# detached, pthread_exit, cancelled); a signal handler that allocates;
# librdkafka loaded late with dlopen(RTLD_LOCAL) and used.
set -euo pipefail
source "$(dirname "$0")/safety_lib.sh"

sf_same "fork, vfork and posix_spawn from 4 threads" 120 "$SAFETY_APP" spawn-storm
sf_same "100,000 threads ended every way" 240 "$SAFETY_APP" churn 100000
sf_same "a signal handler that allocates" 60 "$SAFETY_APP" signal-alloc
PART=$RF_BUILD_ROOT/test-apps/librf-late-kafka-part.so
sf_same "librdkafka loaded late" 60 "$SAFETY_APP" late-kafka "$PART"
LD_PRELOAD=$SHIM "$SAFETY_APP" late-kafka "$PART" >/dev/null &
pid=$!
wait "$pid"
"$RF" stat --json "$pid" >"$rf_tmpdir/late.json"
python3 - "$rf_tmpdir/late.json" <<'PY' || rf_fail "the late librdkafka's produce calls did not reach the shim"
import json, sys
c = json.load(open(sys.argv[1]))["counters"]
assert c["produce_calls"] == 100 and c["budget_admitted"] == 100, c
PY
echo "ok: librdkafka loaded after the shim started: its 100 produce calls were charged"
