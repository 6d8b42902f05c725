# shellcheck shell=bash
#
# reporter_lib.sh - helpers for the reporter's end-to-end tests on forged
# segments and hostile names. Sources lib.sh (nothing more when the test has
# sourced it already).
#
#   RF, FORGE        the reporter and rp-test-forge (writes segments as another
#                    process of the user could: `rp-test-forge PREFIX PID KIND`)
#   rep_setup NAME   a unique RINGFENCE_SHM_PREFIX in PREFIX, exported; every
#                    file under it is removed at exit
#   REP_NO_PID       the first of the pids above PID_MAX_LIMIT (4194304): no
#                    process can have one, so a segment under it reads as dead

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# shellcheck disable=SC2034 # for the tests that source this file
RF=$RF_BUILD_ROOT/reporter/ringfence
# shellcheck disable=SC2034 # for the tests that source this file
FORGE=$RF_BUILD_ROOT/reporter/rp-test-forge
# shellcheck disable=SC2034 # for the tests that source this file
REP_NO_PID=4194305

rep_setup() {
	PREFIX=rf-e2e-$1-$$
	export RINGFENCE_SHM_PREFIX=$PREFIX
	rf_cleanup_add "rm -f /dev/shm/$PREFIX.*"
}
