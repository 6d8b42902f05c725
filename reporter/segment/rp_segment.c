/*
 * rp_segment.c - reading one segment: open it without trusting what the name
 * leads to, copy it under the sequence lock, have the copy checked
 * (rp_segment_check.c), judge the liveness of its process.
 */
#define _GNU_SOURCE
#include "rp_segment.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rp_format.h"
#include "rp_segment_check.h"

/*
 * Copies tried before giving up on a stable one. A publish is a few hundred
 * bytes of memcpy, so a live writer lets us through on the second try; only a
 * writer that died or stopped inside a publish exhausts these.
 */
#define RP_READ_TRIES 8
#define RP_READ_RETRY_NS 1000000L

/* Who owns the segment, for the permission message: stat needs no read access. */
static void rp_owner_describe(const char *path, char *buf, size_t len)
{
	struct passwd pw, *found = NULL;
	char pwbuf[1024];
	struct stat st;

	if (stat(path, &st) < 0) {
		snprintf(buf, len, "another user");
		return;
	}
	getpwuid_r(st.st_uid, &pw, pwbuf, sizeof(pwbuf), &found);
	if (found != NULL)
		snprintf(buf, len, "uid %u (%s), mode %04o", (unsigned)st.st_uid, found->pw_name,
			 (unsigned)(st.st_mode & 07777));
	else
		snprintf(buf, len, "uid %u, mode %04o", (unsigned)st.st_uid,
			 (unsigned)(st.st_mode & 07777));
}

static enum rp_read_error rp_open_fail(const char *prefix, pid_t pid, const char *path, int err,
				       struct rp_failure *fail)
{
	char owner[160];

	switch (err) {
	case ENOENT:
		return rp_failure_set(fail, RP_READ_MISSING, path,
				      "pid %d has no segment under prefix \"%s\" (it never ran "
				      "under the shim, or the segment was removed); `ringfence ls` "
				      "lists the segments",
				      (int)pid, prefix);
	case EACCES:
	case EPERM:
		rp_owner_describe(path, owner, sizeof(owner));
		return rp_failure_set(fail, RP_READ_PERMISSION, path,
				      "owned by %s; segments are created mode 0600, readable by "
				      "their owner and root only: run as that user",
				      owner);
	case ELOOP:
		return rp_failure_set(fail, RP_READ_NOT_RINGFENCE, path,
				      "a symbolic link, never created by the shim");
	default:
		return rp_failure_set(fail, RP_READ_IO, path, "%s", strerror(err));
	}
}

/* Reads up to len bytes at off; the count read (short only at end of file) or -errno. */
static ssize_t rp_pread_full(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* seq as the file holds it now; 1 (odd: unstable) when it cannot be read. */
static uint64_t rp_seq_read(int fd, size_t size)
{
	const size_t off = offsetof(struct rf_shm_header, seq);
	uint64_t seq;

	if (size < off + sizeof(seq) ||
	    rp_pread_full(fd, &seq, sizeof(seq), (off_t)off) != (ssize_t)sizeof(seq))
		return 1;
	return seq;
}

/* The first bytes name the format: foreign files are not worth retrying. */
static bool rp_looks_ours(const unsigned char *buf, size_t len)
{
	struct rf_shm_header hdr;

	if (len < sizeof(hdr))
		return false;
	memcpy(&hdr, buf, sizeof(hdr));
	return hdr.magic == RF_SHM_MAGIC && hdr.version == RF_SHM_VERSION;
}

/*
 * Copies the file under the sequence lock: seq, copy, seq again; equal and
 * even means no publish overlapped the copy. 0 or -errno; *len is what was
 * copied (less than size if the file shrank meanwhile).
 */
static int rp_copy_stable(int fd, unsigned char *buf, size_t size, size_t *len, bool *torn)
{
	for (int attempt = 1;; attempt++) {
		uint64_t before = rp_seq_read(fd, size);
		ssize_t n = rp_pread_full(fd, buf, size, 0);
		uint64_t after = rp_seq_read(fd, size);

		if (n < 0)
			return (int)n;
		*len = (size_t)n;
		*torn = !(before == after && before % 2 == 0);
		if (!*torn || attempt == RP_READ_TRIES || !rp_looks_ours(buf, *len))
			return 0;
		nanosleep(&(struct timespec){0, RP_READ_RETRY_NS}, NULL);
	}
}

/* An empty snapshot of /<prefix>.<pid>, and no failure yet. */
static void rp_segment_start(const char *prefix, pid_t pid, struct rp_snapshot *snap,
			     struct rp_failure *fail)
{
	memset(snap, 0, sizeof(*snap));
	fail->error = RP_READ_OK;
	fail->message[0] = '\0';
	snap->pid = pid;
	rp_segment_name(prefix, pid, snap->name);
	rp_segment_path(prefix, pid, snap->path);
}

static enum rp_read_error rp_segment_too_large(const struct rp_snapshot *snap, intmax_t size,
					       size_t size_max, struct rp_failure *fail)
{
	return rp_failure_set(fail, RP_READ_LAYOUT, snap->path,
			      "size %jd bytes, above the %zu bytes a segment may have", size,
			      size_max);
}

/*
 * The copy checked, and the liveness of its process judged: *snap takes buf
 * (malloc'd, len bytes) when the checks pass, else buf is freed.
 */
static enum rp_read_error rp_segment_accept(unsigned char *buf, size_t len,
					    struct rp_snapshot *snap, struct rp_failure *fail)
{
	enum rp_read_error rc = rp_segment_check(buf, len, snap->pid, snap, fail);

	if (rc != RP_READ_OK) {
		free(buf);
		return rc;
	}
	snap->buf = buf;
	snap->len = len;
	rp_live_assess(&snap->hdr, &snap->live);
	return RP_READ_OK;
}

enum rp_read_error rp_segment_read(const char *prefix, pid_t pid, struct rp_snapshot *snap,
				   struct rp_failure *fail)
{
	return rp_segment_read_bounded(prefix, pid, RP_SEGMENT_SIZE_MAX, snap, fail);
}

enum rp_read_error rp_segment_read_bounded(const char *prefix, pid_t pid, size_t size_max,
					   struct rp_snapshot *snap, struct rp_failure *fail)
{
	unsigned char *buf;
	struct stat st;
	size_t len = 0;
	int fd, err;

	rp_segment_start(prefix, pid, snap, fail);
	/* O_NONBLOCK: a FIFO planted under a segment name must not hang us. */
	fd = shm_open(snap->name, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
	if (fd < 0)
		return rp_open_fail(prefix, pid, snap->path, errno, fail);
	if (fstat(fd, &st) < 0) {
		err = errno;
		close(fd);
		return rp_failure_set(fail, RP_READ_IO, snap->path, "fstat: %s", strerror(err));
	}
	snap->dev = st.st_dev;
	snap->ino = st.st_ino;
	snap->uid = st.st_uid;
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return rp_failure_set(fail, RP_READ_NOT_RINGFENCE, snap->path,
				      "not a regular file but %s (mode %06o)",
				      rp_file_kind(st.st_mode), (unsigned)st.st_mode);
	}
	if (size_max > RP_SEGMENT_SIZE_MAX)
		size_max = RP_SEGMENT_SIZE_MAX;
	if (st.st_size > (off_t)size_max) {
		close(fd);
		return rp_segment_too_large(snap, (intmax_t)st.st_size, size_max, fail);
	}
	buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	if (buf == NULL) {
		close(fd);
		return rp_failure_set(fail, RP_READ_IO, snap->path, "%s", strerror(ENOMEM));
	}
	err = rp_copy_stable(fd, buf, (size_t)st.st_size, &len, &snap->torn);
	close(fd);
	if (err < 0 || len < (size_t)st.st_size) {
		free(buf);
		if (err < 0)
			return rp_failure_set(fail, RP_READ_IO, snap->path, "%s", strerror(-err));
		return rp_failure_set(fail, RP_READ_TRUNCATED, snap->path,
				      "size %zu bytes, shrank from %jd while being read", len,
				      (intmax_t)st.st_size);
	}
	return rp_segment_accept(buf, len, snap, fail);
}

enum rp_read_error rp_segment_parse(const char *prefix, pid_t pid, const void *bytes, size_t len,
				    struct rp_snapshot *snap, struct rp_failure *fail)
{
	unsigned char *buf;

	rp_segment_start(prefix, pid, snap, fail);
	if (len > RP_SEGMENT_SIZE_MAX)
		return rp_segment_too_large(snap, (intmax_t)len, RP_SEGMENT_SIZE_MAX, fail);
	buf = malloc(len > 0 ? len : 1);
	if (buf == NULL)
		return rp_failure_set(fail, RP_READ_IO, snap->path, "%s", strerror(ENOMEM));
	if (len > 0)
		memcpy(buf, bytes, len);
	return rp_segment_accept(buf, len, snap, fail);
}
