/*
 * rf_segment.c - the writer's side of the shared-memory segment.
 */
#define _GNU_SOURCE
#include "rf_segment.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "rf_build_config.h"
#include "rf_proc.h"
#include "rf_stats.h"
#include "rf_time.h"

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

#define RF_SEGMENT_PAGE 4096

/*
 * Allocate the pages holding [offset, offset + len) of the file, bytes the
 * writer has not written yet: 0 or a negative errno. tmpfs takes fallocate
 * (which leaves written bytes as they are); a file system that does not
 * gets those bytes written with zeros, which allocates their pages as well.
 */
static int rf_segment_allocate(int fd, uint64_t offset, uint64_t len)
{
	static const unsigned char zeros[RF_SEGMENT_PAGE];
	uint64_t start = offset & ~(uint64_t)(RF_SEGMENT_PAGE - 1);
	uint64_t end = (offset + len + RF_SEGMENT_PAGE - 1) & ~(uint64_t)(RF_SEGMENT_PAGE - 1);
	int saved = errno, rc = 0;

	if (end > RF_SHM_SIZE)
		end = RF_SHM_SIZE;
	if (len == 0 || end <= start)
		return 0;
	if (fallocate(fd, 0, (off_t)start, (off_t)(end - start)) < 0) {
		rc = -errno;
		for (uint64_t at = offset; rc == -EOPNOTSUPP && at < offset + len;) {
			size_t n = offset + len - at < sizeof(zeros) ? offset + len - at
								     : sizeof(zeros);
			ssize_t w = pwrite(fd, zeros, n, (off_t)at);

			if (w <= 0)
				rc = w < 0 ? -errno : -ENOSPC;
			else
				at += (uint64_t)w;
			if (at >= offset + len)
				rc = 0;
		}
	}
	errno = saved;
	return rc;
}

uint64_t rf_segment_room(struct rf_segment *seg, enum rf_shm_section_kind kind, uint64_t want)
{
	const struct rf_shm_section *sec;
	uint64_t have;

	if (seg->shm == NULL || kind <= RF_SHM_SECTION__NONE || kind >= RF_SHM_SECTION__END)
		return 0;
	sec = &seg->shm->header.sections[kind - 1];
	if (want > sec->capacity)
		want = sec->capacity;
	have = seg->room[kind];
	if (want <= have || seg->fd < 0)
		return want;
	if (rf_segment_allocate(seg->fd, sec->offset + have * sec->entry_size,
				(want - have) * sec->entry_size) < 0) {
		rf_stats_add(RF_STAT_shim_errors, 1);
		return have;
	}
	seg->room[kind] = want;
	return want;
}

void rf_segment_attach_memory(struct rf_segment *seg, struct rf_shm_layout *shm)
{
	seg->shm = shm;
	seg->fd = -1;
	rf_segment_directory(&shm->header);
	for (int kind = 1; kind < RF_SHM_SECTION__END; kind++)
		seg->room[kind] = shm->header.sections[kind - 1].capacity;
}

int rf_segment_create(struct rf_segment *seg, const char *prefix,
		      const struct rf_segment_identity *id)
{
	struct rf_shm_layout *shm;
	struct rf_shm_header *hdr;
	int fd, err;

	seg->shm = NULL;
	seg->fd = -1;
	memset(seg->room, 0, sizeof(seg->room));
	rf_segment_name(prefix, id->pid, seg->name);
	fd = rf_segment_open_excl(seg->name);
	if (fd < 0)
		return fd;
	/* The umask may have narrowed the mode further; 0600 is the contract. The
	 * header and the stats section are written from the start: allocated now,
	 * the rest as publications need it (rf_segment_room). */
	if (fchmod(fd, 0600) < 0 || ftruncate(fd, (off_t)RF_SHM_SIZE) < 0) {
		err = -errno;
		goto fail;
	}
	err = rf_segment_allocate(fd, 0,
				  offsetof(struct rf_shm_layout, stats) + sizeof(shm->stats));
	if (err < 0)
		goto fail;
	shm = mmap(NULL, RF_SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (shm == MAP_FAILED) {
		err = -errno;
		goto fail;
	}
	seg->fd = fd;

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
	seg->room[RF_SHM_SECTION_STATS] = RF_STAT__COUNT;
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
	/*
	 * The odd seq before any store of the publication, for readers in other
	 * processes (pread), which no sanitizer sees. gcc's ThreadSanitizer
	 * cannot model a fence and warns where one is (-Wtsan); it still emits it.
	 */
#if defined(__SANITIZE_THREAD__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wtsan"
#endif
	__atomic_thread_fence(__ATOMIC_RELEASE);
#if defined(__SANITIZE_THREAD__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic pop
#endif
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
	/* Never more than the entries whose pages could be allocated. */
	if (count > seg->room[kind] && seg->fd >= 0)
		count = seg->room[kind];
	sec->count = count < sec->capacity ? count : sec->capacity;
}

void rf_segment_detach(struct rf_segment *seg)
{
	if (seg->shm != NULL)
		munmap(seg->shm, RF_SHM_SIZE);
	if (seg->fd >= 0)
		close(seg->fd);
	seg->shm = NULL;
	seg->fd = -1;
}

void rf_segment_owner(struct rf_segment *seg, uid_t uid, gid_t gid)
{
	int saved = errno;

	/* Best effort: without the privilege the file stays whose it was. */
	if (seg->shm != NULL && seg->fd >= 0 && fchown(seg->fd, uid, gid) < 0)
		errno = saved;
	errno = saved;
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

/* ---- what ended processes leave behind ------------------------------------------- */

#define RF_SEGMENT_DIR "/dev/shm"
#define RF_SEGMENT_PRUNE_MAX 1024 /* ended segments weighed at once */
/* A segment whose process seems gone, yet published this recently, is left alone:
 * its process may live in another pid namespace that shares /dev/shm. */
#define RF_SEGMENT_QUIET_NS (60 * RF_NS_PER_SEC)

struct rf_segment_ended {
	int64_t published; /* CLOCK_REALTIME of its last publication */
	pid_t pid;
};

/* Only one prune runs in a process at a time (start-up, a fork child): static buffers. */
static struct rf_segment_ended rf_segment_candidates[RF_SEGMENT_PRUNE_MAX];
static unsigned char rf_segment_dents[8192] __attribute__((aligned(8)));

struct rf_segment_dirent {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

/* The pid of a name "<prefix>.<pid>", or 0. */
static pid_t rf_segment_name_pid(const char *name, const char *prefix, size_t plen)
{
	long pid = 0;

	if (strncmp(name, prefix, plen) != 0 || name[plen] != '.' || name[plen + 1] == '\0')
		return 0;
	for (const char *p = name + plen + 1; *p; p++) {
		if (*p < '0' || *p > '9' || pid > 0x3fffffff)
			return 0;
		pid = pid * 10 + (*p - '0');
	}
	return (pid_t)pid;
}

/* Whether the file name under dirfd is a segment of ours, of uid, whose process ended. */
static int rf_segment_is_ended(int dirfd, const char *name, pid_t pid, uid_t uid, int64_t now,
			       int64_t *published)
{
	struct rf_shm_header hdr;
	struct stat st;
	uint64_t ticks;
	int fd, ended = 0;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == uid &&
	    (uint64_t)st.st_size == RF_SHM_SIZE &&
	    pread(fd, &hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr) && hdr.magic == RF_SHM_MAGIC &&
	    hdr.version == RF_SHM_VERSION && hdr.pid == pid) {
		*published = hdr.publish_realtime_ns;
		if (hdr.status == RF_SHM_STATUS_EXITED)
			ended = 1;
		else if (rf_proc_start_ticks(pid, &ticks) < 0 || ticks != hdr.start_ticks)
			ended = now - hdr.publish_realtime_ns > RF_SEGMENT_QUIET_NS;
	}
	close(fd);
	return ended;
}

/*
 * Walk the directory: count the names of prefix, and with collect, gather
 * up to RF_SEGMENT_PRUNE_MAX ended segments. Returns the count.
 */
static uint64_t rf_segment_scan(int dirfd, const char *prefix, int collect, unsigned *ncand)
{
	size_t plen = strlen(prefix);
	uid_t uid = geteuid();
	int64_t now = rf_clock_ns(CLOCK_REALTIME);
	uint64_t count = 0;
	long n;

	*ncand = 0;
	lseek(dirfd, 0, SEEK_SET);
	while ((n = syscall(SYS_getdents64, dirfd, rf_segment_dents, sizeof(rf_segment_dents))) >
	       0) {
		for (long at = 0; at < n;) {
			const struct rf_segment_dirent *d =
				(const struct rf_segment_dirent *)(rf_segment_dents + at);
			pid_t pid = rf_segment_name_pid(d->name, prefix, plen);
			int64_t published;

			at += d->reclen;
			if (pid == 0)
				continue;
			count++;
			if (collect && *ncand < RF_SEGMENT_PRUNE_MAX &&
			    rf_segment_is_ended(dirfd, d->name, pid, uid, now, &published)) {
				rf_segment_candidates[*ncand].pid = pid;
				rf_segment_candidates[*ncand].published = published;
				(*ncand)++;
			}
		}
	}
	return count;
}

unsigned rf_segment_prune(const char *prefix, uint64_t keep)
{
	int saved = errno, dirfd;
	unsigned ncand, removed = 0;
	uint64_t count, target = keep - keep / 4;

	if (keep == 0)
		return 0;
	dirfd = open(RF_SEGMENT_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return 0;
	/* Counting names is cheap; reading headers only when the bound is passed. */
	count = rf_segment_scan(dirfd, prefix, 0, &ncand);
	if (count > keep) {
		count = rf_segment_scan(dirfd, prefix, 1, &ncand);
		/* The least recently published first: a selection, no allocation. */
		for (unsigned i = 0; i < ncand && count - removed > target; i++) {
			unsigned oldest = i;
			struct rf_segment_ended tmp;
			char name[RF_SHM_NAME_MAX];

			for (unsigned j = i + 1; j < ncand; j++)
				if (rf_segment_candidates[j].published <
				    rf_segment_candidates[oldest].published)
					oldest = j;
			tmp = rf_segment_candidates[i];
			rf_segment_candidates[i] = rf_segment_candidates[oldest];
			rf_segment_candidates[oldest] = tmp;
			snprintf(name, sizeof(name), "%s.%d", prefix,
				 (int)rf_segment_candidates[i].pid);
			if (unlinkat(dirfd, name, 0) == 0)
				removed++;
		}
	}
	close(dirfd);
	errno = saved;
	return removed;
}
