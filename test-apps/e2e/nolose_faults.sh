#!/usr/bin/env bash
# No message lost while the broker is slow, down and back up, with every
# client at once: rf-producer (C), rf-producer-cpp (block, and drop-oldest),
# rf_producer.py, kcat and rdkafka_example (fed slowly, so that it is still
# producing when the broker goes away), each its own process with its own
# 256 KiB budget, 3,000 messages of 1,000 bytes each, all producing when the
# 3-broker cluster goes:
#   round trip 50 ms -> 500 ms (slow) -> all brokers down for 3 s -> up ->
#   50 ms again.
# librdkafka retries what was in flight, and with the default
# message.timeout.ms (5 minutes) nothing may fail under block: every message
# is delivered exactly once as the application sees it. rf_verify.py (with
# faults=1) proves produced == delivered + failed reports, the distinct
# messages on the broker are exactly the delivered ones (checksum), and the
# segment's counts; drop-oldest's purges must all be among the failed
# reports and never on the broker. A batch the broker stored but could not
# answer before it went down is stored again when librdkafka resends it: the
# mock keeps both copies (librdkafka 2.0.2, with or without the shim, even
# with enable.idempotence), so duplicates of delivered messages are reported
# (broker_duplicates=N) but not failed.
set -euo pipefail
source "$(dirname "$0")/nolose_lib.sh"

command -v kcat >/dev/null || rf_fail "kcat is required (Debian package kcat)"
example=$NL_APPS/rdkafka_example
[[ -x $example ]] || example=
rf_broker_start --brokers 3 --rtt 50

with_tty() { # see nolose_example.sh
	exec "$NL_PYTHON" -c 'import os, pty, sys
m, s = pty.openpty()
os.set_inheritable(m, True)
os.dup2(s, 1)
os.close(s)
os.execvp(sys.argv[1], sys.argv[1:])' "$@"
}

gen=(threads=1 count=3000 size=1000 faults=1)
declare -A pids=()

name=fault-c-block
nl_start "$name" block -- "$NL_APPS/rf-producer" --bootstrap "$RF_BOOTSTRAP" --topic "$name" \
	--entry produce --payload copy --count 3000 --size 1000
pids[$name]=$NL_PID
nl_case "$name" block client=rf-producer "topic=$name" "out=$rf_tmpdir/$name.out" "${gen[@]}" \
	entry=produce dr_failed_max=0

# drop-oldest never makes a producer wait long: paced at 600 messages a
# second so that it is still producing when the broker goes down.
name=fault-cpp-drop-oldest
nl_start "$name" drop-oldest -- "$NL_APPS/rf-producer-cpp" --bootstrap "$RF_BOOTSTRAP" \
	--topic "$name" --entry produce --payload free --count 3000 --size 1000 --rate 600 \
	--dr-log "$rf_tmpdir/$name.drlog"
pids[$name]=$NL_PID
nl_case "$name" drop-oldest client=rf-producer "topic=$name" "out=$rf_tmpdir/$name.out" \
	"${gen[@]}" entry=produce "dr_log=$rf_tmpdir/$name.drlog"

name=fault-cpp-block
nl_start "$name" block -- "$NL_APPS/rf-producer-cpp" --bootstrap "$RF_BOOTSTRAP" \
	--topic "$name" --entry producev --payload none --count 3000 --size 1000
pids[$name]=$NL_PID
nl_case "$name" block client=rf-producer "topic=$name" "out=$rf_tmpdir/$name.out" \
	"${gen[@]}" entry=producev dr_failed_max=0

name=fault-py-block
nl_start "$name" block -- "$NL_PYTHON" "$NL_PY/rf_producer.py" --bootstrap "$RF_BOOTSTRAP" \
	--topic "$name" --count 3000 --size 1000
pids[$name]=$NL_PID
nl_case "$name" block client=rf-producer "topic=$name" "out=$rf_tmpdir/$name.out" \
	"${gen[@]}" entry=producev dr_failed_max=0

name=fault-kcat-block
nl_lines "$rf_tmpdir/kcat.lines" 3000 1000 1100
# -E: kcat must not give up when all brokers are down.
NL_STDIN=$rf_tmpdir/kcat.lines nl_start "$name" block -- kcat -P -E -b "$RF_BOOTSTRAP" -t "$name"
pids[$name]=$NL_PID
nl_case "$name" block client=kcat "topic=$name" "input=$rf_tmpdir/kcat.lines" \
	"log=$rf_tmpdir/$name.err" entry=producev faults=1 dr_failed_max=0

if [[ -n $example ]]; then
	name=fault-example-block
	nl_lines "$rf_tmpdir/example.lines" 3000 1000
	mkfifo "$rf_tmpdir/example.fifo"
	# 50 lines every 100 ms: about 6 s of input.
	awk '{ print; fflush() } NR % 50 == 0 { system("sleep 0.1") }' "$rf_tmpdir/example.lines" \
		>"$rf_tmpdir/example.fifo" &
	feeder=$!
	rf_track "$feeder"
	NL_STDIN=$rf_tmpdir/example.fifo NL_WRAP=with_tty nl_start "$name" block -- \
		"$example" -P -b "$RF_BOOTSTRAP" -t "$name"
	pids[$name]=$NL_PID
	nl_case "$name" block client=rdkafka_example "topic=$name" \
		"input=$rf_tmpdir/example.lines" "log=$rf_tmpdir/$name.err" entry=produce faults=1 \
		bound=0 dr_failed_max=0
fi

t0=$EPOCHREALTIME
sleep 0.3
rf_broker_cmd "rtt all 500"
echo "slow at $(rf_elapsed "$t0")s"
sleep 1.5
rf_broker_cmd "down all"
echo "down at $(rf_elapsed "$t0")s"
# Everybody must still be producing (or, for rdkafka_example, reading input) now.
for name in "${!pids[@]}"; do
	rf__pid_alive "${pids[$name]}" || { rf_run_dump "$name"; rf_fail "$name finished before the broker went down: too few messages for this timeline"; }
done
sleep 3
rf_broker_cmd "up all"
echo "up at $(rf_elapsed "$t0")s"
sleep 0.5
rf_broker_cmd "rtt all 50"

for name in "${!pids[@]}"; do
	ok=0
	[[ $name == fault-kcat-* ]] && ok="0 1" # 1 after a failed delivery, which the verifier reports
	nl_wait "$name" "${pids[$name]}" "$ok"
done
if [[ -n ${feeder:-} ]]; then
	wait "$feeder" || rf_fail "the feeder of rdkafka_example exited $?"
	rf_untrack "$feeder"
fi

nl_verify
rf_broker_stop
echo "ok: every client, broker slow, down and up: every message accounted for exactly once"
