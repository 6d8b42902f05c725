/*
 * rp_live.h - is the process behind a segment alive, exited, or dead?
 *
 * The segment alone cannot say: a process killed by a signal (SIGKILL, the
 * OOM killer) never publishes its exit. /proc and the start time recorded at
 * creation tell a live process from a vanished one or from a later process
 * that reused the pid.
 */
#ifndef RP_LIVE_H
#define RP_LIVE_H

#include <stdbool.h>
#include <sys/types.h>

#include "rf_shm.h"

enum rp_state {
	RP_STATE_ALIVE = 0,  /* status running and /proc agrees */
	RP_STATE_EXITED = 1, /* the shim published an exit */
	RP_STATE_DEAD = 2,   /* status running, but the process is gone: killed without exit */
};

struct rp_liveness {
	enum rp_state state;
	bool pid_reused; /* dead, and the pid now belongs to another process */
};

/* Judge a validated header against /proc. */
void rp_live_assess(const struct rf_shm_header *hdr, struct rp_liveness *live);

/* A process with this pid exists (whatever it is). */
bool rp_pid_exists(pid_t pid);

/* "alive", "exited", "dead". */
const char *rp_state_name(enum rp_state state);

#endif /* RP_LIVE_H */
