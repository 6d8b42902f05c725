#!/usr/bin/env bash
# What `ringfence goroutines` and `check` cannot read, each said in one
# line with its exit status: a stripped Go binary (6), a program that is not
# Go (5; check falls back to the missing segment, 3), no such process (3), a
# process that ends while it is read (3), and, as root, a reader without
# ptrace access to the target (4). The other way round, root reads another
# user's program.
set -euo pipefail
source "$(dirname "$0")/goroutines_lib.sh"

CONSUMERS=$(gr_program consumers)
STRIPPED=$(gr_program consumers-stripped)
export RINGFENCE_SHM_PREFIX=rf-e2e-gr-fail-$$

gr_start stripped "$STRIPPED" -calls 1
gr_run stripped goroutines --interval 0 "$GR_PID"
gr_one_line stripped 6 "^ringfence goroutines: process $GR_PID is a stripped Go binary \(no \.symtab, no DWARF\): rebuild without -ldflags='-s -w'"
gr_run stripped-check check --interval 0 "$GR_PID"
gr_one_line stripped-check 6 "^ringfence check: process $GR_PID is a stripped Go binary"
gr_stop "$GR_PID"

sleep 30 &
notgo=$!
rf_cleanup_add "kill $notgo 2>/dev/null || true"
gr_run notgo goroutines --interval 0 "$notgo"
gr_one_line notgo 5 "^ringfence goroutines: process $notgo is not a Go program \(no \.gopclntab, \.go\.buildinfo or Go build id\)$"
# check: no segment and not Go, so what is missing is the segment.
gr_run notgo-check check "$notgo"
gr_one_line notgo-check 3 "^ringfence check: .*: no such segment: pid $notgo has no segment"
kill "$notgo"

gr_run nopid goroutines 2147483646
gr_one_line nopid 3 "^ringfence goroutines: no process 2147483646$"

# Gone between the samples: it lives 1 s, the samples are 2.5 s apart.
gr_start gone "$CONSUMERS" -exit-after 1s
gr_run gone goroutines --interval 2500 "$GR_PID"
gr_one_line gone 3 "^ringfence goroutines: process $GR_PID ended while its goroutines were being read$"

if [[ $(id -u) -eq 0 ]] && command -v setpriv >/dev/null; then
	nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	gr_start perm "$CONSUMERS" -calls 1
	GR_RC=0
	"${nobody[@]}" "$RF" goroutines --interval 0 "$GR_PID" >"$rf_tmpdir/perm.out" \
		2>"$rf_tmpdir/perm.err" || GR_RC=$?
	gr_one_line perm 4 "^ringfence goroutines: permission denied reading process $GR_PID \(/proc/$GR_PID/exe\): needs ptrace read access"
	gr_stop "$GR_PID"
	gr_start perm-other "${nobody[@]}" "$CONSUMERS" -calls 1
	gr_run perm-other goroutines --json --interval 0 "$GR_PID"
	gr_status perm-other 0
	gr_assert expect perm-other 'group(r, "main.bug.func1")["count"] == 100'
	gr_stop "$GR_PID"
	echo "ok: root reads another user's program"
else
	echo "skipped: the permission cases need root and setpriv"
fi
echo "PASS: goroutines-failures"
