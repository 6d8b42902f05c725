#!/usr/bin/env bash
# The seeds' own goroutine leaks, read from outside by `ringfence goroutines`
# and judged by `ringfence check`, with no shim and no code change.
#
# Seed 001: bug() fills a buffered channel with 100 tasks and starts 100
# consumers ranging over it, and never closes it: one leak group created at
# the go statement in bug(), growing by 100 a call, all in chan receive at
# the range; the fixed version (the channel closed) creates the same
# goroutines and has none. Three calls and then quiet: exactly 300, no
# growth, stuck only by the group limit. Seed 002: each batch starts 8
# workers and a collector from runBatch; the workers wait forever on a
# channel never closed (+8 a batch, start main.worker through the go
# statement's wrapper), the collector ends; the same as a cgo PIE.
set -euo pipefail
source "$(dirname "$0")/goroutines_lib.sh"

CONSUMERS=$(gr_program consumers)
PRIMES=$(gr_program primes)
PRIMES_CGO_PIE=$(gr_program primes-cgo-pie)
C_GO=$(gr_line "$GO_SRC/consumers/main.go" "go func() { consume(taskChan) }()")
C_RANGE=$(gr_line "$GO_SRC/consumers/main.go" "for task := range taskChan")
P_GO=$(gr_line "$GO_SRC/primes/main.go" "go worker(ch, results, &wg)")
P_RANGE=$(gr_line "$GO_SRC/primes/main.go" "for num := range ch")

# GOGC=5: frequent collections, which set the waiting goroutines' waitsince.
gr_start consumers env GOGC=5 "$CONSUMERS" -every 200ms
pid=$GR_PID
sleep 1
gr_run consumers goroutines --json --age 500ms "$pid"
gr_status consumers 0
gr_assert leak consumers --function main.bug --line "$C_GO" --start main.bug.func1 \
	--step 100 --reason "chan receive" --blocked-function main.consume --blocked-line "$C_RANGE"
gr_run consumers-text goroutines --interval 500 --age 200ms "$pid"
gr_status consumers-text 0
first=$(grep -m1 "^#" "$rf_tmpdir/consumers-text.out")
if ! grep -q "^LEAK GROUPS (1)$" "$rf_tmpdir/consumers-text.out" ||
	[[ ! $first =~ ^#1\ \ [0-9]+\ goroutines\ stuck ]] ||
	! grep -q "created at main.bug  .*consumers/main.go:$C_GO$" "$rf_tmpdir/consumers-text.out"; then
	rf_fail "consumers: the text report does not open with the leak group: $(cat "$rf_tmpdir/consumers-text.out")"
fi
gr_run consumers-check check --age 500ms "$pid"
gr_status consumers-check 1
grep -q "^FAIL: pid $pid: [0-9]* goroutines leaked (max 0)$" "$rf_tmpdir/consumers-check.out" ||
	rf_fail "consumers: check says no FAIL line: $(cat "$rf_tmpdir/consumers-check.out")"
grep -q "OTHER GROUPS" "$rf_tmpdir/consumers-check.out" &&
	rf_fail "consumers: check lists more than the leak groups"
gr_stop "$pid"
echo "ok: seed 001: one stuck group at main.bug:$C_GO, +100 a call, in chan receive; check fails"

gr_start consumers-fixed env GOGC=5 "$CONSUMERS" -fixed -every 200ms
pid=$GR_PID
sleep 1
gr_run consumers-fixed goroutines --json --age 500ms "$pid"
gr_status consumers-fixed 0
gr_assert noleak consumers-fixed --start main.bugfix.func1 --max-count 100
gr_run consumers-fixed-check check --age 500ms "$pid"
gr_status consumers-fixed-check 0
grep -q "^ok: pid $pid goroutines (go[0-9.]*): 0 leaked (max 0) of [0-9]* in [0-9]* groups$" \
	"$rf_tmpdir/consumers-fixed-check.out" ||
	rf_fail "consumers -fixed: no ok line: $(cat "$rf_tmpdir/consumers-fixed-check.out")"
gr_stop "$pid"
echo "ok: seed 001 fixed: the same goroutines, no leak; check passes"

# Three calls, then quiet: no growth; 300 > 256 makes them stuck, 1000 does not. Their time
# blocked comes from seeing the same goroutines at the same place in both samples.
gr_start consumers-3 "$CONSUMERS" -calls 3 -every 100ms
pid=$GR_PID
sleep 1
gr_run consumers-3 goroutines --json --interval 700 --age 300ms --group 256 "$pid"
gr_assert exact consumers-3 --function main.bug --line "$C_GO" --start main.bug.func1 \
	--count 300 --growth 0 --cls stuck --reason "chan receive"
gr_run consumers-3-big goroutines --json --interval 700 --age 300ms --group 1000 "$pid"
gr_assert exact consumers-3-big --function main.bug --line "$C_GO" --start main.bug.func1 \
	--count 300 --growth 0 --cls running
gr_run consumers-3-check check --interval 700 --age 300ms --group 1000 "$pid"
gr_status consumers-3-check 0
gr_stop "$pid"
echo "ok: seed 001, 3 calls: exactly 300, stuck over --group 256, running under --group 1000"

primes_leak() { # NAME BINARY
	gr_start "$1" env GOGC=5 "$2" -every 300ms
	local pid=$GR_PID
	sleep 1
	gr_run "$1" goroutines --json --age 500ms "$pid"
	gr_status "$1" 0
	gr_assert leak "$1" --function main.runBatch --line "$P_GO" --start main.worker --step 8 \
		--reason "chan receive" --blocked-function main.worker --blocked-line "$P_RANGE" \
		--absent-start main.collector
	gr_run "$1-ignored" check --interval 300 --age 100ms --ignore 'x,main.work*' --json "$pid"
	gr_status "$1-ignored" 0
	gr_assert expect "$1-ignored" 'leaks() == [] and r["leaked"] == 0' \
		'r["rules"]["ignore"] == ["x", "main.work*"]'
	gr_stop "$pid"
	echo "ok: seed 002 ($1): one stuck group runBatch:$P_GO start main.worker, +8 a batch; collector not a leak; ignored by --ignore"
}
primes_leak primes "$PRIMES"
# Captured whole: a grep -q that stops reading early fails the pipe (pipefail).
[[ $(readelf -h "$PRIMES_CGO_PIE") == *"DYN (Position-Independent Executable file)"* ]] ||
	rf_fail "$PRIMES_CGO_PIE is not a PIE"
[[ $(ldd "$PRIMES_CGO_PIE") == *"libc.so.6 => /"* ]] || rf_fail "$PRIMES_CGO_PIE does not use cgo"
primes_leak primes-cgo-pie "$PRIMES_CGO_PIE"

gr_start primes-4 "$PRIMES" -batches 4 -every 50ms
pid=$GR_PID
sleep 1
gr_run primes-4 goroutines --json --interval 300 --age 10s "$pid"
gr_assert exact primes-4 --function main.runBatch --line "$P_GO" --start main.worker \
	--count 32 --growth 0 --cls running --reason "chan receive" --absent-start main.collector
gr_stop "$pid"
echo "ok: seed 002, 4 batches: exactly 32 workers, no collector left, not stuck before the age"
echo "PASS: goroutines-seeds"
