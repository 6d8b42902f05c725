/*
 * rp_sample.c - asking a live process for the current stacks of its threads.
 */
#define _GNU_SOURCE
#include "rp_sample.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rp_format.h"
#include "rp_segment.h"
#include "rf_time.h"

int rp_sample_request(const char *prefix, struct rp_snapshot *snap, int timeout_ms)
{
	char name[RF_SHM_NAME_MAX + sizeof(RF_SHM_SAMPLE_SUFFIX)];
	uint64_t nonce = 0;
	struct stat seg;
	int fd, err;

	snprintf(name, sizeof(name), "/%s.%d" RF_SHM_SAMPLE_SUFFIX, prefix, (int)snap->pid);
	if (getrandom(&nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce))
		nonce = (uint64_t)rf_clock_ns(CLOCK_MONOTONIC) ^ ((uint64_t)getpid() << 32);
	if (nonce == 0)
		nonce = 1;
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 && errno == EEXIST) {
		/* Another reader asked already: wait for the same answer. */
		fd = shm_open(name, O_RDONLY, 0);
		if (fd < 0 || pread(fd, &nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce)) {
			err = errno ? errno : EIO;
			if (fd >= 0)
				close(fd);
			return -err;
		}
	} else if (fd < 0) {
		return -errno;
	} else {
		/* The shim answers requests owned by its own user only. */
		if (geteuid() == 0 && stat(snap->path, &seg) == 0 && seg.st_uid != 0 &&
		    fchown(fd, seg.st_uid, (gid_t)-1) < 0) {
			err = errno;
			close(fd);
			shm_unlink(name);
			return -err;
		}
		if (pwrite(fd, &nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce)) {
			err = errno ? errno : EIO;
			close(fd);
			shm_unlink(name);
			return -err;
		}
	}
	close(fd);
	for (int waited = 0; waited <= timeout_ms; waited += 50) {
		struct rp_snapshot fresh;
		struct rp_failure fail;
		uint64_t n;

		nanosleep(&(struct timespec){0, 50000000}, NULL);
		if (rp_segment_read(prefix, snap->pid, &fresh, &fail) != RP_READ_OK)
			continue;
		const struct rf_shm_thread_info *info =
			rp_snapshot_table(&fresh, RF_SHM_SECTION_THREAD_INFO, &n);
		if (n > 0 && info->sample_request == nonce) {
			rp_snapshot_release(snap);
			*snap = fresh;
			return 0;
		}
		if (fresh.live.state != RP_STATE_ALIVE) {
			rp_snapshot_release(snap);
			*snap = fresh;
			break;
		}
		rp_snapshot_release(&fresh);
	}
	shm_unlink(name);
	return -ETIMEDOUT;
}
