/*
 * rp_claim.c - whether a file named like a segment is verifiably the
 * caller's own segment.
 */
#define _GNU_SOURCE
#include "rp_claim.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rf_shm.h"
#include "rp_format.h"
#include "rp_segment.h"

static bool rp_claim_zeros(const unsigned char *head, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (head[i] != 0)
			return false;
	return true;
}

bool rp_claim_judge(const struct stat *st, uid_t caller, const unsigned char *head, size_t head_len,
		    char *why, size_t why_len)
{
	const size_t header = sizeof(struct rf_shm_header);
	uint64_t magic = 0;
	uint32_t version = 0;

	why[0] = '\0';
	if (!S_ISREG(st->st_mode)) {
		snprintf(why, why_len, "%s, not a regular file", rp_file_kind(st->st_mode));
		return false;
	}
	if (st->st_uid != caller) {
		snprintf(why, why_len, "owned by uid %u, not by the caller (uid %u)",
			 (unsigned)st->st_uid, (unsigned)caller);
		return false;
	}
	if (st->st_size < 0 || (uint64_t)st->st_size > RP_SEGMENT_SIZE_MAX) {
		snprintf(why, why_len, "%jd bytes, more than a segment may have (%llu MiB)",
			 (intmax_t)st->st_size, (unsigned long long)(RP_SEGMENT_SIZE_MAX / RF_MIB));
		return false;
	}
	if (head_len != ((size_t)st->st_size < header ? (size_t)st->st_size : header)) {
		snprintf(why, why_len, "changed while it was read");
		return false;
	}
	if (head_len >= sizeof(magic))
		memcpy(&magic, head + offsetof(struct rf_shm_header, magic), sizeof(magic));
	if (head_len >= offsetof(struct rf_shm_header, version) + sizeof(version))
		memcpy(&version, head + offsetof(struct rf_shm_header, version), sizeof(version));
	if (head_len < header) {
		/* Cut short: empty, zeros, or the start of a segment of ours. */
		if (rp_claim_zeros(head, head_len) || magic == RF_SHM_MAGIC)
			return true;
		snprintf(why, why_len,
			 "%zu bytes, shorter than a segment, neither zeros nor starting with "
			 "ringfence's magic",
			 head_len);
		return false;
	}
	if (magic != RF_SHM_MAGIC) {
		snprintf(why, why_len, "does not start with ringfence's magic");
		return false;
	}
	if (version == 0) {
		snprintf(why, why_len, "ringfence's magic, but layout version 0, which none has");
		return false;
	}
	return true;
}

int rp_claim_file(const char *name, const char *path, struct rp_claim *claim)
{
	unsigned char head[sizeof(struct rf_shm_header)];
	struct stat st;
	ssize_t n = 0;
	int fd, err = 0;

	memset(claim, 0, sizeof(*claim));
	if (lstat(path, &st) < 0) {
		err = errno;
		if (err == ENOENT)
			return -ENOENT;
		snprintf(claim->why, sizeof(claim->why), "cannot tell what it is: %s",
			 strerror(err));
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		rp_claim_judge(&st, geteuid(), NULL, 0, claim->why, sizeof(claim->why));
		return 0;
	}
	fd = shm_open(name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0);
	if (fd < 0) {
		err = errno;
		if (err == ENOENT)
			return -ENOENT;
		snprintf(claim->why, sizeof(claim->why), "cannot be opened: %s", strerror(err));
		return 0;
	}
	/* What was opened is judged, whatever lstat saw: the name may have changed hands. */
	if (fstat(fd, &st) < 0) {
		err = errno;
		close(fd);
		snprintf(claim->why, sizeof(claim->why), "cannot be examined: %s", strerror(err));
		return 0;
	}
	if (S_ISREG(st.st_mode) && st.st_size > 0) {
		size_t want = (size_t)st.st_size < sizeof(head) ? (size_t)st.st_size : sizeof(head);

		n = pread(fd, head, want, 0);
		err = errno;
	}
	close(fd);
	claim->dev = st.st_dev;
	claim->ino = st.st_ino;
	if (n < 0)
		snprintf(claim->why, sizeof(claim->why), "cannot be read: %s", strerror(err));
	else
		claim->ours = rp_claim_judge(&st, geteuid(), head, (size_t)n, claim->why,
					     sizeof(claim->why));
	return 0;
}
