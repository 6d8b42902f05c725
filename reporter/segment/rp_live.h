/*
 * rp_live.h - is the process behind a segment alive, exited, killed, or dead?
 *
 * The segment alone cannot always say: a process that ends without libc's
 * exit (killed by a signal, the OOM killer included, or ended by the
 * exit_group system call as Go programs are) never publishes its exit, unless
 * its parent (`ringfence run`) recorded it. /proc and the start time recorded
 * at creation tell a live process from a vanished one or from a later process
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
	RP_STATE_EXITED = 1, /* an exit was published, by the shim or the parent */
	RP_STATE_DEAD = 2,   /* status running, but the process is gone: ended without exit(),
			      * by a signal or by exit_group, and nobody recorded how */
	RP_STATE_KILLED = 3, /* the parent recorded the signal that ended it */
};

struct rp_liveness {
	enum rp_state state;
	bool pid_reused; /* dead, and the pid now belongs to another process */
	bool by_parent;  /* exited or killed: recorded by the parent, not by the shim */
};

/* Judge a validated header against /proc. */
void rp_live_assess(const struct rf_shm_header *hdr, struct rp_liveness *live);

/* A process with this pid exists (whatever it is). */
bool rp_pid_exists(pid_t pid);

/* "alive", "exited", "killed", "dead". */
const char *rp_state_name(enum rp_state state);

/*
 * Whether the process exited with a status the shim saw: only then does
 * hdr->exit_status mean anything. hdr is the validated header live was
 * judged from.
 */
bool rp_exit_status_known(const struct rp_liveness *live, const struct rf_shm_header *hdr);

/*
 * The state as `ls` and the reports name it: "alive", "exited(3)", "exited",
 * "killed(TERM)", "dead".
 */
void rp_state_label(const struct rp_liveness *live, const struct rf_shm_header *hdr, char *buf,
		    size_t len);

/* "process" or "parent" for an exit someone recorded; NULL otherwise. */
const char *rp_exit_recorder_name(const struct rp_liveness *live);

/*
 * How the process ended, in words, when the shim could not publish that
 * itself (its parent recorded it, or nobody did): "ended without exit():
 * killed by a signal, or exit_group as Go programs do; ...". NULL while it
 * is alive, and after an exit the shim published.
 */
const char *rp_end_note(const struct rp_liveness *live);

/* A signal's name without "SIG" ("TERM"), or its number when it has none. */
void rp_signal_name(int sig, char *buf, size_t len);

#endif /* RP_LIVE_H */
