/*
 * rf_segment.h - the writer's side of the shared-memory segment.
 *
 * Creates, publishes and closes one segment as described in rf_shm.h. Knows
 * nothing of preloading: the caller supplies identity, configuration and
 * figures, and serialises calls (one publisher at a time).
 */
#ifndef RF_SEGMENT_H
#define RF_SEGMENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "rf_shm.h"

struct rf_segment {
	struct rf_shm_layout *shm; /* the mapping; NULL when there is no segment */
	char name[RF_SHM_NAME_MAX];
};

struct rf_segment_identity {
	pid_t pid;
	uint64_t start_ticks;
	int64_t start_realtime_ns;
	const char *cmdline;
	const char *config_error; /* "" when none */
	int passive;
	const struct rf_shm_config *config;
};

/* Segment name for prefix and pid into name[RF_SHM_NAME_MAX]. */
void rf_segment_name(const char *prefix, pid_t pid, char *name);

/*
 * Create and map /<prefix>.<pid> (O_CREAT|O_EXCL, 0600), fill the header and
 * the section directory, and store the magic last. A segment already under
 * that name can only be left by an earlier image of this pid (exec) or by a
 * dead process whose pid was reused: it is unlinked and replaced.
 * 0 or a negative errno; on failure seg->shm is NULL.
 */
int rf_segment_create(struct rf_segment *seg, const char *prefix,
		      const struct rf_segment_identity *id);

/*
 * A publication: begin makes seq odd, the caller then writes any section
 * of seg->shm (and rf_segment_mark_exited), end stamps the publish time and
 * makes seq even. Callers serialise publications. Both are async-signal-safe
 * and do nothing when there is no segment.
 */
void rf_segment_publish_begin(struct rf_segment *seg);
void rf_segment_publish_end(struct rf_segment *seg);

/* Within a publication: the process is ending, with a status or without. */
void rf_segment_mark_exited(struct rf_segment *seg, int status_known, int status);

/* Within a publication: how many entries of a table section are in use. */
void rf_segment_section_count(struct rf_segment *seg, enum rf_shm_section_kind kind,
			      uint64_t count);

/* Unmap without unlinking: the segment stays for readers. */
void rf_segment_detach(struct rf_segment *seg);

#endif /* RF_SEGMENT_H */
