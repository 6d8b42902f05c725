#!/usr/bin/env bash
# `ringfence top` in a real terminal (tmux) on real processes under the shim:
# a producer refused budget (policy fail), one waiting for it (policy block,
# a heap limit), a program whose threads are stuck, one that exited with
# leaked threads, and a producer killed with SIGKILL (dead). `top --once`
# and the screen at 80x24 show each with the figures `stat` and `threads`
# give; the keys sort, pause and scroll; a resized terminal is redrawn to its
# size; q, Ctrl-C and SIGTERM give the terminal back as it was (modes, main
# screen, cursor). Bad input gets a message naming what is accepted.
set -euo pipefail
source "$(dirname "$0")/top_lib.sh"

top_setup top
rf_broker_start --brokers 1 --rtt 200
top_fleet
pids=("$TOP_REFUSED" "$TOP_WAITING" "$TOP_STUCK" "$TOP_LEAKED" "$TOP_DEAD")
py_pids=$(printf '"%s",' "${pids[@]}")
top_expect "${pids[@]}"
echo "ok: processes: refused $TOP_REFUSED, waiting $TOP_WAITING, stuck $TOP_STUCK, leaked $TOP_LEAKED, dead $TOP_DEAD"

# One frame for scripts: every row, whole commands (no terminal, no COLUMNS).
env -u COLUMNS "$RF" top --once --prefix "$PREFIX" >"$rf_tmpdir/once.txt"
top_check "$rf_tmpdir/once.txt" "top --once"
COLUMNS=80 "$RF" top -1 --prefix "$PREFIX" --sort refusals >"$rf_tmpdir/once80.txt"
top_check "$rf_tmpdir/once80.txt" "top -1 --sort refusals" "refusals desc"
awk 'length($0) > 80 { exit 1 }' "$rf_tmpdir/once80.txt" ||
	rf_fail "top -1 with COLUMNS=80 wrote a line longer than 80: $(cat "$rf_tmpdir/once80.txt")"
"$RF" top --once --prefix "$PREFIX" --sort pid --reverse >"$rf_tmpdir/once-rev.txt"
top_check "$rf_tmpdir/once-rev.txt" "top --once --sort pid --reverse" "pid desc"
echo "ok: top --once shows every process as stat and threads do"

# The screen, 80x24: every process, once its rates are measured.
tmux_start main 80 24
screen_wait main 10 "a frame with every process and the rates measured" \
	"all(any(l.split()[:1] == [p] for l in lines) for p in [$py_pids]) and
	 any(l.split()[:1] == ['$TOP_REFUSED'] and l.split()[6] != '-' for l in lines)"
rf_assert_eq "1 0" "$(pane_modes main | cut -d' ' -f1-2)" "top's screen: alternate screen, cursor hidden"
python3 - "$rf_tmpdir/main.screen" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")[:-1]
if len(lines) != 24 or any(len(l) > 80 for l in lines):
    sys.exit(f"FAIL: 80x24: {len(lines)} lines, widest {max(map(len, lines))}")
if not lines[-1].startswith("q quit  space pause"):
    sys.exit(f"FAIL: no help on the last line: {lines[-1]!r}")
PY
top_check "$rf_tmpdir/main.screen" "screen 80x24" "pid asc"
echo "ok: the screen at 80x24 shows every process as stat and threads do"

# Sort keys: a column's letter, r to reverse, > for the next column, P for pids.
sort_by() { # key, then "column order" the title must say
	tm send-keys -t main "$1"
	screen_wait main 5 "the sort '$2' after key '$1'" "'sort: $2' in lines[0]"
	top_check "$rf_tmpdir/main.screen" "screen after key '$1'" "$2"
}
sort_by R "refusals desc"
sort_by r "refusals asc"
sort_by '>' "leaked desc"
sort_by W "waits desc"
sort_by P "pid asc"
echo "ok: keys sort the rows"

# Pause: the figures stay, the clock in the title too.
tm send-keys -t main Space
screen_wait main 5 "the pause" "'PAUSED' in lines[-1]"
cp "$rf_tmpdir/main.screen" "$rf_tmpdir/paused.screen"
sleep 2.2
screen main >"$rf_tmpdir/paused-later.screen"
cmp -s "$rf_tmpdir/paused.screen" "$rf_tmpdir/paused-later.screen" ||
	rf_fail "the screen changed while paused: $(diff "$rf_tmpdir/paused.screen" "$rf_tmpdir/paused-later.screen")"
title=$(head -n 1 "$rf_tmpdir/paused.screen")
echo "ok: space pauses"

# Resized while paused, so that nothing but the resize redraws: to the new
# size, whatever it is.
tm resize-window -t main -x 120 -y 30
screen_wait main 5 "a frame of 120x30" "len(lines) == 30 and 'PAUSED' in lines[-1]"
awk 'length($0) > 120 { exit 1 }' "$rf_tmpdir/main.screen" || rf_fail "a line wider than 120"
grep -q "rf-producer --bootstrap 127" "$rf_tmpdir/main.screen" ||
	rf_fail "at 120 columns the commands are not shown wider: $(cat "$rf_tmpdir/main.screen")"
top_check "$rf_tmpdir/main.screen" "screen 120x30" "pid asc"
tm resize-window -t main -x 80 -y 6
screen_wait main 5 "a frame of 80x6 with 3 of the 5 rows" "len(lines) == 6 and 'rows 1-3 of 5' in lines[-1]"
tm send-keys -t main End
screen_wait main 5 "the last rows after End" \
	"'rows 3-5 of 5' in lines[-1] and [l.split()[0] for l in lines[2:5]] == sorted([$py_pids], key=int)[2:]"
tm send-keys -t main Home
screen_wait main 5 "the first rows after Home" "'rows 1-3 of 5' in lines[-1]"
tm resize-window -t main -x 80 -y 24
screen_wait main 5 "80x24 again" "len(lines) == 24 and 'PAUSED' in lines[-1]"
grep -qxF "$title" "$rf_tmpdir/main.screen" || rf_fail "the figures changed while paused and resized"
echo "ok: a resized terminal is redrawn to its size"

tm send-keys -t main Space
screen_wait main 5 "reads again after the pause" \
	"'PAUSED' not in lines[-1] and lines[0] != '''$title'''"
echo "ok: space resumes"

tm send-keys -t main q
tmux_ended main 0
echo "ok: q ends top and gives the terminal back"

# Ctrl-C in the terminal, and SIGTERM from elsewhere (as when a session ends).
tmux_start int 80 24
screen_wait int 10 "a frame" "any(l.split()[:1] == ['$TOP_STUCK'] for l in lines)"
tm send-keys -t int C-c
tmux_ended int 130
tmux_start term 80 24
screen_wait term 10 "a frame" "any(l.split()[:1] == ['$TOP_STUCK'] for l in lines)"
top_pid=$(ps -o pid= --ppid "$(tm display-message -p -t term '#{pane_pid}')" | tr -d ' ')
[[ $top_pid =~ ^[0-9]+$ ]] || rf_fail "no top process under the pane: '$top_pid'"
kill -TERM "$top_pid"
tmux_ended term 143
echo "ok: SIGINT (Ctrl-C) and SIGTERM end top with the terminal restored"

# Bad input: a message naming what is wrong and what is accepted, status 2.
bad() { # expected-words... -- args
	local words=() status=0
	while [[ $1 != -- ]]; do
		words+=("$1")
		shift
	done
	shift
	"$RF" top --prefix "$PREFIX" "$@" </dev/null >"$rf_tmpdir/bad.out" 2>"$rf_tmpdir/bad.err" ||
		status=$?
	rf_assert_eq 2 "$status" "top $* exit status"
	for w in "${words[@]}"; do
		grep -qF -- "$w" "$rf_tmpdir/bad.err" || rf_fail "top $*: '$w' not in: $(cat "$rf_tmpdir/bad.err")"
	done
}
bad "needs a terminal" "--once" --
bad "--sort 'nope'" "pid, state, used, peak, budget, waits, refusals, leaked, stuck, heap" -- --sort nope -1
bad "--interval '50'" "from 100 to 60000" -- --interval 50 -1
bad "unexpected argument '$TOP_STUCK'" -- -1 "$TOP_STUCK"
echo "ok: bad input is refused with what is accepted"

rf_broker_stop
