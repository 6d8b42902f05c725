/*
 * rf_segment.c - the writer's side of the shared-memory segment.
 */
#include "rf_segment.h"

#include "rf_build_config.h"
#include "rf_stats.h"
#include "rf_time.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

/* The section directory, from RF_SHM_SECTION_LIST: one entry per kind, in order. */
static void rf_segment_directory(struct rf_shm_header *hdr)
{
	uint32_t i = 0;

#define RF_SEGMENT_SECTION(KIND, member, type, cap)                                                \
	hdr->sections[i].kind = RF_SHM_SECTION_##KIND;                                             \
	hdr->sections[i].entry_size = sizeof(type);                                                \
	hdr->sections[i].offset = offsetof(struct rf_shm_layout, member);                          \
	hdr->sections[i].capacity = (cap);                                                         \
	hdr->sections[i].count = 0;                                                                \
	i++;
	RF_SHM_SECTION_LIST(RF_SEGMENT_SECTION)
#undef RF_SEGMENT_SECTION
	hdr->section_count = i;
	/* Fixed sections are whole from the start. */
	hdr->sections[RF_SHM_SECTION_STATS - 1].count = RF_STAT__COUNT;
}

int rf_segment_create(struct rf_segment *seg, const char *prefix,
		      const struct rf_segment_identity *id)
{
	struct rf_shm_layout *shm;
	struct rf_shm_header *hdr;
	int fd, err;

	seg->shm = NULL;
	rf_segment_name(prefix, id->pid, seg->name);
	fd = rf_segment_open_excl(seg->name);
	if (fd < 0)
		return fd;
	/* The umask may have narrowed the mode further; 0600 is the contract. */
	if (fchmod(fd, 0600) < 0 || ftruncate(fd, (off_t)RF_SHM_SIZE) < 0) {
		err = -errno;
		goto fail;
	}
	shm = mmap(NULL, RF_SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (shm == MAP_FAILED) {
		err = -errno;
		goto fail;
	}
	close(fd);

	/* ftruncate zero-filled the segment: only non-zero fields are written. */
	hdr = &shm->header;
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
	rf_segment_directory(hdr);
	hdr->status = RF_SHM_STATUS_RUNNING;
	hdr->publish_realtime_ns = rf_clock_ns(CLOCK_REALTIME);
	hdr->publish_monotonic_ns = rf_clock_ns(CLOCK_MONOTONIC);

	/* Everything above must be visible before a reader can accept the magic. */
	__atomic_store_n(&hdr->magic, RF_SHM_MAGIC, __ATOMIC_RELEASE);
	seg->shm = shm;
	return 0;

fail:
	close(fd);
	shm_unlink(seg->name);
	return err;
}

/* The sequence lock: see "Publication" in rf_shm.h. */
void rf_segment_publish_begin(struct rf_segment *seg)
{
	struct rf_shm_header *hdr;
	uint64_t seq;

	if (seg->shm == NULL)
		return;
	hdr = &seg->shm->header;
	seq = __atomic_load_n(&hdr->seq, __ATOMIC_RELAXED);
	__atomic_store_n(&hdr->seq, seq | 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

void rf_segment_publish_end(struct rf_segment *seg)
{
	struct rf_shm_header *hdr;
	uint64_t seq;

	if (seg->shm == NULL)
		return;
	hdr = &seg->shm->header;
	hdr->publish_realtime_ns = rf_clock_ns(CLOCK_REALTIME);
	hdr->publish_monotonic_ns = rf_clock_ns(CLOCK_MONOTONIC);
	seq = __atomic_load_n(&hdr->seq, __ATOMIC_RELAXED);
	__atomic_store_n(&hdr->seq, seq + 1, __ATOMIC_RELEASE);
}

void rf_segment_mark_exited(struct rf_segment *seg, int status_known, int status)
{
	struct rf_shm_header *hdr;

	if (seg->shm == NULL)
		return;
	hdr = &seg->shm->header;
	hdr->exit_status = status;
	hdr->exit_status_known = status_known ? 1 : 0;
	hdr->exit_realtime_ns = rf_clock_ns(CLOCK_REALTIME);
	hdr->status = RF_SHM_STATUS_EXITED;
}

void rf_segment_section_count(struct rf_segment *seg, enum rf_shm_section_kind kind, uint64_t count)
{
	struct rf_shm_section *sec;

	if (seg->shm == NULL || kind <= RF_SHM_SECTION__NONE || kind >= RF_SHM_SECTION__END)
		return;
	sec = &seg->shm->header.sections[kind - 1];
	sec->count = count < sec->capacity ? count : sec->capacity;
}

void rf_segment_detach(struct rf_segment *seg)
{
	if (seg->shm != NULL)
		munmap(seg->shm, RF_SHM_SIZE);
	seg->shm = NULL;
}

void rf_publication_begin(struct rf_publication *pub, struct rf_segment *seg,
			  const struct rf_shm_config *config, bool exiting)
{
	pub->seg = seg;
	pub->config = config;
	pub->now_ns = rf_clock_ns(CLOCK_MONOTONIC);
	pub->exiting = exiting;
	pub->heap_live = 0;
	memset(pub->heap_by_id, 0, sizeof(pub->heap_by_id));
	rf_stats_add(RF_STAT_publishes, 1);
	rf_stats_snapshot(pub->stats);
	rf_segment_publish_begin(seg);
}

void rf_publication_end(struct rf_publication *pub)
{
	if (pub->seg->shm != NULL)
		memcpy(pub->seg->shm->stats, pub->stats, sizeof(pub->stats));
	rf_segment_publish_end(pub->seg);
}
