# shellcheck shell=bash
#
# safety_lib.sh - for the safety tests: a command run plain and under the
# shim must behave the same (exit status, standard output, standard error
# but for the shim's own lines, which start with "ringfence: ").
#
#   sf_same WHAT TIMEOUT CMD...    run CMD plain and under the shim, compare
#   sf_same_wrapped WHAT TIMEOUT WRAPPER...
#                                  the same for a wrapper that preloads the
#                                  shim into its own command when SF_PRELOAD
#                                  names it (and runs as itself otherwise)
#   sf_unshare_ok                  whether this user may make a private mount
#                                  namespace (the /dev/shm tests need one)
#
# Sets SHIM and RF (the reporter) for the tests.

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SHIM=$RF_BUILD_ROOT/shim/libringfence.so
# shellcheck disable=SC2034 # for the tests that source this file
RF=$RF_BUILD_ROOT/reporter/ringfence
# shellcheck disable=SC2034 # for the tests that source this file
SAFETY_APP=$RF_BUILD_ROOT/test-apps/rf-safety-app
export RINGFENCE_SHM_PREFIX=rf-e2e-safety-$$
rf_cleanup_add "rm -f /dev/shm/$RINGFENCE_SHM_PREFIX.*"

# sf_run OUT_PREFIX TIMEOUT CMD...: run CMD, keep its status, stdout, stderr.
sf_run() {
	local out=$1 limit=$2 rc=0
	shift 2
	timeout -k 5 "$limit" "$@" >"$out.stdout" 2>"$out.stderr" || rc=$?
	echo "$rc" >"$out.rc"
}

# sf__compare WHAT BASE: the plain and the shimmed run under BASE are alike.
sf__compare() {
	local what=$1 base=$2
	rf_assert_eq "$(cat "$base.plain.rc")" "$(cat "$base.shim.rc")" \
		"$what: exit status (stderr under the shim: $(head -c 300 "$base.shim.stderr"))"
	rf_assert_eq "$(cat "$base.plain.stdout")" "$(cat "$base.shim.stdout")" "$what: output"
	rf_assert_eq "$(cat "$base.plain.stderr")" "$(grep -v '^ringfence: ' "$base.shim.stderr" || true)" \
		"$what: standard error"
	echo "ok: $what: exit $(cat "$base.plain.rc"), the same output plain and under the shim"
}

# sf_base WHAT: the file prefix of a case's runs.
sf_base() {
	echo "$rf_tmpdir/$(tr -c 'A-Za-z0-9\n' '_' <<<"$1")"
}

sf_same() {
	local what=$1 limit=$2 base
	shift 2
	base=$(sf_base "$what")
	sf_run "$base.plain" "$limit" "$@"
	sf_run "$base.shim" "$limit" env LD_PRELOAD="$SHIM" "$@"
	sf__compare "$what" "$base"
}

sf_same_wrapped() {
	local what=$1 limit=$2 base
	shift 2
	base=$(sf_base "$what")
	sf_run "$base.plain" "$limit" env -u SF_PRELOAD "$@"
	sf_run "$base.shim" "$limit" env SF_PRELOAD="$SHIM" "$@"
	sf__compare "$what" "$base"
}

sf_unshare_ok() {
	unshare -m true 2>/dev/null
}
