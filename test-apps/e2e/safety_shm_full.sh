#!/usr/bin/env bash
# /dev/shm without room: tmpfs takes ftruncate without space and then kills
# a store into the mapping with SIGBUS. Under the shim a program must run as
# it runs plain: with no room at all no segment is made (one line on
# stderr); with room for the header only, the figures that fit are published
# and the rest is left out. Each case runs in a private mount namespace with
# a small tmpfs on /dev/shm.
set -euo pipefail
source "$(dirname "$0")/safety_lib.sh"

if ! sf_unshare_ok; then
	echo "SKIP: no private mount namespace for this user (unshare -m needs CAP_SYS_ADMIN)"
	exit 77
fi

SMALL_SHM=$(dirname "$0")/safety_small_shm.sh

# No room at all: the first pages cannot be allocated.
sf_same_wrapped "full /dev/shm: /bin/true" 30 "$SMALL_SHM" 64 64 /bin/true
sf_same_wrapped "full /dev/shm: echo" 30 "$SMALL_SHM" 64 64 /bin/echo hello
sf_same_wrapped "full /dev/shm: 2000 threads" 60 "$SMALL_SHM" 64 64 "$SAFETY_APP" churn 2000
grep -q '^ringfence: cannot create the shared-memory segment .* (/dev/shm is full)' \
	"$(sf_base "full /dev/shm: /bin/true").shim.stderr" ||
	rf_fail "no line saying /dev/shm is full: $(cat "$(sf_base "full /dev/shm: /bin/true").shim.stderr")"
[ "$(grep -c '^ringfence: ' "$(sf_base "full /dev/shm: /bin/true").shim.stderr")" = 1 ] ||
	rf_fail "more than one line from the shim"
echo "ok: one line names the full /dev/shm"

# Room for the header and the counters, not for the thread tables: the
# process runs on, the reader sees what fit and the shim's error count.
inside=$rf_tmpdir/inside.sh
cat >"$inside" <<'INSIDE'
set -euo pipefail
LD_PRELOAD=$SHIM RINGFENCE_PUBLISH_INTERVAL=20ms "$SAFETY_APP" threads 40 1 >"$TMP/app.out"
pid=$(find /dev/shm -maxdepth 1 -name "$RINGFENCE_SHM_PREFIX.*" -printf '%f\n' | sed 's/.*\.//')
"$RF" stat --json "$pid" >"$TMP/stat.json"
INSIDE
TMP=$rf_tmpdir SHIM=$SHIM SAFETY_APP=$SAFETY_APP RF=$RF \
	"$SMALL_SHM" 64 52 bash "$inside" 2>"$rf_tmpdir/inside.err" ||
	rf_fail "a threaded program with room for the header only: $(cat "$rf_tmpdir/inside.err")"
grep -q '^threads: 40 running' "$rf_tmpdir/app.out" || rf_fail "the program did not run"
python3 - "$rf_tmpdir/stat.json" <<'PY' || rf_fail "the segment that fit does not read as expected"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["state"] == "exited" and s["exit_status"] == 0, s["state"]
c = s["counters"]
assert c["threads_created"] >= 40, c["threads_created"]
assert c["shim_errors"] >= 1, c["shim_errors"]
PY
echo "ok: with room for the header only, the counters are published, the thread tables left out"
