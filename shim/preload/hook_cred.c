/*
 * hook_cred.c - interposers of the calls that change the process's user.
 *
 * The segment is created by, and owned by, the user the process started as.
 * A process that switches user (setpriv, su, a daemon that drops root)
 * and then execs would leave its new image unable to replace the segment
 * of its own pid (mode 0600, /dev/shm is sticky), and its new user unable
 * to read its figures: so the segment follows the effective user and group,
 * changed while the process still has the privilege to (before the real
 * call), and changed back when the real call fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <unistd.h>

#include "rf_log.h"
#include "rf_real.h"
#include "rf_shim.h"

/* (uid_t)-1 and (gid_t)-1: "unchanged", as the calls take them. */
#define RF_ID_KEEP_U ((uid_t)-1)
#define RF_ID_KEEP_G ((gid_t)-1)

/* Give the segment to euid/egid (either may be -1) for the real call; undo on failure. */
static int rf_cred_call_done(int rc, uid_t old_uid, gid_t old_gid)
{
	int saved = errno;

	if (rc != 0)
		rf_shim_segment_owner(old_uid, old_gid);
	errno = saved;
	return rc;
}

RF_EXPORT int setuid(uid_t uid)
{
	rf_real_setuid_fn real = RF_REAL(setuid);
	uid_t old = geteuid();

	rf_shim_segment_owner(uid, RF_ID_KEEP_G);
	return rf_cred_call_done(real != NULL ? real(uid) : (errno = ENOSYS, -1), old,
				 RF_ID_KEEP_G);
}

RF_EXPORT int seteuid(uid_t euid)
{
	rf_real_seteuid_fn real = RF_REAL(seteuid);
	uid_t old = geteuid();

	rf_shim_segment_owner(euid, RF_ID_KEEP_G);
	return rf_cred_call_done(real != NULL ? real(euid) : (errno = ENOSYS, -1), old,
				 RF_ID_KEEP_G);
}

RF_EXPORT int setreuid(uid_t ruid, uid_t euid)
{
	rf_real_setreuid_fn real = RF_REAL(setreuid);
	uid_t old = geteuid();

	rf_shim_segment_owner(euid, RF_ID_KEEP_G);
	return rf_cred_call_done(real != NULL ? real(ruid, euid) : (errno = ENOSYS, -1), old,
				 RF_ID_KEEP_G);
}

RF_EXPORT int setresuid(uid_t ruid, uid_t euid, uid_t suid)
{
	rf_real_setresuid_fn real = RF_REAL(setresuid);
	uid_t old = geteuid();

	rf_shim_segment_owner(euid, RF_ID_KEEP_G);
	return rf_cred_call_done(real != NULL ? real(ruid, euid, suid) : (errno = ENOSYS, -1), old,
				 RF_ID_KEEP_G);
}

RF_EXPORT int setgid(gid_t gid)
{
	rf_real_setgid_fn real = RF_REAL(setgid);
	gid_t old = getegid();

	rf_shim_segment_owner(RF_ID_KEEP_U, gid);
	return rf_cred_call_done(real != NULL ? real(gid) : (errno = ENOSYS, -1), RF_ID_KEEP_U,
				 old);
}

RF_EXPORT int setegid(gid_t egid)
{
	rf_real_setegid_fn real = RF_REAL(setegid);
	gid_t old = getegid();

	rf_shim_segment_owner(RF_ID_KEEP_U, egid);
	return rf_cred_call_done(real != NULL ? real(egid) : (errno = ENOSYS, -1), RF_ID_KEEP_U,
				 old);
}

RF_EXPORT int setregid(gid_t rgid, gid_t egid)
{
	rf_real_setregid_fn real = RF_REAL(setregid);
	gid_t old = getegid();

	rf_shim_segment_owner(RF_ID_KEEP_U, egid);
	return rf_cred_call_done(real != NULL ? real(rgid, egid) : (errno = ENOSYS, -1),
				 RF_ID_KEEP_U, old);
}

RF_EXPORT int setresgid(gid_t rgid, gid_t egid, gid_t sgid)
{
	rf_real_setresgid_fn real = RF_REAL(setresgid);
	gid_t old = getegid();

	rf_shim_segment_owner(RF_ID_KEEP_U, egid);
	return rf_cred_call_done(real != NULL ? real(rgid, egid, sgid) : (errno = ENOSYS, -1),
				 RF_ID_KEEP_U, old);
}
