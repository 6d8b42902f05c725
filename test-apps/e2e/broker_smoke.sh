#!/usr/bin/env bash
#
# broker_smoke.sh - rf-mock-broker end to end, without the shim: data
# produced with kcat must come back exactly, before and after every broker
# has been taken down and brought back up, and the broker must stop cleanly.
# Every other e2e test builds on this, so it checks the real data.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly topic=smoke
readonly msg_cnt=200
# Bounds on each kcat run; the mock cluster answers in milliseconds.
readonly kcat_timeout_s=30
readonly kcat_msg_timeout_ms=10000

command -v kcat >/dev/null || rf_fail "kcat is not installed"

# smoke_lines ROUND: msg_cnt lines distinct within and across rounds.
smoke_lines() {
	local round="$1" i

	for ((i = 1; i <= msg_cnt; i++)); do
		printf 'smoke round %d message %03d of %d\n' "$round" "$i" "$msg_cnt"
	done
}

smoke_produce() {
	local file="$1" status=0

	timeout "$kcat_timeout_s" kcat -P -b "$RF_BOOTSTRAP" -t "$topic" \
		-X message.timeout.ms="$kcat_msg_timeout_ms" <"$file" ||
		status=$?
	if ((status != 0)); then
		rf_fail "kcat -P of $file to topic $topic exited with status $status"
	fi
}

# smoke_consume_check EXPECTED_FILE WHAT: read the whole topic and compare it,
# order ignored (4 partitions), line for line with EXPECTED_FILE.
smoke_consume_check() {
	local expected="$1" what="$2" status=0
	local got="$rf_tmpdir/got.$what"

	timeout "$kcat_timeout_s" kcat -C -b "$RF_BOOTSTRAP" -t "$topic" \
		-e -o beginning -q >"$got" || status=$?
	if ((status != 0)); then
		rf_fail "$what: kcat -C of topic $topic exited with status $status"
	fi
	sort "$got" >"$got.sorted"
	sort "$expected" >"$expected.sorted"
	if ! cmp -s "$expected.sorted" "$got.sorted"; then
		diff "$expected.sorted" "$got.sorted" | head -n 20 >&2 || true
		rf_fail "$what: topic $topic holds $(wc -l <"$got") message(s), expected exactly the $(wc -l <"$expected") produced (diff above)"
	fi
	echo "ok: $what: $(wc -l <"$got") messages read back exactly"
}

# smoke_ports_check up|down: every listener accepts, or refuses, connections.
smoke_ports_check() {
	local want="$1" addr host port

	for addr in ${RF_BOOTSTRAP//,/ }; do
		host="${addr%:*}"
		port="${addr##*:}"
		# shellcheck disable=SC2016 # expanded by the inner bash
		if timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$host" "$port" \
			2>/dev/null; then
			[[ "$want" == up ]] ||
				rf_fail "broker at $addr still accepts connections after 'down all'"
		else
			[[ "$want" == down ]] ||
				rf_fail "broker at $addr refuses connections after 'up all'"
		fi
	done
	echo "ok: all listeners $want"
}

rf_broker_start --brokers 3
echo "ok: rf-mock-broker listening on $RF_BOOTSTRAP"
n_brokers=$(tr ',' '\n' <<<"$RF_BOOTSTRAP" | wc -l)
rf_assert_eq 3 "$n_brokers" "brokers in the bootstrap string"

smoke_lines 1 >"$rf_tmpdir/round1"
smoke_produce "$rf_tmpdir/round1"
smoke_consume_check "$rf_tmpdir/round1" round1

rf_broker_cmd "down all"
smoke_ports_check down
# Down must be real at the Kafka level too: kcat gives up once it finds every
# broker down, well before its message timeout.
if printf 'lost\n' | timeout "$kcat_timeout_s" kcat -P -b "$RF_BOOTSTRAP" \
	-t "$topic" -X message.timeout.ms=3000 2>/dev/null; then
	rf_fail "kcat -P succeeded while all brokers were down"
fi
echo "ok: producing fails while all brokers are down"

rf_broker_cmd "up all"
smoke_ports_check up

smoke_lines 2 >"$rf_tmpdir/round2"
smoke_produce "$rf_tmpdir/round2"
cat "$rf_tmpdir/round1" "$rf_tmpdir/round2" >"$rf_tmpdir/all"
smoke_consume_check "$rf_tmpdir/all" round2

stop_start=${EPOCHREALTIME//[!0-9]/}
rf_broker_stop
stop_ms=$(((10#${EPOCHREALTIME//[!0-9]/} - 10#$stop_start) / 1000))
echo "ok: rf-mock-broker exited 0, ${stop_ms} ms after SIGTERM"

if grep -q 'error:' "$RF_BROKER_STDERR"; then
	cat "$RF_BROKER_STDERR" >&2
	rf_fail "rf-mock-broker reported errors"
fi
echo "PASS: broker-smoke"
