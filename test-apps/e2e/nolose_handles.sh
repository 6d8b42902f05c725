#!/usr/bin/env bash
# No message lost with several producer handles in one process: rf-producer
# with 2 handles and 2 producing threads (thread t on handle t % 2) shares
# ONE process-wide budget between the handles; every policy, entry point and
# payload ownership rotating. drop-oldest purges the handle holding the most,
# which must still show up as exactly the __PURGE_QUEUE reports of that run.
# Under block each handle's delivery reports are served by a polling thread
# of its own (a producing thread that polls its own handle and ends first
# leaves its reports unserved until main's flush: see nolose_stalls.sh).
# The same proofs as nolose_c.sh (see there and py/rf_verify.py).
set -euo pipefail
source "$(dirname "$0")/nolose_lib.sh"

rf_broker_start --brokers 1 --rtt 50

policies=(block fail drop-oldest observe)
entries=(produceva batch produce producev)
payloads=(free none copy copy)

for pi in "${!policies[@]}"; do
	policy=${policies[pi]}
	entry=${entries[pi]}
	payload=${payloads[pi]}
	name=handles-$policy-$entry-$payload
	args=(--entry "$entry" --payload "$payload" --threads 2 --handles 2 --count 1000 --size 1000)
	keys=(client=rf-producer "topic=$name" "out=$rf_tmpdir/$name.out" threads=2 count=1000
		size=1000 "entry=$entry")
	if [[ $policy == block ]]; then
		args+=(--poll-thread)
		keys+=(poll_thread=1)
	fi
	nl_run "$name" "$policy" "${keys[@]}" -- \
		"$NL_APPS/rf-producer" --bootstrap "$RF_BOOTSTRAP" --topic "$name" "${args[@]}"
done

nl_verify
rf_broker_stop
echo "ok: rf-producer with 2 handles, 4 policies, every message accounted for exactly once"
