#!/usr/bin/env bash
# No message lost, C producer (rf-producer): every policy (block, fail,
# drop-oldest, observe) times every entry point (rd_kafka_produce, producev,
# produceva, produce_batch), payload ownership rotating over copy (F_COPY),
# free (F_FREE) and none (no flag) so that each policy and each entry point
# meets each ownership. 256 KiB budget, 2,000 messages of 1,000 bytes, broker
# round trip 50 ms: the budget binds in every run.
#
# For each run rf_verify.py proves: produced == delivered + failed reports
# (counts and checksums), the broker holds exactly the delivered messages
# (high-water marks, consumed checksum, no duplicate), the segment counted
# the same accepted messages and refusals, nothing stayed charged at exit,
# budget_bytes_peak <= budget, and the policy's trace: block waited (and,
# with a dedicated polling thread, refused nothing; otherwise every refusal
# is a self-deadlock refusal), fail refused, drop-oldest purged exactly the
# messages reported __PURGE_QUEUE (none of which reached the broker),
# observe went over without refusing anything.
set -euo pipefail
source "$(dirname "$0")/nolose_lib.sh"

rf_broker_start --brokers 1 --rtt 50

policies=(block fail drop-oldest observe)
entries=(produce producev produceva batch)
payloads=(copy free none)

for pi in "${!policies[@]}"; do
	policy=${policies[pi]}
	for ei in "${!entries[@]}"; do
		entry=${entries[ei]}
		payload=${payloads[(pi + ei) % 3]}
		name=c-$policy-$entry-$payload
		args=(--entry "$entry" --payload "$payload" --size 1000)
		keys=(client=rf-producer "topic=$name" "out=$rf_tmpdir/$name.out" size=1000 "entry=$entry")
		# Two producing threads on one handle for producev, one elsewhere
		# (several handles: nolose_handles.sh).
		if [[ $entry == producev ]]; then
			args+=(--threads 2 --count 1000 --headers)
			keys+=(threads=2 count=1000)
		else
			args+=(--count 2000)
			keys+=(threads=1 count=2000)
		fi
		# Under block, half the runs serve delivery reports from a thread of
		# their own: block then waits and never refuses.
		if [[ $policy == block ]] && ((ei % 2 == 0)); then
			args+=(--poll-thread)
			keys+=(poll_thread=1)
			name+=-pollthread
			keys[1]=topic=$name
			keys[2]=out=$rf_tmpdir/$name.out
		fi
		nl_run "$name" "$policy" "${keys[@]}" -- \
			"$NL_APPS/rf-producer" --bootstrap "$RF_BOOTSTRAP" --topic "$name" "${args[@]}"
	done
done

nl_verify
rf_broker_stop
echo "ok: rf-producer, 4 policies x 4 entry points, every message accounted for exactly once"
