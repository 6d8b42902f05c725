#!/usr/bin/env bash
# `ringfence serve` against a live process under the shim and forged
# segments of every kind: valid, hostile (terminal escapes, bytes of no UTF-8
# sequence), a typical producer's with leak groups, the same as an older and
# a newer writer of the same layout version wrote it (a rolling upgrade), and
# files that are no segment at all. /metrics passes promtool without a
# message, has every readable segment with its pid, comm and state, leaves
# out the counters an older writer lacks and ignores what a newer one adds,
# bounds the leak groups and counts what it left out, skips each bad file
# and counts it by reader error, keeps label values valid UTF-8 without
# control characters, has the families of `stat --prometheus` (each
# documented), and writes nothing; the landing page, 404 and 405 answer.
set -euo pipefail
source "$(dirname "$0")/serve_lib.sh"

rep_setup serve
shm=/dev/shm
valid=$REP_NO_PID
hostile=$((REP_NO_PID + 1))
typical=$((REP_NO_PID + 2))
older=$((REP_NO_PID + 3))
newer=$((REP_NO_PID + 4))
"$FORGE" "$PREFIX" "$valid" valid
"$FORGE" "$PREFIX" "$hostile" hostile
"$FORGE" "$PREFIX" "$typical" typical
"$FORGE" "$PREFIX" "$older" older
"$FORGE" "$PREFIX" "$newer" newer

# What cannot be read, one of each kind: a FIFO (not a regular file), an
# empty file (truncated), another layout version, a segment bigger than serve
# reads (4 MiB), a segment whose pid is not the one in its name.
mkfifo -m 600 "$shm/$PREFIX.$((REP_NO_PID + 10))"
: >"$shm/$PREFIX.$((REP_NO_PID + 11))"
cp "$shm/$PREFIX.$valid" "$shm/$PREFIX.$((REP_NO_PID + 12))"
printf '\x63\x00\x00\x00' | dd of="$shm/$PREFIX.$((REP_NO_PID + 12))" bs=1 seek=8 conv=notrunc status=none
"$FORGE" "$PREFIX" $((REP_NO_PID + 13)) valid
truncate -s 5M "$shm/$PREFIX.$((REP_NO_PID + 13))"
cp "$shm/$PREFIX.$valid" "$shm/$PREFIX.$((REP_NO_PID + 14))"

# A live process under the shim, its figures refreshed (a publisher thread).
LD_PRELOAD=$RF_BUILD_ROOT/shim/libringfence.so RINGFENCE_PUBLISH_THREAD=1 sleep 60 &
live=$!
rf_track "$live"
rf_wait_until 10 "the live process's segment" test -s "$shm/$PREFIX.$live"

# The regular files' contents (sha256sum would block on the FIFO), the live process's apart.
digests() {
	find "$shm" -maxdepth 1 -type f -name "$PREFIX.*" ! -name "$PREFIX.$live" -exec sha256sum {} + | sort
}
digests >"$rf_tmpdir/before"
serve_start --leak-groups 1
m=$rf_tmpdir/metrics
rf_assert_eq 200 "$(serve_get metrics "$m")" "GET /metrics"
prom_check "$m" "serve /metrics"
echo "ok: /metrics passes promtool check metrics without a message"

sample() { # sample FAMILY PID [MORE-LABELS-REGEX]: the value, or nothing
	grep -E "^ringfence_$1\{pid=\"$2\",comm=\"[^\"]*\"${3:-}\} " "$m" | awk '{ print $NF }'
}
rf_assert_eq 1 "$(sample up "$live")" "ringfence_up of the live process"
rf_assert_eq 1 "$(sample process_state "$live" ',state="alive"')" "the live process's state"
grep -q "^ringfence_up{pid=\"$live\",comm=\"sleep\"} 1\$" "$m" || rf_fail "comm of the live process is not sleep"
for pid in "$valid" "$hostile" "$typical" "$older" "$newer"; do
	rf_assert_eq 0 "$(sample up "$pid")" "ringfence_up of forged $pid"
	rf_assert_eq 1 "$(sample process_state "$pid" ',state="dead"')" "state of forged $pid"
done
echo "ok: every readable segment is there with its pid, comm and state"

skipped() { grep "^ringfence_scrape_skipped_segments{kind=\"$1\"} " "$m" | awk '{ print $NF }'; }
for kind in not-ringfence truncated version layout pid-mismatch; do
	rf_assert_eq 1 "$(skipped "$kind")" "segments skipped as $kind"
done
rf_assert_eq 0 "$(skipped permission)" "segments skipped as permission"
rf_assert_eq 6 "$(grep '^ringfence_scrape_segments ' "$m" | awk '{ print $2 }')" "segments exported"
for pid in $((REP_NO_PID + 10)) $((REP_NO_PID + 11)) $((REP_NO_PID + 12)) $((REP_NO_PID + 13)) $((REP_NO_PID + 14)); do
	! grep -q "pid=\"$pid\"" "$m" || rf_fail "the bad segment $pid has series"
done
echo "ok: each bad file is skipped and counted by its reader error"

# The rolling upgrade: an older writer's counters only, a newer writer's as the typical one's.
rf_assert_eq 150 "$(sample budget_admitted_total "$older")" "older writer: budget_admitted_total"
for family in budget_arena_resident_bytes heap_trim_max_seconds budget_waiting_longest_seconds; do
	[ -z "$(sample "$family" "$older")" ] || rf_fail "older writer: $family has a sample"
	[ -n "$(sample "$family" "$typical")" ] || rf_fail "typical writer: $family has no sample"
done
grep -E "pid=\"$typical\"" "$m" | sed "s/pid=\"$typical\"/pid=P/" | grep -v publish_time >"$rf_tmpdir/typical"
grep -E "pid=\"$newer\"" "$m" | sed "s/pid=\"$newer\"/pid=P/" | grep -v publish_time >"$rf_tmpdir/newer"
diff "$rf_tmpdir/typical" "$rf_tmpdir/newer" >&2 || rf_fail "a newer writer's segment is not exposed as the same figures"
rf_assert_eq 2.5 "$(sample budget_wait_seconds_total "$newer")" "newer writer: budget_wait_seconds_total"
echo "ok: an older writer's missing counters are absent, a newer writer's additions ignored"

# Leak groups: of the typical producer's three groups two are leaked (it is
# dead; librdkafka's broker threads are a library's), one exported.
rf_assert_eq 1 "$(grep -c "^ringfence_leak_group_threads{pid=\"$typical\"," "$m")" "leak groups exported"
rf_assert_eq 4 "$(sample leak_group_threads "$typical" ',group="0",verdict="leaked",start_routine="worker_main",thread_name="worker"')" "the largest leak group"
rf_assert_eq 1 "$(sample leak_groups_omitted "$typical")" "leak groups left out"
rf_assert_eq 5 "$(sample leaked_threads "$typical")" "leaked threads"
echo "ok: leak groups bounded to the largest, the others counted"

python3 - "$m" <<'PY' || rf_fail "label values are not valid UTF-8 without control characters"
import sys
text = open(sys.argv[1], "rb").read().decode("utf-8")
bad = [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) <= 0x9f]
sys.exit(f"control characters {bad[:8]!r}" if bad else 0)
PY
grep -qF "pid=\"$hostile\",comm=\"\\\\x1b]0;owned\\\\x07\\\\x1b[2J\\\\x0d\"" "$m" ||
	rf_fail "the hostile comm is not escaped: $(grep -m1 "pid=\"$hostile\"" "$m")"
grep -qF 'client_id="\\x1b]0;owned\\x07\\x1b[2J\\x0d\\x7f\\xc2\\x9b\\xe9"' "$m" ||
	rf_fail "the hostile client_id is not escaped"
echo "ok: label values of segment origin are valid UTF-8, control bytes escaped"

# The same families as stat --prometheus, and each documented.
"$RF" stat --prometheus >"$rf_tmpdir/stat.prom" 2>/dev/null
grep '^# TYPE ' "$rf_tmpdir/stat.prom" | sort >"$rf_tmpdir/stat.types"
grep '^# TYPE ' "$m" | grep -v '^# TYPE ringfence_scrape_' | sort >"$rf_tmpdir/serve.types"
diff "$rf_tmpdir/stat.types" "$rf_tmpdir/serve.types" >&2 || rf_fail "serve's families are not stat --prometheus's"
while read -r _ _ family _; do
	grep -qF "\`$family" "$RF_SOURCE_ROOT/docs/reporter.md" "$RF_SOURCE_ROOT/docs/fleet.md" ||
		rf_fail "$family is in neither docs/reporter.md nor docs/fleet.md"
done < <(grep '^# TYPE ' "$m")
echo "ok: the families of stat --prometheus, each documented"

rf_assert_eq 200 "$(serve_get "" "$rf_tmpdir/landing")" "GET /"
grep -q 'href="/metrics"' "$rf_tmpdir/landing" || rf_fail "the landing page has no link to /metrics"
grep -q '6 segments exported, 5 skipped' "$rf_tmpdir/landing" || rf_fail "the landing page does not say how the reading went"
rf_assert_eq 404 "$(serve_get nope "$rf_tmpdir/nope")" "GET /nope"
status=$(curl -s --max-time 10 -o /dev/null -D "$rf_tmpdir/post.h" -w '%{http_code}' -X POST --data x "${SERVE_URL}metrics")
rf_assert_eq 405 "$status" "POST /metrics"
grep -qi '^Allow: GET, HEAD' "$rf_tmpdir/post.h" || rf_fail "405 without Allow: GET, HEAD"
rf_assert_eq 200 "$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' -I "${SERVE_URL}metrics")" "HEAD /metrics"
echo "ok: landing page, 404, 405 with Allow, HEAD"

sleep 1.1 # past the reuse of a reading: a second one
rf_assert_eq 200 "$(serve_get metrics "$m")" "GET /metrics again"
digests >"$rf_tmpdir/after"
diff "$rf_tmpdir/before" "$rf_tmpdir/after" >&2 || rf_fail "a segment changed under serve"
! ls "$shm/$PREFIX".*.req >/dev/null 2>&1 || rf_fail "serve made a sample request"
echo "ok: serve wrote nothing"

kill -TERM "$SERVE_PID"
rf_run_wait serve "$SERVE_PID" 10 0
echo "ok: serve exits 0 on SIGTERM"
echo "PASS: serve-scrape"
