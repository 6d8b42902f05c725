#!/usr/bin/env bash
# No message lost, kcat (unmodified, Debian's): every policy, 2,000 lines
# alternating 1,000 bytes (kcat passes F_COPY below 1,024 bytes) and 1,100
# bytes (no flag: kcat keeps the buffer until the delivery report). kcat
# calls rd_kafka_producev and retries a full queue after rd_kafka_poll, so
# every line is produced; a failed delivery is printed ("Delivery failed for
# message") and makes kcat exit 1. rf_verify.py proves: the broker holds only
# lines that were fed, none twice, and held + failed reports == lines fed;
# drop-oldest's purges are exactly the failed reports (all "Purged in
# queue"); the segment counted every line on producev and shows the policy's
# trace (see nolose_c.sh).
set -euo pipefail
source "$(dirname "$0")/nolose_lib.sh"

command -v kcat >/dev/null || rf_fail "kcat is required (Debian package kcat)"
rf_broker_start --brokers 1 --rtt 50

nl_lines "$rf_tmpdir/lines" 2000 1000 1100
for policy in block fail drop-oldest observe; do
	name=kcat-$policy
	ok=0
	[[ $policy == drop-oldest ]] && ok=1 # kcat exits 1 after failed deliveries
	NL_OK=$ok NL_STDIN=$rf_tmpdir/lines nl_run "$name" "$policy" client=kcat "topic=$name" \
		"input=$rf_tmpdir/lines" "log=$rf_tmpdir/$name.err" entry=producev -- \
		kcat -P -b "$RF_BOOTSTRAP" -t "$name"
done

nl_verify
rf_broker_stop
echo "ok: kcat, 4 policies, every line accounted for exactly once"
