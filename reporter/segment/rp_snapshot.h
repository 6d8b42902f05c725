/*
 * rp_snapshot.h - what reading a segment gives: a checked private copy (the
 * snapshot), or a failure, one of RP_READ_ERRORS with a message.
 *
 * The reader (rp_segment.h) fills a snapshot, its checks (rp_segment_check.h)
 * decide whether it may be handed out; everything after that only reads it.
 */
#ifndef RP_SNAPSHOT_H
#define RP_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "rf_shm.h"
#include "rp_list.h"
#include "rp_live.h"

/*
 * What can go wrong reading a segment, declared once.
 * X(name, exit status, corrupt, kind, summary):
 *   exit status  what `ringfence` exits with when this error decides it;
 *                distinct for every error, documented in --help
 *   corrupt      1 when the bytes themselves are unusable (gc --corrupt may
 *                remove such a segment once its process is gone)
 *   kind         short identifier, used in JSON output
 *   summary      the start of every message of this error
 */
#define RP_READ_ERRORS(X)                                                                          \
	X(MISSING, 3, 0, "missing", "no such segment")                                             \
	X(PERMISSION, 4, 0, "permission", "permission denied")                                     \
	X(NOT_RINGFENCE, 5, 1, "not-ringfence", "not a ringfence segment")                         \
	X(VERSION, 6, 1, "version", "unsupported layout version")                                  \
	X(TRUNCATED, 7, 1, "truncated", "truncated")                                               \
	X(LAYOUT, 8, 1, "layout", "out-of-range layout")                                           \
	X(PID_MISMATCH, 9, 1, "pid-mismatch", "pid mismatch")                                      \
	X(IO, 10, 0, "io", "cannot read")

enum rp_read_error {
	RP_READ_OK = 0,
#define RP_READ_ERROR_ENUM(name, status, corrupt, kind, summary) RP_READ_##name,
	RP_READ_ERRORS(RP_READ_ERROR_ENUM)
#undef RP_READ_ERROR_ENUM
	RP_READ__COUNT
};

#define RP_MESSAGE_MAX 512

struct rp_failure {
	enum rp_read_error error;
	char message[RP_MESSAGE_MAX]; /* names the segment and what was wrong */
};

struct rp_snapshot {
	pid_t pid;                  /* from the name, equal to hdr.pid */
	char name[RF_SHM_NAME_MAX]; /* "/<prefix>.<pid>", for shm_open and shm_unlink */
	char path[RP_PATH_MAX];     /* "/dev/shm/<prefix>.<pid>", for people */
	dev_t dev;                  /* the file that was read: gc unlinks only that one */
	ino_t ino;
	uid_t uid; /* its owner: the process's effective user */
	/* Validated copy of the header this reader knows (a newer writer's may
	 * be longer): strings are NUL-terminated, enums and config in range. */
	struct rf_shm_header hdr;
	/* The counters this reader knows, the first stats_count of them present
	 * in the segment: an older writer of this version publishes fewer, and
	 * the others are absent (0 here, and left out by every printer). */
	uint64_t stats[RF_STAT__COUNT];
	unsigned stats_count;
	/* The whole validated copy, and where each section of RF_SHM_SECTION_LIST
	 * lies in it (bounds and count checked; entries of the size this reader
	 * knows, see rp_segment_check); owned, see rp_snapshot_release. */
	unsigned char *buf;
	size_t len;
	struct rf_shm_section sections[RF_SHM_SECTION__END];
	/* No stable copy within the retries: seq stayed odd (the writer died or
	 * stopped in a publish) or kept moving. The figures may be inconsistent. */
	bool torn;
	struct rp_liveness live;
};

/*
 * Whether the segment has counter stat: an older writer of the same layout
 * version publishes fewer counters than this reader knows, and a counter it
 * does not have is absent, not 0.
 */
bool rp_snapshot_has_stat(const struct rp_snapshot *snap, enum rf_stat stat);

/* Free what a successful rp_segment_read allocated; safe on any snapshot. */
void rp_snapshot_release(struct rp_snapshot *snap);

/*
 * The entries of a table section of a validated snapshot, *count of them, an
 * array of the section's entry type (whatever size a newer writer gave its
 * entries).
 */
const void *rp_snapshot_table(const struct rp_snapshot *snap, enum rf_shm_section_kind kind,
			      uint64_t *count);

/*
 * Metadata of an error from RP_READ_ERRORS: the exit status, the kind,
 * whether the bytes are unusable. RP_READ_OK gives 0 / "ok"; a value outside
 * the list, status 1 and "unknown".
 */
int rp_read_error_status(enum rp_read_error error);
const char *rp_read_error_kind(enum rp_read_error error);
bool rp_read_error_corrupt(enum rp_read_error error);

/*
 * Fills *fail with "<path>: <summary of error>: <what fmt says>" and returns
 * error, so that a check can end with `return rp_failure_set(...)`. Every
 * message of the reader starts with the segment's path and its error's
 * summary this way.
 */
__attribute__((format(printf, 4, 5))) enum rp_read_error rp_failure_set(struct rp_failure *fail,
									enum rp_read_error error,
									const char *path,
									const char *fmt, ...);

#endif /* RP_SNAPSHOT_H */
