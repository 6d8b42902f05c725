/*
 * rp_segment_check.h - the reader's checks, rules 1, 3 and 4 of "Reading"
 * in rf_shm.h, on a private copy of a segment.
 *
 * Apart from the copying (rp_segment.c) so that the rules can be read in one
 * place: the header (identity, sizes), the section directory (every kind,
 * every bound), the entries in use of every table (strings, indexes between
 * sections, enumerations), the header's fields and configuration, the pid.
 */
#ifndef RP_SEGMENT_CHECK_H
#define RP_SEGMENT_CHECK_H

#include <stddef.h>
#include <sys/types.h>

#include "rp_snapshot.h"

/*
 * Checks the len bytes of buf, copied from the segment of pid, and fills
 * snap->hdr, stats, stats_count and sections from them as it goes
 * (snap->path names the segment in messages). What a newer writer of the
 * same version adds is ignored: a longer header, more counters, section
 * kinds this reader does not know, fields appended to entries; buf is
 * rewritten so that every table holds entries of the size this reader
 * knows. RP_READ_OK when every field a printer will use may be trusted;
 * else the first problem found, described in *fail, and snap must not be
 * used.
 */
enum rp_read_error rp_segment_check(unsigned char *buf, size_t len, pid_t pid,
				    struct rp_snapshot *snap, struct rp_failure *fail);

#endif /* RP_SEGMENT_CHECK_H */
