/*
 * rf_segment.h - the writer's side of the shared-memory segment.
 *
 * Creates, publishes and closes one segment as described in rf_shm.h. Knows
 * nothing of preloading: the caller supplies identity, configuration and
 * figures, and serialises calls (one publisher at a time).
 */
#ifndef RF_SEGMENT_H
#define RF_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "rf_shm.h"

/*
 * The writer's segment. Its pages are allocated in the file before they are
 * first written (rf_segment_room): a store into a mapped page of a tmpfs
 * without room is SIGBUS, the allocation an error the writer can take.
 */
struct rf_segment {
	struct rf_shm_layout *shm; /* the mapping; NULL when there is no segment */
	int fd; /* kept open to allocate pages as they are needed; -1: memory of the caller's */
	char name[RF_SHM_NAME_MAX];
	/* Entries of each section whose pages are allocated, by kind. */
	uint64_t room[RF_SHM_SECTION__END];
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

/* A segment with no segment: seg->shm NULL, no file. */
#define RF_SEGMENT_NONE                                                                            \
	{                                                                                          \
		.shm = NULL, .fd = -1                                                              \
	}

/*
 * A segment in memory of the caller's (unit tests): the section directory
 * filled as rf_segment_create fills it, every entry writable, no file.
 */
void rf_segment_attach_memory(struct rf_segment *seg, struct rf_shm_layout *shm);

/* Segment name for prefix and pid into name[RF_SHM_NAME_MAX]. */
void rf_segment_name(const char *prefix, pid_t pid, char *name);

/*
 * Create and map /<prefix>.<pid> (O_CREAT|O_EXCL, 0600), allocate the pages
 * of the header and the stats section, fill the header and the section
 * directory, and store the magic last. A segment already under that name
 * can only be left by an earlier image of this pid (exec) or by a dead
 * process whose pid was reused: it is unlinked and replaced. 0 or a
 * negative errno (-ENOSPC: the file system has no room for the first pages;
 * nothing is left behind); on failure seg->shm is NULL.
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

/*
 * One publication of every figure, the one route by which figures reach the
 * segment. The glue opens it (rf_publication_begin: the sequence lock goes
 * odd, stats start as the sum of every thread's counters), hands it to each
 * concern's publisher in turn (rf_publisher_fn), and closes it
 * (rf_publication_end: the stats go to the segment, the lock goes even). A
 * publisher sets its gauges with rf_publication_set, writes its sections'
 * entries into seg->shm and their counts with rf_segment_section_count, and
 * leaves in the publication what a later publisher needs of it.
 */
struct rf_publication {
	struct rf_segment *seg;
	const struct rf_shm_config *config;
	int64_t now_ns; /* CLOCK_MONOTONIC when it began */
	bool exiting;   /* the last publication: the process ends */
	uint64_t stats[RF_STAT__COUNT];
	/* The heap's publisher leaves live bytes by heap id (docs/heap.md) for the
	 * thread groups' heap figures, which the thread publisher writes. */
	uint64_t heap_live;
	int64_t heap_by_id[RF_SHM_HEAP_IDS];
};

typedef void (*rf_publisher_fn)(struct rf_publication *pub);

/* Open a publication of seg (which may have no mapping: then nothing is written). */
void rf_publication_begin(struct rf_publication *pub, struct rf_segment *seg,
			  const struct rf_shm_config *config, bool exiting);

/* A gauge (or a total the publisher keeps itself) of this publication. */
static inline void rf_publication_set(struct rf_publication *pub, enum rf_stat stat, uint64_t value)
{
	if ((unsigned)stat < RF_STAT__COUNT)
		pub->stats[stat] = value;
}

/* Write the stats and close the publication. */
void rf_publication_end(struct rf_publication *pub);

/* Within a publication: the process is ending, with a status or without. */
void rf_segment_mark_exited(struct rf_segment *seg, int status_known, int status);

/* Within a publication: how many entries of a table section are in use. */
void rf_segment_section_count(struct rf_segment *seg, enum rf_shm_section_kind kind,
			      uint64_t count);

/*
 * How many of the first want entries of a section may be written: want (at
 * most the capacity) once their pages are allocated in the file, fewer when
 * the file system has no room for more (the allocated ones). Each failure
 * counts a shim error. Async-signal-safe; within or outside a publication.
 */
uint64_t rf_segment_room(struct rf_segment *seg, enum rf_shm_section_kind kind, uint64_t want);

/* Give the segment's file to uid and gid (-1: unchanged); errno kept. */
void rf_segment_owner(struct rf_segment *seg, uid_t uid, gid_t gid);

/* Unmap without unlinking: the segment stays for readers. */
void rf_segment_detach(struct rf_segment *seg);

/*
 * Bound what ended processes leave under prefix: when more than keep
 * segments of the caller's own user are there, remove the segments of
 * processes that have ended (an exit recorded, or the pid gone or reused,
 * and nothing published for a minute) until about three quarters of keep
 * remain, the least recently published first. Files that are not segments
 * of ours, and segments of live processes, are never touched. Returns how
 * many were removed. No allocation (getdents on /dev/shm).
 */
unsigned rf_segment_prune(const char *prefix, uint64_t keep);

#endif /* RF_SEGMENT_H */
