#!/usr/bin/env bash
# safety_small_shm.sh KIB FILL_KIB CMD...: run CMD in a private mount
# namespace with a tmpfs of KIB KiB on /dev/shm, FILL_KIB of it taken by a
# file. CMD runs under the shim when SF_PRELOAD names it (the mount and the
# filling never do). Used by safety_shm_full.sh.
set -euo pipefail
kib=$1 fill=$2
shift 2
# shellcheck disable=SC2016 # expanded by the inner shell, from its arguments
exec unshare -m bash -c 'set -e
	mount -t tmpfs -o "size=$1k" tmpfs /dev/shm
	[ "$2" -eq 0 ] || dd if=/dev/zero of=/dev/shm/fill bs=1k count="$2" status=none 2>/dev/null || true
	shift 2
	if [ -n "${SF_PRELOAD:-}" ]; then
		exec env LD_PRELOAD="$SF_PRELOAD" "$@"
	fi
	exec "$@"' safety_small_shm "$kib" "$fill" "$@"
