/*
 * rp_sample.c - asking a live process for the current stacks of its threads.
 *
 * The request's name lies in /dev/shm, where any process of the user (and
 * root) may have put anything first: whatever is found there is opened
 * without following a link or blocking on a FIFO, and read only once fstat
 * says it is a regular file of the process's user. One deadline, from the
 * caller's timeout, bounds every wait.
 */
#define _GNU_SOURCE
#include "rp_sample.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rp_format.h"
#include "rp_list.h"
#include "rp_segment.h"
#include "rf_time.h"

#define RP_SAMPLE_POLL_NS INT64_C(50000000) /* between reads of the segment */
#define RP_SAMPLE_RETRY_NS INT64_C(5000000) /* for another reader's nonce, or a name to free */

/* The request of one process: its names, and the file this reader made, if any. */
struct rp_sample_req {
	char name[RF_SHM_NAME_MAX + sizeof(RF_SHM_SAMPLE_SUFFIX)]; /* for shm_open */
	char path[RP_PATH_MAX + sizeof(RF_SHM_SAMPLE_SUFFIX)];     /* for people */
	bool created;
	dev_t dev;
	ino_t ino;
};

static uint64_t rp_sample_nonce(void)
{
	uint64_t nonce = 0;

	if (getrandom(&nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce))
		nonce = (uint64_t)rf_clock_ns(CLOCK_MONOTONIC) ^ ((uint64_t)getpid() << 32);
	return nonce != 0 ? nonce : 1; /* 0 is "no request" in THREAD_INFO */
}

/* Sleeps step_ns, or until the deadline when it comes first; false once it has passed. */
static bool rp_sample_sleep(int64_t deadline, int64_t step_ns)
{
	int64_t left = deadline - rf_clock_ns(CLOCK_MONOTONIC);
	struct timespec ts;

	if (left <= 0)
		return false;
	ts = rf_timespec_of_ns(left < step_ns ? left : step_ns);
	nanosleep(&ts, NULL);
	return true;
}

/* Something that is not a request holds the name: say what, and make no request. */
static int rp_sample_foreign(const struct rp_sample_req *req, mode_t mode, char *why,
			     size_t why_len)
{
	snprintf(why, why_len, "%s is %s, not a sample request: left alone (remove it to sample)",
		 req->path, rp_file_kind(mode));
	return -EEXIST;
}

/*
 * Makes the request: a new file holding nonce, owned by the process's user
 * (the shim answers its own user's requests only, so root asks in its name).
 * 0; -EEXIST when the name is taken; another -errno, with why, when the file
 * could not be made.
 */
static int rp_sample_create(struct rp_sample_req *req, const struct rp_snapshot *snap,
			    uint64_t nonce, char *why, size_t why_len)
{
	struct stat st;
	int fd, err = 0;

	fd = shm_open(req->name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = errno;
		if (err != EEXIST)
			snprintf(why, why_len, "cannot create %s: %s", req->path, strerror(err));
		return -err;
	}
	if (fstat(fd, &st) < 0 || (st.st_uid != snap->uid && fchown(fd, snap->uid, (gid_t)-1) < 0))
		err = errno;
	else if (pwrite(fd, &nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce))
		err = errno != 0 ? errno : EIO;
	close(fd);
	if (err != 0) {
		shm_unlink(req->name);
		snprintf(why, why_len, "cannot write %s: %s", req->path, strerror(err));
		return -err;
	}
	req->created = true;
	req->dev = st.st_dev;
	req->ino = st.st_ino;
	return 0;
}

/*
 * The nonce of the request another reader made, to wait for the same
 * answer. 0; -ENOENT when the name went away meanwhile (answered: ask
 * again), -EAGAIN when its nonce is not written yet; another -errno, with
 * why, when something else holds the name.
 */
static int rp_sample_join(const struct rp_sample_req *req, const struct rp_snapshot *snap,
			  uint64_t *nonce, char *why, size_t why_len)
{
	struct stat st;
	ssize_t n;
	int fd, err;

	fd = shm_open(req->name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0);
	if (fd < 0) {
		err = errno;
		if (err == ENOENT)
			return -ENOENT;
		if (lstat(req->path, &st) == 0 && !S_ISREG(st.st_mode))
			return rp_sample_foreign(req, st.st_mode, why, why_len);
		snprintf(why, why_len, "cannot open %s: %s", req->path, strerror(err));
		return -err;
	}
	if (fstat(fd, &st) < 0) {
		err = errno;
		close(fd);
		snprintf(why, why_len, "cannot open %s: %s", req->path, strerror(err));
		return -err;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return rp_sample_foreign(req, st.st_mode, why, why_len);
	}
	if (st.st_uid != snap->uid) {
		close(fd);
		snprintf(why, why_len,
			 "%s is owned by uid %u, not by the process's user (uid %u): the shim "
			 "ignores it (remove it to sample)",
			 req->path, (unsigned)st.st_uid, (unsigned)snap->uid);
		return -EPERM;
	}
	n = st.st_size >= (off_t)sizeof(*nonce) ? pread(fd, nonce, sizeof(*nonce), 0) : 0;
	close(fd);
	if (n != (ssize_t)sizeof(*nonce))
		return -EAGAIN;
	if (*nonce == 0) /* as the shim takes it */
		*nonce = 1;
	return 0;
}

/* Reads the segment until it answers nonce, the process ends, or the deadline passes. */
static int rp_sample_wait(const char *prefix, struct rp_snapshot *snap, uint64_t nonce,
			  int64_t deadline)
{
	while (rp_sample_sleep(deadline, RP_SAMPLE_POLL_NS)) {
		const struct rf_shm_thread_info *info;
		struct rp_snapshot fresh;
		struct rp_failure fail;
		bool answered;
		uint64_t n;

		if (rp_segment_read(prefix, snap->pid, &fresh, &fail) != RP_READ_OK)
			continue;
		info = rp_snapshot_table(&fresh, RF_SHM_SECTION_THREAD_INFO, &n);
		answered = n > 0 && info->sample_request == nonce;
		if (answered || fresh.live.state != RP_STATE_ALIVE) {
			rp_snapshot_release(snap);
			*snap = fresh;
			return answered ? 0 : -ETIMEDOUT;
		}
		rp_snapshot_release(&fresh);
	}
	return -ETIMEDOUT;
}

/* Removes the request this reader made while the name still holds it, nothing else. */
static void rp_sample_withdraw(const struct rp_sample_req *req)
{
	struct stat st;

	if (req->created && lstat(req->path, &st) == 0 && st.st_dev == req->dev &&
	    st.st_ino == req->ino)
		shm_unlink(req->name);
}

int rp_sample_request(const char *prefix, struct rp_snapshot *snap, int timeout_ms, char *why,
		      size_t why_len)
{
	int64_t deadline = rf_clock_ns(CLOCK_MONOTONIC) + (int64_t)timeout_ms * 1000000;
	struct rp_sample_req req = {.created = false};
	uint64_t nonce = rp_sample_nonce();
	int rc;

	snprintf(req.name, sizeof(req.name), "/%s.%d" RF_SHM_SAMPLE_SUFFIX, prefix, (int)snap->pid);
	snprintf(req.path, sizeof(req.path), RP_SHM_DIR "%s", req.name);
	why[0] = '\0';
	/* Ours, or another reader's to share; a name freed meanwhile is tried again. */
	for (;;) {
		rc = rp_sample_create(&req, snap, nonce, why, why_len);
		if (rc == -EEXIST)
			rc = rp_sample_join(&req, snap, &nonce, why, why_len);
		if (rc != -ENOENT && rc != -EAGAIN)
			break;
		if (!rp_sample_sleep(deadline, RP_SAMPLE_RETRY_NS))
			return -ETIMEDOUT;
	}
	if (rc < 0)
		return rc;
	rc = rp_sample_wait(prefix, snap, nonce, deadline);
	if (rc == -ETIMEDOUT)
		rp_sample_withdraw(&req);
	return rc;
}
