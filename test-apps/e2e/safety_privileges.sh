#!/usr/bin/env bash
# Programs that switch user, run plain and under the shim alike: setpriv
# and runuser (single-threaded: the shim must not add a thread, or glibc's
# set*id broadcast reaches a thread without the capabilities the program
# arranged for its own, and aborts), and a program that drops root while
# its threads run. The segment follows the process to its new user, so
# the image exec'd as that user replaces it and that user reads it.
set -euo pipefail
source "$(dirname "$0")/safety_lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: switching users needs root"
	exit 77
fi
nobody_dir=$rf_tmpdir/nobody
mkdir -m 0777 "$nobody_dir"
chmod 0755 "$rf_tmpdir"

sf_same "setpriv to nobody, /bin/true" 30 setpriv --reuid=65534 --regid=65534 --clear-groups /bin/true
sf_same "setpriv to nobody, id" 30 setpriv --reuid=65534 --regid=65534 --clear-groups id -u
sf_same "runuser to nobody, echo" 30 runuser -u nobody -- /bin/echo as nobody
sf_same "a program drops root with threads running" 30 "$SAFETY_APP" drop-user

# The image exec'd as nobody owns the segment of its pid, and nobody reads it.
# shellcheck disable=SC2016 # $$ and $1 are the inner shell's
env LD_PRELOAD="$SHIM" setpriv --reuid=65534 --regid=65534 --clear-groups \
	sh -c 'echo $$ >"$1"; exec sleep 1' sh "$nobody_dir/pid" ||
	rf_fail "setpriv, sh and sleep under the shim"
pid=$(cat "$nobody_dir/pid")
owner=$(stat -c %u "/dev/shm/$RINGFENCE_SHM_PREFIX.$pid") ||
	rf_fail "no segment for the exec'd image (pid $pid)"
rf_assert_eq 65534 "$owner" "owner of the segment of the image exec'd as nobody"
runuser -u nobody -- "$RF" stat --prefix "$RINGFENCE_SHM_PREFIX" "$pid" >"$rf_tmpdir/stat" ||
	rf_fail "nobody cannot read the segment of its own process: $(cat "$rf_tmpdir/stat")"
grep -q 'sleep 1' "$rf_tmpdir/stat" || rf_fail "the segment is not the exec'd image's: $(head "$rf_tmpdir/stat")"
echo "ok: the segment follows the process to nobody, who reads it"
