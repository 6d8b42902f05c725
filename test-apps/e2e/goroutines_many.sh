#!/usr/bin/env bash
# Against Go's own view: rf-go-many starts 2,000 goroutines in known places
# and states (chan receive, select, a contended mutex, sleep, sync.Cond.Wait,
# a raw read in a system call, one that never blocks), lets them settle
# through garbage collections, and writes its own goroutine profile
# (runtime/pprof, debug=2). For every creator, file:line and state, Go's
# count must be the reader's; the lockers' frames show the inlined
# sync.(*Mutex).Lock; wait times are known after the collections.
set -euo pipefail
source "$(dirname "$0")/goroutines_lib.sh"

MANY=$(gr_program many)
gr_start many "$MANY" -n 2000 -spin -profile "$rf_tmpdir/many.prof"
pid=$GR_PID
gr_run many goroutines --json --interval 300 "$pid"
gr_status many 0
gr_assert profile many "$rf_tmpdir/many.prof"
gr_assert expect many \
	'r["go_version"].startswith("go1.") and r["wait_reasons_from"] == "target"' \
	'r["goroutines"] >= 2000 and r["leaked"] == 0' \
	'group(r, "main.readForever")["states"]["syscall"] == 2' \
	'group(r, "main.spinForever")["states"]["running"] + group(r, "main.spinForever")["states"]["runnable"] == 1' \
	'group(r, "main.lockForever")["wait_reasons"] == {"semacquire": 200}' \
	'group(r, "main.waitCond")["wait_reasons"] == {"sync.Cond.Wait": group(r, "main.waitCond")["count"]}' \
	'group(r, "main.startSelects.func1")["wait_reasons"] == {"select": 400}' \
	'group(r, "time.Sleep")["wait_reasons"] == {"sleep": 100}' \
	'all(g["kind"] == "runtime" and not g["leak"] for g in r["groups"] if g["start"].startswith("runtime.") and g["start"] != "runtime.main")'
# One sample (no interval) reads the same goroutines.
gr_run many-one goroutines --json --interval 0 "$pid"
gr_status many-one 0
gr_assert expect many-one 'r["samples"] == 1 and r["goroutines"] >= 2000' \
	'all(g["growth"] == 0 for g in r["groups"])'
gr_stop "$pid"
echo "PASS: goroutines-many: every group's count and state as in Go's own goroutine profile"
