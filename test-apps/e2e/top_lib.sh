# shellcheck shell=bash
#
# top_lib.sh - helpers for the tests of `ringfence top`: real processes under
# the shim, a real terminal (tmux on a private socket), and what the screen
# and `top --once` must show, computed from `stat --json` and `threads
# --json`. Sources lib.sh (nothing more when the test has sourced it).
#
#   top_setup NAME           a unique RINGFENCE_SHM_PREFIX in PREFIX, exported;
#                            its segments removed at exit
#   top_start NAME CMD...    CMD in the background: TOP_PID, tracked, output in
#                            $rf_tmpdir/NAME.{out,err}
#   top_fleet                start the processes below (needs a broker), each
#                            pid in its variable, and wait until every one has
#                            published and the producers have been refused or
#                            waited:
#     TOP_REFUSED   rf-producer, budget 64K, policy fail: refused about 100
#                   times a second (it polls 10 ms between tries)
#     TOP_WAITING   rf-producer, budget 64K, policy block, heap limit 512M: waits
#                   about 100 times a second (each wait refused at once: only
#                   its own poll could free the budget)
#     TOP_STUCK     rf-threads-app handler: 60 threads stuck (age 1s, group 10)
#     TOP_LEAKED    rf-threads-app handler that exited with 40 threads alive
#     TOP_DEAD      rf-producer killed with SIGKILL: dead
#   tmux_start NAME W H ARGS...  `ringfence top --prefix $PREFIX ARGS` in a new
#                            tmux session NAME of W x H; the files of the run
#                            are in $rf_tmpdir/NAME/: stty.before and
#                            stty.after (`stty -g` around top), status (its
#                            exit status, once it ended)
#   tm ARGS...               tmux on the test's own server
#   screen NAME              the screen of session NAME on stdout
#   screen_wait NAME SECONDS WHAT PYTHON   capture the screen into
#                            $rf_tmpdir/NAME.screen until PYTHON, an expression
#                            over `lines` (the screen's lines), holds
#   top_expect PIDS...       what top must show of each pid, from two `stat
#                            --json` 1.5 s apart (the rates) and `threads
#                            --json`, into $rf_tmpdir/expect.json
#   top_check FILE WHAT [ORDER]  the lines of FILE (a screen or --once output)
#                            checked against expect.json (top_check.py)

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RF=$RF_BUILD_ROOT/reporter/ringfence
PRODUCER=$RF_BUILD_ROOT/test-apps/rf-producer
THREADS_APP=$RF_BUILD_ROOT/test-apps/rf-threads-app
TOP_CHECK=$(dirname "${BASH_SOURCE[0]}")/top_check.py
TOP_SOCKET=rf-e2e-top-$$

command -v tmux >/dev/null || rf_fail "tmux (Debian's tmux) is needed: it is the terminal top runs in"

top_setup() {
	PREFIX=rf-e2e-$1-$$
	export RINGFENCE_SHM_PREFIX=$PREFIX
	rf_cleanup_add "rm -f /dev/shm/$PREFIX.*"
	rf_cleanup_add "tmux -L $TOP_SOCKET kill-server 2>/dev/null"
	printf '%s\n' 'set -g status off' 'set -g default-terminal screen' \
		'set -g escape-time 0' >"$rf_tmpdir/tmux.conf"
}

top_start() {
	local name=$1

	shift
	"$@" >"$rf_tmpdir/$name.out" 2>"$rf_tmpdir/$name.err" &
	TOP_PID=$!
	rf_track "$TOP_PID"
}

# The segment of pid has been published (stat reads it).
top__published() {
	"$RF" stat --json "$1" >/dev/null 2>&1
}

# A counter of pid, from stat --json.
top_counter() {
	"$RF" stat --json "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["counters"][sys.argv[1]])' "$2"
}

top__counter_above() {
	(($(top_counter "$1" "$2") > $3))
}

top_fleet() {
	local producer=("$PRODUCER" --bootstrap "$RF_BOOTSTRAP" --count 1000000 --size 1000)

	top_start refused "$RF" run --exec --budget 64K --policy fail -- "${producer[@]}" --topic t-refused
	TOP_REFUSED=$TOP_PID
	RINGFENCE_HEAP_LIMIT=512M top_start waiting "$RF" run --exec --budget 64K --policy block -- \
		"${producer[@]}" --topic t-waiting
	TOP_WAITING=$TOP_PID
	RINGFENCE_THREAD_AGE=1s RINGFENCE_THREAD_GROUP=10 top_start stuck "$RF" run --exec -- \
		"$THREADS_APP" handler --calls 3 --interval-ms 50 --linger-ms 300000
	TOP_STUCK=$TOP_PID
	top_start leaked "$RF" run --exec -- "$THREADS_APP" handler --calls 2 --interval-ms 10 \
		--linger-ms 0
	TOP_LEAKED=$TOP_PID
	top_start dead "$RF" run --exec --budget 64K --policy fail -- "${producer[@]}" --topic t-dead
	TOP_DEAD=$TOP_PID
	rf_run_wait leaked "$TOP_LEAKED" 30
	rf_wait_until 20 "the producer to be refused budget" \
		top__counter_above "$TOP_DEAD" budget_rejected 10
	kill -KILL "$TOP_DEAD"
	wait "$TOP_DEAD" 2>/dev/null || true
	rf_untrack "$TOP_DEAD"
	rf_wait_until 20 "the producer with policy fail to be refused budget" \
		top__counter_above "$TOP_REFUSED" budget_rejected 10
	rf_wait_until 20 "the producer with policy block to wait for budget" \
		top__counter_above "$TOP_WAITING" budget_waits 10
	rf_wait_until 20 "rf-threads-app to publish" top__published "$TOP_STUCK"
	# Its threads are stuck once older than RINGFENCE_THREAD_AGE.
	sleep 1.2
}

tm() {
	tmux -L "$TOP_SOCKET" -f "$rf_tmpdir/tmux.conf" "$@"
}

tmux_start() {
	local name=$1 w=$2 h=$3 dir=$rf_tmpdir/$1

	shift 3
	mkdir -p "$dir"
	# The pane's shell keeps a trap on SIGINT (a handler, reset in top by
	# exec), so that Ctrl-C ends top and not the shell that records how.
	cat >"$dir/pane.sh" <<'EOF'
dir=$1
shift
trap : INT
stty -g >"$dir/stty.before"
"$@"
echo $? >"$dir/status.tmp"
stty -g >"$dir/stty.after"
mv "$dir/status.tmp" "$dir/status"
echo "top ended"
exec sleep 600
EOF
	tm new-session -d -s "$name" -x "$w" -y "$h" \
		"bash $(printf '%q ' "$dir/pane.sh" "$dir" "$RF" top --prefix "$PREFIX" "$@")"
}

screen() {
	tm capture-pane -p -t "$1"
}

# screen_wait NAME SECONDS WHAT PYTHON
screen_wait() {
	local name=$1 timeout_s=$2 what=$3 cond=$4 deadline

	deadline=$((SECONDS + timeout_s))
	until top__screen_holds "$name" "$cond"; do
		if ((SECONDS >= deadline)); then
			printf -- '--- the screen of %s ---\n' "$name" >&2
			cat "$rf_tmpdir/$name.screen" >&2
			rf_fail "timed out after ${timeout_s}s waiting for $what"
		fi
		sleep 0.1
	done
}

top__screen_holds() {
	screen "$1" >"$rf_tmpdir/$1.screen"
	python3 -c 'import sys; lines = open(sys.argv[1]).read().split("\n")[:-1]; sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' \
		"$rf_tmpdir/$1.screen" "$2"
}

# The tmux pane of session NAME: "alternate_on cursor_flag keypad_cursor_flag".
pane_modes() {
	tm display-message -p -t "$1" '#{alternate_on} #{cursor_flag} #{keypad_cursor_flag}'
}

# tmux_ended NAME STATUS: top ended with STATUS and gave the terminal back as
# it found it: the same modes (stty), the main screen, the cursor shown, the
# cursor keys in normal mode, and nothing of its screen left.
tmux_ended() {
	local name=$1 status=$2 dir=$rf_tmpdir/$1

	rf_wait_until 10 "top in $name to end" test -f "$dir/status"
	rf_assert_eq "$status" "$(cat "$dir/status")" "$name: top's exit status"
	cmp -s "$dir/stty.before" "$dir/stty.after" ||
		rf_fail "$name: terminal modes not restored: stty -g was $(cat "$dir/stty.before"), is $(cat "$dir/stty.after")"
	rf_wait_until 5 "the pane of $name to show the shell's line" top__screen_holds "$name" \
		'any(l == "top ended" for l in lines)'
	rf_assert_eq "0 1 0" "$(pane_modes "$name")" \
		"$name: pane modes after top (alternate screen, cursor shown, keypad cursor)"
	! grep -q 'ringfence top' "$rf_tmpdir/$name.screen" ||
		rf_fail "$name: top's screen is left on the terminal: $(cat "$rf_tmpdir/$name.screen")"
}

top_expect() {
	local pid

	for pid in "$@"; do
		"$RF" stat --json "$pid" >"$rf_tmpdir/stat0.$pid.json"
	done
	sleep 1.5
	for pid in "$@"; do
		"$RF" stat --json "$pid" >"$rf_tmpdir/stat1.$pid.json"
		"$RF" threads --json --no-sample "$pid" >"$rf_tmpdir/threads.$pid.json"
	done
	python3 "$TOP_CHECK" expect "$rf_tmpdir" "$@" >"$rf_tmpdir/expect.json"
}

top_check() {
	python3 "$TOP_CHECK" check "$rf_tmpdir/expect.json" "$@"
}
