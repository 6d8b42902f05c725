/*
 * test_writer.c - segments for the reporter's unit tests.
 */
#include "test_writer.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "rf_config.h"
#include "rf_proc.h"
#include "rf_segment.h"
#include "rp_list.h"
#include "rp_segment.h"

char rp_test_prefix[32];
static char rp_created[8][RF_SHM_NAME_MAX];
static int rp_created_count;

void rp_test_prefix_set(void)
{
	snprintf(rp_test_prefix, sizeof(rp_test_prefix), "rp-unit-%d", (int)getpid());
}

void rp_test_cleanup(void)
{
	for (int i = 0; i < rp_created_count; i++)
		shm_unlink(rp_created[i]);
}

void rp_test_track(const char *name)
{
	if (rp_created_count == 0)
		atexit(rp_test_cleanup);
	for (int i = 0; i < rp_created_count; i++)
		if (strcmp(rp_created[i], name) == 0)
			return;
	RF_CHECK(rp_created_count < 8);
	snprintf(rp_created[rp_created_count++], RF_SHM_NAME_MAX, "%s", name);
}

void rp_test_valid(unsigned char *buf)
{
	uint64_t stats[RF_STAT__COUNT] = {0};
	struct rf_segment_identity id;
	struct rf_shm_config config;
	struct rf_segment seg;

	rp_test_prefix_set();
	rf_config_defaults(&config);
	id = (struct rf_segment_identity){
		.pid = getpid(),
		.start_realtime_ns = 1700000000000000000,
		.cmdline = "test-reader --flag",
		.config_error = "",
		.config = &config,
	};
	RF_CHECK_INT(rf_proc_start_ticks(getpid(), &id.start_ticks), 0);
	RF_CHECK_INT(rf_segment_create(&seg, rp_test_prefix, &id), 0);
	rp_test_track(seg.name);
	stats[RF_STAT_produce_msgs] = 10;
	stats[RF_STAT_producev_msgs] = 5;
	stats[RF_STAT_produce_bytes] = 1000;
	stats[RF_STAT_publishes] = 1;
	rf_segment_publish_begin(&seg);
	memcpy(seg.shm->stats, stats, sizeof(stats));
	rf_segment_publish_end(&seg);
	memcpy(buf, seg.shm, RF_SHM_SIZE);
	rf_segment_detach(&seg);
}

void rp_test_write(pid_t pid, const void *buf, size_t len)
{
	char name[RF_SHM_NAME_MAX];
	int fd;

	rp_segment_name(rp_test_prefix, pid, name);
	rp_test_track(name);
	shm_unlink(name);
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	RF_CHECK(fd >= 0);
	RF_CHECK(len == 0 || write(fd, buf, len) == (ssize_t)len);
	close(fd);
}

enum rp_read_error rp_test_read(pid_t pid, struct rp_snapshot *snap, struct rp_failure *fail)
{
	enum rp_read_error e = rp_segment_read(rp_test_prefix, pid, snap, fail);

	printf("# verdict %s: %s\n", rp_read_error_kind(e), fail->message);
	return e;
}

/* buf holds bytes, not a struct rf_shm_layout: fields are copied, never cast to. */
void rp_test_handle_add(unsigned char *buf)
{
	struct rf_shm_handle h = {
		.state = RF_SHM_HANDLE_OPEN,
		.poller_tid = 77,
		.bytes_held = 4096,
		.acked_unfreed_bytes = 100,
		.dropped_msgs = 2,
		.dropped_bytes = 200,
	};
	int64_t published;

	memcpy(&published, buf + offsetof(struct rf_shm_header, publish_monotonic_ns),
	       sizeof(published));
	h.last_poll_monotonic_ns = published - INT64_C(5000000000);
	snprintf(h.name, sizeof(h.name), "rdkafka#producer-1");
	snprintf(h.client_id, sizeof(h.client_id), "app");
	rp_test_entry_add(buf, RF_SHM_SECTION_HANDLES, &h, sizeof(h));
}

void rp_test_entry_add(unsigned char *buf, enum rf_shm_section_kind kind, const void *entry,
		       size_t size)
{
	struct rf_shm_section *sec = rp_test_section(buf, kind);

	RF_CHECK(size <= sec->entry_size && sec->count < sec->capacity);
	memcpy(buf + sec->offset + sec->count * sec->entry_size, entry, size);
	sec->count++;
}

/* Terminal escapes (OSC title, clear screen, bell, CR, DEL, C1 CSI) and a lone Latin-1 byte. */
#define RP_EVIL "\x1b]0;owned\x07\x1b[2J\r\x7f\xc2\x9b\xe9"
#define RP_EVIL_SHORT "\x1b[2J\x07\r\x7f\xe9" /* for 16-byte fields */

void rp_test_hostile(unsigned char *buf)
{
	struct rf_shm_thread_group g = {.nframes = 2,
					.frames = {0x401000, 0x402000},
					.alive = 1,
					.created = 1,
					.start_routine = 0x403000};
	struct rf_shm_thread th = {.tid = 7, .creator_tid = 1, .state = 0x1b, .syscall = 202};
	struct rf_shm_thread_sample sample = {
		.nframes = 1, .frames = {0x401000}, .tid = 7, .status = RF_SHM_SAMPLE_OK};
	struct rf_shm_module m = {.base = 0x400000, .start = 0x400000, .end = 0x500000};
	struct rf_shm_handle h = {.state = RF_SHM_HANDLE_OPEN, .bytes_held = 1};
	struct rf_shm_thread_info info = {.threads_total = 1, .groups_total = 1};

	rp_test_valid(buf);
	strcpy(RP_HDR(buf)->cmdline, RP_EVIL);
	strcpy(RP_HDR(buf)->config_error, RP_EVIL);
	strcpy(RP_HDR(buf)->shim_version, RP_EVIL);
	strcpy(g.start_name, RP_EVIL);
	strcpy(g.thread_name, RP_EVIL_SHORT);
	strcpy(th.name, RP_EVIL_SHORT);
	strcpy(th.wchan, RP_EVIL);
	strcpy(m.path, "/nonexistent/" RP_EVIL ".so");
	strcpy(h.name, RP_EVIL);
	strcpy(h.client_id, RP_EVIL);
	rp_test_entry_add(buf, RF_SHM_SECTION_THREAD_INFO, &info, sizeof(info));
	rp_test_entry_add(buf, RF_SHM_SECTION_THREAD_GROUPS, &g, sizeof(g));
	rp_test_entry_add(buf, RF_SHM_SECTION_THREADS, &th, sizeof(th));
	rp_test_entry_add(buf, RF_SHM_SECTION_THREAD_SAMPLES, &sample, sizeof(sample));
	rp_test_entry_add(buf, RF_SHM_SECTION_MODULES, &m, sizeof(m));
	rp_test_entry_add(buf, RF_SHM_SECTION_HANDLES, &h, sizeof(h));
}

void rp_test_stat_set(unsigned char *buf, enum rf_stat stat, uint64_t value)
{
	struct rf_shm_section *sec = rp_test_section(buf, RF_SHM_SECTION_STATS);

	memcpy(buf + sec->offset + (size_t)stat * sec->entry_size, &value, sizeof(value));
}

struct rf_shm_section *rp_test_section(unsigned char *buf, enum rf_shm_section_kind kind)
{
	struct rf_shm_header *hdr = (struct rf_shm_header *)(void *)buf;

	for (uint32_t i = 0; i < hdr->section_count && i < RF_SHM_SECTIONS_MAX; i++)
		if (hdr->sections[i].kind == (uint32_t)kind)
			return &hdr->sections[i];
	RF_CHECK(!"no such section");
	return NULL;
}

/* n rounded up to the 64 bytes the writer aligns sections to. */
static size_t rp_test_align(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

size_t rp_test_newer(const unsigned char *valid, unsigned char *out)
{
	struct rf_shm_header *hdr = (struct rf_shm_header *)(void *)out;
	struct rf_shm_section *stats, *handles, *extra;
	const size_t nstats = RF_STAT__COUNT + RP_TEST_NEWER_STATS;
	const size_t handle_size = sizeof(struct rf_shm_handle) + RP_TEST_NEWER_HANDLE_TAIL;
	const uint64_t *known;
	size_t len = RF_SHM_SIZE;

	memcpy(out, valid, RF_SHM_SIZE);
	memset(out + RF_SHM_SIZE, 0xee, RP_TEST_NEWER_MAX - RF_SHM_SIZE);
	/* A longer header: the first section still lies past it. */
	hdr->header_size = sizeof(*hdr) + 8;
	memset(out + sizeof(*hdr), 0xee, 8);

	/* The counters, moved to the end: 16 bytes each, the first 8 the count. */
	stats = rp_test_section(out, RF_SHM_SECTION_STATS);
	known = (const uint64_t *)(const void *)(valid + stats->offset);
	for (size_t i = 0; i < nstats; i++) {
		uint64_t v = i < RF_STAT__COUNT ? known[i] : 1000 + i;

		memcpy(out + len + i * 16, &v, sizeof(v));
	}
	memset(out + stats->offset, 0xff, stats->capacity * stats->entry_size);
	stats->offset = len;
	stats->entry_size = 16;
	stats->capacity = stats->count = nstats;
	len = rp_test_align(len + nstats * 16);

	/* The handles, moved to the end with a longer entry. */
	handles = rp_test_section(out, RF_SHM_SECTION_HANDLES);
	RF_CHECK(len + handles->capacity * handle_size < RP_TEST_NEWER_MAX);
	for (uint64_t i = 0; i < handles->count; i++)
		memcpy(out + len + i * handle_size,
		       valid + handles->offset + i * sizeof(struct rf_shm_handle),
		       sizeof(struct rf_shm_handle));
	memset(out + handles->offset, 0xff, handles->capacity * handles->entry_size);
	handles->offset = len;
	handles->entry_size = (uint32_t)handle_size;
	len = rp_test_align(len + handles->capacity * handle_size);

	/* A kind of section this reader does not know. */
	RF_CHECK(hdr->section_count < RF_SHM_SECTIONS_MAX);
	extra = &hdr->sections[hdr->section_count++];
	*extra = (struct rf_shm_section){.kind = RF_SHM_SECTION__END + 3,
					 .entry_size = 12,
					 .offset = len,
					 .capacity = 3,
					 .count = 3};
	len = rp_test_align(len + 3 * 12);
	RF_CHECK(len <= RP_TEST_NEWER_MAX);
	hdr->size = len;
	return len;
}
