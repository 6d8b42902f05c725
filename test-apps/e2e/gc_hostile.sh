#!/usr/bin/env bash
# `ringfence gc` removes only what it verifies as the caller's own segments,
# and its dry run says exactly what the real run then does. Under names of
# segments whose processes are gone: a valid segment (rp-test-forge), a FIFO,
# a symbolic link to a segment, a directory, a sparse 10 GB file, a foreign
# file, a file with ringfence's magic and layout version 0, another user's
# segment (as root); and what the shim may leave cut short: an empty file,
# zeros shorter than a header, a header cut after the magic, a segment of
# another layout version. Plus a live process's empty segment. Every run of
# the reporter is bounded by timeout(1): a FIFO must not hang it.
set -euo pipefail
source "$(dirname "$0")/reporter_lib.sh"

rep_setup gc
rf_cleanup_add "rm -f /dev/shm/${PREFIX}t.*; rmdir /dev/shm/$PREFIX.* 2>/dev/null || true"

pid=$((REP_NO_PID - 1)) # seg takes the next: no process has any of them
declare -A kind # path -> what it is
seg() {         # seg NAME: the next dead pid's path, remembered as NAME
	pid=$((pid + 1))
	path=/dev/shm/$PREFIX.$pid
	kind[$path]=$1
}

seg valid
"$FORGE" "$PREFIX" "$pid" valid
seg fifo
mkfifo -m 600 "$path"
seg link
target=/dev/shm/${PREFIX}t.$pid # a segment gc would remove, were the link followed
"$FORGE" "${PREFIX}t" "$pid" valid
ln -s "$target" "$path"
seg directory
mkdir -m 700 "$path"
seg huge
truncate -s 10G "$path"
seg foreign
head -c 4096 /dev/urandom | tr '\0' x >"$path"
seg version0
printf 'RNGFENE1' >"$path"
truncate -s 4096 "$path"
seg empty
: >"$path"
seg zeros
head -c 100 /dev/zero >"$path"
seg magic_cut
printf 'RNGFENE1\006\000\000\000' >"$path"
seg other_version
printf 'RNGFENE1\377\000\000\000' >"$path"
truncate -s 4096 "$path"
if [ "$(id -u)" -eq 0 ]; then
	seg other_user
	"$FORGE" "$PREFIX" "$pid" valid
	chown 65534 "$path"
fi
live=/dev/shm/$PREFIX.$$ # this shell: alive
: >"$live"
kind[$live]=live

# gc_run OUT ARGS...: gc, bounded, exit 0.
gc_run() {
	local out=$1 rc=0
	shift
	timeout 20 "$RF" gc "$@" >"$out" 2>&1 || rc=$?
	[ "$rc" -ne 124 ] || rf_fail "ringfence gc $* hung"
	[ "$rc" -eq 0 ] || rf_fail "ringfence gc $* exited $rc: $(cat "$out")"
}

# paths WORD FILE: the paths of FILE's lines starting with WORD, sorted.
paths() {
	sed -n "s|^$1 \\(/dev/shm/[^ ]*\\) .*|\\1|p" "$2" | sort
}

# expect_gc WHAT REMOVED... -- ARGS: the dry run would remove exactly REMOVED,
# the real run removes exactly that, and both say why they keep every other.
expect_gc() {
	local what=$1 kinds=() want path k
	shift
	while [ "$1" != -- ]; do
		kinds+=("$1")
		shift
	done
	shift
	want=$(for k in "${kinds[@]}"; do for path in "${!kind[@]}"; do
		[ "${kind[$path]}" != "$k" ] || echo "$path"
	done; done | sort)
	gc_run "$rf_tmpdir/dry" --dry-run "$@"
	gc_run "$rf_tmpdir/real" "$@"
	cat "$rf_tmpdir/dry" "$rf_tmpdir/real"
	rf_assert_eq "$want" "$(paths 'would remove' "$rf_tmpdir/dry")" "$what: would remove"
	rf_assert_eq "$want" "$(paths removed "$rf_tmpdir/real")" "$what: removed"
	rf_assert_eq "$(paths kept "$rf_tmpdir/dry")" "$(paths kept "$rf_tmpdir/real")" "$what: kept"
	for path in $want; do
		[ ! -e "$path" ] || rf_fail "$what: $path (${kind[$path]}) is still there"
		unset "kind[$path]"
	done
	echo "ok: $what: the dry run and the real run both remove: $(echo "$want" | tr '\n' ' ')"
}

expect_gc "gc" valid --
expect_gc "gc --corrupt" empty zeros magic_cut other_version -- --corrupt

# Every other name is still there, and both runs said why it stays.
reason() { # reason KIND: the words its "kept" line holds
	case $1 in
	fifo) echo "a FIFO, not a regular file" ;;
	link) echo "a symbolic link, not a regular file" ;;
	directory) echo "a directory, not a regular file" ;;
	huge) echo "10737418240 bytes, more than a segment may have" ;;
	foreign) echo "does not start with ringfence's magic" ;;
	version0) echo "layout version 0" ;;
	other_user) echo "owned by uid 65534, not by the caller" ;;
	live) echo "; pid $$ is a live process" ;;
	esac
}
for path in "${!kind[@]}"; do
	[ -e "$path" ] || [ -L "$path" ] || rf_fail "${kind[$path]} at $path was removed"
	for run in dry real; do
		grep -F "kept $path (" "$rf_tmpdir/$run" | grep -qF "$(reason "${kind[$path]}")" ||
			rf_fail "$run run: no kept line for ${kind[$path]} at $path saying '$(reason "${kind[$path]}")'"
	done
done
[ -f "$target" ] || rf_fail "the link's target $target was removed"
echo "ok: kept, each with its reason: ${kind[*]}"
echo "PASS: gc-hostile"
