/*
 * rp_live.c - is the process behind a segment alive, exited, killed, or dead?
 */
#define _GNU_SOURCE
#include "rp_live.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rf_proc.h"

void rp_live_assess(const struct rf_shm_header *hdr, struct rp_liveness *live)
{
	uint64_t ticks = 0;
	int rc;

	live->pid_reused = false;
	live->by_parent = false;
	/* An exit is published by the process itself, or by its parent once it
	 * had ended: nothing in /proc outranks it. */
	if (hdr->status == RF_SHM_STATUS_EXITED) {
		live->by_parent = hdr->exit_recorder == RF_SHM_EXIT_BY_PARENT;
		live->state =
			live->by_parent && hdr->exit_signal > 0 ? RP_STATE_KILLED : RP_STATE_EXITED;
		return;
	}
	rc = rf_proc_start_ticks((pid_t)hdr->pid, &ticks);
	if (rc == -ENOENT || rc == -ESRCH) {
		live->state = RP_STATE_DEAD;
		return;
	}
	/*
	 * Any other failure (a /proc mounted with hidepid, say) leaves us unable
	 * to tell; calling it alive is the answer that makes gc keep the segment.
	 * A start time of 0 means the shim could not read its own: no comparison.
	 */
	if (rc == 0 && hdr->start_ticks != 0 && ticks != hdr->start_ticks) {
		live->state = RP_STATE_DEAD;
		live->pid_reused = true;
		return;
	}
	live->state = RP_STATE_ALIVE;
}

bool rp_pid_exists(pid_t pid)
{
	uint64_t ticks;
	int rc = rf_proc_start_ticks(pid, &ticks);

	/* As above: only a definite "no such process" counts as gone. */
	return !(rc == -ENOENT || rc == -ESRCH);
}

const char *rp_state_name(enum rp_state state)
{
	switch (state) {
	case RP_STATE_ALIVE:
		return "alive";
	case RP_STATE_EXITED:
		return "exited";
	case RP_STATE_DEAD:
		return "dead";
	case RP_STATE_KILLED:
		return "killed";
	}
	return "unknown";
}

const char *rp_exit_recorder_name(const struct rp_liveness *live)
{
	if (live->state != RP_STATE_EXITED && live->state != RP_STATE_KILLED)
		return NULL;
	return live->by_parent ? "parent" : "process";
}

void rp_signal_name(int sig, char *buf, size_t len)
{
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev != NULL)
		snprintf(buf, len, "%s", abbrev);
	else
		snprintf(buf, len, "%d", sig);
}

const char *rp_end_note(const struct rp_liveness *live)
{
	switch (live->state) {
	case RP_STATE_ALIVE:
		return NULL;
	case RP_STATE_EXITED:
		return live->by_parent
			       ? "recorded by its parent (ringfence run): it ended without "
				 "exit(), by exit_group as Go programs do; figures are from "
				 "its last publish"
			       : NULL;
	case RP_STATE_KILLED:
		return "recorded by its parent (ringfence run); figures are from its last publish";
	case RP_STATE_DEAD:
		return live->pid_reused
			       ? "ended without exit(): killed by a signal, or exit_group as Go "
				 "programs do, and its pid now belongs to another process; figures "
				 "are from its last publish"
			       : "ended without exit(): killed by a signal, or exit_group as Go "
				 "programs do; figures are from its last publish";
	}
	return NULL;
}

bool rp_exit_status_known(const struct rp_liveness *live, const struct rf_shm_header *hdr)
{
	return live->state == RP_STATE_EXITED && hdr->exit_status_known;
}

void rp_state_label(const struct rp_liveness *live, const struct rf_shm_header *hdr, char *buf,
		    size_t len)
{
	char sig[16];

	if (rp_exit_status_known(live, hdr)) {
		snprintf(buf, len, "exited(%" PRId32 ")", hdr->exit_status);
	} else if (live->state == RP_STATE_KILLED) {
		rp_signal_name(hdr->exit_signal, sig, sizeof(sig));
		snprintf(buf, len, "killed(%s)", sig);
	} else {
		snprintf(buf, len, "%s", rp_state_name(live->state));
	}
}
