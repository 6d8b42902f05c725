/*
 * rp_claim.h - whether a file named like a segment can be verified as the
 * caller's own segment: what `gc` may remove. A name proves nothing; any
 * process of the user may put anything under it.
 *
 * Verified means: a regular file (never a link, a FIFO, a directory or a
 * device), owned by the caller's effective user, no bigger than a segment
 * may be (RP_SEGMENT_SIZE_MAX), whose bytes are
 *   - a segment of some layout version: the magic at offset 0 and a version
 *     other than 0 at offset 8 (the two fields fixed in every version), or
 *   - a segment cut short, of the shim's own making: empty (a segment being
 *     created, or a writer that failed), shorter than a header and all
 *     zeros, or shorter than a header and starting with the magic.
 */
#ifndef RP_CLAIM_H
#define RP_CLAIM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

struct rp_claim {
	bool ours;     /* verified: gc may remove it */
	char why[192]; /* when not: what it is instead, a phrase for "kept PATH (why; ...)" */
	dev_t dev;     /* the file judged; 0 when it was not opened */
	ino_t ino;
};

/*
 * The verdict on a file of status st (from fstat of a descriptor opened
 * without following a link, or from lstat) whose first head_len bytes are
 * head: the first sizeof(struct rf_shm_header) bytes, or all of them when
 * the file is shorter. caller is the effective uid asking. No I/O. true when
 * verified; else false with why (why_len bytes) saying what the file is.
 */
bool rp_claim_judge(const struct stat *st, uid_t caller, const unsigned char *head, size_t head_len,
		    char *why, size_t why_len);

/*
 * Judges the file named /name (path: the same, for people) for the caller's
 * effective uid: lstat first, so that what is not a regular file is never
 * opened; a regular file is opened without following a link or blocking,
 * checked again by fstat, and its head read. 0 with *claim filled in (a file
 * that could not be opened is not verified: why says so), or -ENOENT when
 * nothing holds the name.
 */
int rp_claim_file(const char *name, const char *path, struct rp_claim *claim);

#endif /* RP_CLAIM_H */
