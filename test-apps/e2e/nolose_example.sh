#!/usr/bin/env bash
# No message lost, rdkafka_example (librdkafka's example client, built from
# the source Debian ships in librdkafka-dev): every policy, 2,000 lines of
# 1,000 bytes on standard input (-P). Its standard output is a pseudo-terminal
# (it goes quiet when it is not, and then prints neither the outcome of each
# produce call nor the delivered payloads; it writes nothing else there in -P
# mode). It calls rd_kafka_produce with F_COPY
# and does NOT retry a refused message: it prints "Failed to produce ...:
# Local: Queue full" and goes on to the next line, then waits for delivery
# reports, printing each delivered payload and each failure.
#
# rf_verify.py matches the printed outcomes to the input line by line and
# proves: every line was accepted or its refusal printed; every accepted line
# got exactly one report; the broker holds exactly the lines reported
# delivered (none twice); the segment counted the same acceptances and
# refusals; drop-oldest's purges are exactly the failed reports; plus the
# policy's trace (see nolose_c.sh).
set -euo pipefail
source "$(dirname "$0")/nolose_lib.sh"

example=$NL_APPS/rdkafka_example
if [[ ! -x $example ]]; then
	echo "SKIP: $example was not built (no /usr/share/doc/librdkafka-dev/examples/rdkafka_example.c)"
	exit 77
fi
# with_tty CMD...: exec CMD (same pid) with standard output on a
# pseudo-terminal whose master end CMD inherits, so it stays open.
with_tty() {
	exec "$NL_PYTHON" -c 'import os, pty, sys
m, s = pty.openpty()
os.set_inheritable(m, True)
os.dup2(s, 1)
os.close(s)
os.execvp(sys.argv[1], sys.argv[1:])' "$@"
}

rf_broker_start --brokers 1 --rtt 50

nl_lines "$rf_tmpdir/lines" 2000 1000
for policy in block fail drop-oldest observe; do
	name=example-$policy
	NL_STDIN=$rf_tmpdir/lines NL_WRAP=with_tty nl_run "$name" "$policy" client=rdkafka_example \
		"topic=$name" "input=$rf_tmpdir/lines" "log=$rf_tmpdir/$name.err" entry=produce -- \
		"$example" -P -b "$RF_BOOTSTRAP" -t "$name"
done

nl_verify
rf_broker_stop
echo "ok: rdkafka_example, 4 policies, every line accounted for exactly once"
