#!/usr/bin/env bash
# The shim's own instructions, counted by callgrind (repeatable whatever the
# machine's load): the same program run with librdkafka configured as the
# shim configures it (refs: message.copy.max.bytes 0) and under the shim,
# the difference divided by what the program did. Each side also runs with
# a tenth of the work, and only the difference between the two runs counts,
# so that start-up and exit (loading, the first publication) fall out.
# librdkafka's own count moves from run to run with how its batches fall (a
# few hundred instructions a message either way), so each figure is the
# median of ROUNDS such measurements, printed with their range.
#   per message  rf-producer, one thread, produce then poll(0), COUNT messages
#                of 100 bytes with F_COPY (target: at most 150); once with
#                librdkafka's queue as it comes (up to 100,000 messages: the
#                producer runs tens of thousands ahead of the acknowledgements,
#                more in the longer run, so the longer run's extra messages
#                are mostly first allocations, which no cache serves), once
#                with at most INFLIGHT messages queued on both sides
#                (queue.buffering.max.messages: a full batch by default), so
#                that both runs reach the same depth and the difference is the
#                steady state
#   per poll     rf-poll-bench, rd_kafka_poll(rk, 0) with nothing to serve
#                (target: at most 20)
#
#   test-apps/bench/budget_instructions.sh [BUILD_DIR] [COUNT] [ENTRY] [PAYLOAD] [SIZE] [ROUNDS] [INFLIGHT]
set -euo pipefail
build=${1:-build}
count=${2:-100000}
entry=${3:-produce}
payload=${4:-copy}
size=${5:-100}
rounds=${6:-5}
inflight=${7:-10000}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$build" && pwd)
RF_BUILD_ROOT=$build
# shellcheck source=../e2e/lib.sh
source "$root/test-apps/e2e/lib.sh"

command -v valgrind >/dev/null || { echo "valgrind is needed (Debian: valgrind)" >&2; exit 1; }
rf_broker_start --brokers 1 --lifetime 0
shim=$build/shim/libringfence.so
prefix=rf-bench-instr-$$
rf_cleanup_add "rm -f /dev/shm/$prefix.*"

# instructions CMD...: the instructions callgrind counted in every thread of
# CMD. valgrind hands the environment (LD_PRELOAD included) to CMD; its fair
# scheduler hands the CPU round the threads as the kernel would, rather than
# letting one run until it blocks.
instructions() {
	valgrind --tool=callgrind --fair-sched=yes --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
		sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

# side refs|shim N: instructions of rf-producer producing N messages (with
# the producer arguments in queue[@])
queue=()
producer() {
	local side=$1 n=$2 cmd=("$build/test-apps/rf-producer" --bootstrap "$RF_BOOTSTRAP"
		--count "$2" --size "$size" --payload "$payload" --entry "$entry"
		--topic "instr-$1-$RANDOM" "${queue[@]}")
	if [ "$side" = refs ]; then
		instructions "${cmd[@]}" -X message.copy.max.bytes=0
	else
		LD_PRELOAD=$shim RINGFENCE_BUDGET=4G RINGFENCE_SHM_PREFIX=$prefix instructions "${cmd[@]}"
	fi
}
# side refs|shim N: instructions of rf-poll-bench polling N times
poller() {
	if [ "$1" = refs ]; then
		instructions "$build/test-apps/rf-poll-bench" "$RF_BOOTSTRAP" "$2"
	else
		LD_PRELOAD=$shim RINGFENCE_SHM_PREFIX=$prefix \
			instructions "$build/test-apps/rf-poll-bench" "$RF_BOOTSTRAP" "$2"
	fi
}
# own FN N: the shim's own instructions per unit of work over N units, once
own() {
	local fn=$1 n=$2 small=$(($2 / 10)) r1 r0 s1 s0
	r1=$($fn refs "$n") r0=$($fn refs "$small")
	s1=$($fn shim "$n") s0=$($fn shim "$small")
	awk -v r1="$r1" -v r0="$r0" -v s1="$s1" -v s0="$s0" -v n=$((n - small)) \
		'BEGIN {printf "%.0f %.0f %.0f\n", ((s1 - s0) - (r1 - r0)) / n, (r1 - r0) / n, (s1 - s0) / n}'
}
# median FN N: own FN N, ROUNDS times; the median of the shim's own count
# (with that round's refs and shim counts) and the range of the rounds
median() {
	local i
	for ((i = 0; i < rounds; i++)); do own "$@"; done | sort -n | awk -v k=$(((rounds + 1) / 2)) '
		NR == 1 { lo = $1 } { hi = $1 } NR == k { m = $1; r = $2; s = $3 }
		END { printf "%d (refs %d, shim %d; %d rounds from %d to %d)", m, r, s, NR, lo, hi }'
}

echo "per message ($entry, $payload, $size B, poll(0) after each): shim's own $(median producer "$count")" \
	"instructions (target: at most 150)"
queue=(-X "queue.buffering.max.messages=$inflight")
echo "the same, at most $inflight messages queued: shim's own $(median producer "$count")" \
	"instructions (target: at most 150)"
echo "per rd_kafka_poll with nothing to serve: shim's own $(median poller $((count * 10)))" \
	"instructions (target: at most 20)"
