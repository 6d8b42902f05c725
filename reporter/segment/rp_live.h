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
#include <stddef.h>
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

/*
 * Whether the process exited with a status the shim saw: only then does
 * hdr->exit_status mean anything. hdr is the validated header live was
 * judged from.
 */
bool rp_exit_status_known(const struct rp_liveness *live, const struct rf_shm_header *hdr);

/* The state as `ls` and the reports name it: "alive", "exited(3)", "exited", "dead". */
void rp_state_label(const struct rp_liveness *live, const struct rf_shm_header *hdr, char *buf,
		    size_t len);

#endif /* RP_LIVE_H */
