/*
 * rf_segment.c - the writer's side of the shared-memory segment.
 */
#include "rf_segment.h"

#include "rf_build_config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int64_t rf_clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void rf_strlcpy(char *dst, const char *src, size_t len)
{
	size_t n = src ? strnlen(src, len - 1) : 0;

	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

void rf_segment_name(const char *prefix, pid_t pid, char *name)
{
	snprintf(name, RF_SHM_NAME_MAX, "/%s.%d", prefix, (int)pid);
}

static int rf_segment_open_excl(const char *name)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : -errno;
		/* Our pid is in the name, so its owner is gone (see rf_segment_create). */
		if (shm_unlink(name) < 0 && errno != ENOENT)
			return -errno;
	}
	return -EEXIST;
}

int rf_segment_create(struct rf_segment *seg, const char *prefix,
		      const struct rf_segment_identity *id)
{
	struct rf_shm_header *hdr;
	struct rf_shm_section *sec;
	int fd, err;

	seg->hdr = NULL;
	rf_segment_name(prefix, id->pid, seg->name);
	fd = rf_segment_open_excl(seg->name);
	if (fd < 0)
		return fd;
	/* The umask may have narrowed the mode further; 0600 is the contract. */
	if (fchmod(fd, 0600) < 0 || ftruncate(fd, (off_t)RF_SHM_SIZE) < 0) {
		err = -errno;
		goto fail;
	}
	hdr = mmap(NULL, RF_SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (hdr == MAP_FAILED) {
		err = -errno;
		goto fail;
	}
	close(fd);

	/* ftruncate zero-filled the segment: only non-zero fields are written. */
	hdr->version = RF_SHM_VERSION;
	hdr->header_size = sizeof(struct rf_shm_header);
	hdr->size = RF_SHM_SIZE;
	hdr->pid = (int32_t)id->pid;
	hdr->passive = id->passive ? 1 : 0;
	hdr->start_ticks = id->start_ticks;
	hdr->start_realtime_ns = id->start_realtime_ns;
	rf_strlcpy(hdr->shim_version, RF_VERSION, sizeof(hdr->shim_version));
	rf_strlcpy(hdr->cmdline, id->cmdline, sizeof(hdr->cmdline));
	rf_strlcpy(hdr->config_error, id->config_error, sizeof(hdr->config_error));
	hdr->config = *id->config;
	hdr->section_count = 1;
	sec = &hdr->sections[0];
	sec->kind = RF_SHM_SECTION_STATS;
	sec->entry_size = sizeof(uint64_t);
	sec->offset = RF_SHM_STATS_OFFSET;
	sec->capacity = RF_STAT__COUNT;
	sec->count = RF_STAT__COUNT;
	hdr->status = RF_SHM_STATUS_RUNNING;
	hdr->publish_realtime_ns = rf_clock_ns(CLOCK_REALTIME);
	hdr->publish_monotonic_ns = rf_clock_ns(CLOCK_MONOTONIC);

	/* Everything above must be visible before a reader can accept the magic. */
	__atomic_store_n(&hdr->magic, RF_SHM_MAGIC, __ATOMIC_RELEASE);
	seg->hdr = hdr;
	return 0;

fail:
	close(fd);
	shm_unlink(seg->name);
	return err;
}

/* The sequence-locked write: see "Publication" in rf_shm.h. */
static void rf_segment_write(struct rf_segment *seg, const uint64_t *stats, int exiting,
			     int status_known, int status)
{
	struct rf_shm_header *hdr = seg->hdr;
	uint64_t seq;

	if (hdr == NULL)
		return;
	seq = __atomic_load_n(&hdr->seq, __ATOMIC_RELAXED);
	__atomic_store_n(&hdr->seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);

	memcpy((char *)hdr + RF_SHM_STATS_OFFSET, stats, RF_STAT__COUNT * sizeof(uint64_t));
	hdr->publish_realtime_ns = rf_clock_ns(CLOCK_REALTIME);
	hdr->publish_monotonic_ns = rf_clock_ns(CLOCK_MONOTONIC);
	if (exiting) {
		hdr->exit_status = status;
		hdr->exit_status_known = status_known ? 1 : 0;
		hdr->exit_realtime_ns = hdr->publish_realtime_ns;
		hdr->status = RF_SHM_STATUS_EXITED;
	}

	__atomic_store_n(&hdr->seq, seq + 2, __ATOMIC_RELEASE);
}

void rf_segment_publish(struct rf_segment *seg, const uint64_t *stats)
{
	rf_segment_write(seg, stats, 0, 0, 0);
}

void rf_segment_exit(struct rf_segment *seg, const uint64_t *stats, int status_known,
		     int status)
{
	rf_segment_write(seg, stats, 1, status_known, status);
}

void rf_segment_detach(struct rf_segment *seg)
{
	if (seg->hdr != NULL)
		munmap(seg->hdr, RF_SHM_SIZE);
	seg->hdr = NULL;
}
