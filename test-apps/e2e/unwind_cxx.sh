#!/usr/bin/env bash
# A C program that runs C++ code, loaded by dlopen (as Python loads a C++
# extension) or linked, unwinds through C++ frames under the shim as it does
# plain: an exception caught, pthread_exit and cancellation (glibc's forced
# unwinding through libgcc_s) each run the frame's destructor. The shim
# brings libunwind, which also defines the _Unwind_* functions; ahead of
# libgcc_s they took the C++ personality routine's calls and crashed
# pthread_exit with SIGSEGV.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

SHIM=$RF_BUILD_ROOT/shim/libringfence.so
APPS=$RF_BUILD_ROOT/test-apps
export RINGFENCE_SHM_PREFIX=rf-e2e-unwind-$$
rf_cleanup_add rm -f "/dev/shm/$RINGFENCE_SHM_PREFIX".*

expected='throw caught 1
pthread_exit returned its value
cancel cancelled
destructors 3'

check() { # what, command...
	local what=$1 out rc
	shift
	set +e
	out=$(timeout 20 "$@" 2>"$rf_tmpdir/err")
	rc=$?
	set -e
	rf_assert_eq 0 "$rc" "$what: exit status (stderr: $(head -c 300 "$rf_tmpdir/err"))"
	rf_assert_eq "$expected" "$out" "$what: output"
}

for mode in dlopen linked; do
	if [ $mode = dlopen ]; then
		cmd=("$APPS/rf-unwind-app" "$APPS/librf-unwind-part.so")
	else
		cmd=("$APPS/rf-unwind-app-linked")
	fi
	check "$mode, plain" "${cmd[@]}"
	check "$mode, under the shim" env LD_PRELOAD="$SHIM" "${cmd[@]}"
	[ ! -s "$rf_tmpdir/err" ] ||
		rf_fail "$mode: the shim wrote to stderr: $(cat "$rf_tmpdir/err")"
done
echo "ok: exceptions, pthread_exit and cancellation unwind through C++ frames under the shim"
