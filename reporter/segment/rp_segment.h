/*
 * rp_segment.h - the untrusted reader of one segment.
 *
 * Follows the "Reading" rules of rf_shm.h: the segment is copied into private
 * memory with pread (never mapped), read under the sequence lock, and every
 * field a printer will use is checked (rp_segment_check.h) before the
 * snapshot is handed out. Knows nothing of the command line, so the unit
 * tests call it directly.
 */
#ifndef RP_SEGMENT_H
#define RP_SEGMENT_H

#include <stddef.h>
#include <sys/types.h>

#include "rp_snapshot.h"

/* A segment bigger than this is refused before it is copied. */
#define RP_SEGMENT_SIZE_MAX (64 * RF_MIB)

/*
 * Read /<prefix>.<pid> into *snap. The verdict is a category, not an errno,
 * because each category has its own exit status: RP_READ_OK, or an error
 * with fail->message filled in; then only snap->name, path, dev, ino and uid
 * are meaningful (ino is 0 when the file could not be opened). prefix must be a
 * valid RINGFENCE_SHM_PREFIX value.
 */
enum rp_read_error rp_segment_read(const char *prefix, pid_t pid, struct rp_snapshot *snap,
				   struct rp_failure *fail);

/*
 * rp_segment_read, refusing (RP_READ_LAYOUT) a segment bigger than size_max
 * bytes (at most RP_SEGMENT_SIZE_MAX) before anything is copied: for a
 * reader that must keep its memory small whatever a segment claims (serve).
 */
enum rp_read_error rp_segment_read_bounded(const char *prefix, pid_t pid, size_t size_max,
					   struct rp_snapshot *snap, struct rp_failure *fail);

/*
 * What rp_segment_read does once it has its copy, on len bytes already in
 * memory (copied first: bytes is not changed), as the segment of pid under
 * prefix: the same limit, checks, verdicts and messages, and the liveness
 * of that pid from /proc. For callers that get the bytes otherwise (the
 * fuzz targets); snap->dev, ino and uid are 0, torn is false.
 */
enum rp_read_error rp_segment_parse(const char *prefix, pid_t pid, const void *bytes, size_t len,
				    struct rp_snapshot *snap, struct rp_failure *fail);

#endif /* RP_SEGMENT_H */
