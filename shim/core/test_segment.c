/*
 * test_segment.c - the writer: creation, publication, exit, replacement.
 * Read back through /dev/shm with pread, as a reader in another process would.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "rf_config.h"
#include "rf_segment.h"
#include "rf_test.h"

static char rf_prefix[32];

static void rf_test_identity(struct rf_segment_identity *id, struct rf_shm_config *config)
{
	rf_config_defaults(config);
	snprintf(rf_prefix, sizeof(rf_prefix), "rf-unit-%d", (int)getpid());
	*id = (struct rf_segment_identity){
		.pid = getpid(),
		.start_ticks = 42,
		.start_realtime_ns = 1,
		.cmdline = "test-segment --flag",
		.config_error = "",
		.config = config,
	};
}

static void rf_test_read(const char *name, void *buf, size_t len, struct stat *st)
{
	int fd = shm_open(name, O_RDONLY, 0);

	RF_CHECK(fd >= 0);
	RF_CHECK(fstat(fd, st) == 0);
	RF_CHECK(pread(fd, buf, len, 0) == (ssize_t)len);
	close(fd);
}

RF_TEST(create_fills_header)
{
	static char buf[RF_SHM_SIZE];
	struct rf_shm_header *hdr = (void *)buf;
	struct rf_segment_identity id;
	struct rf_shm_config config;
	struct rf_segment seg;
	struct stat st;

	rf_test_identity(&id, &config);
	RF_CHECK_INT(rf_segment_create(&seg, rf_prefix, &id), 0);
	rf_test_read(seg.name, buf, sizeof(buf), &st);
	RF_CHECK_INT(st.st_size, RF_SHM_SIZE);
	RF_CHECK_INT(st.st_mode & 0777, 0600);
	RF_CHECK(hdr->magic == RF_SHM_MAGIC);
	RF_CHECK_INT(hdr->version, RF_SHM_VERSION);
	RF_CHECK_INT(hdr->header_size, sizeof(struct rf_shm_header));
	RF_CHECK_INT(hdr->size, RF_SHM_SIZE);
	RF_CHECK_INT(hdr->pid, getpid());
	RF_CHECK_INT(hdr->start_ticks, 42);
	RF_CHECK_STR(hdr->cmdline, "test-segment --flag");
	RF_CHECK_INT(hdr->status, RF_SHM_STATUS_RUNNING);
	RF_CHECK_INT(hdr->config.budget, config.budget);
	RF_CHECK_STR(hdr->config.shm_prefix, "ringfence");
	RF_CHECK_INT(hdr->section_count, RF_SHM_SECTION_KINDS);
	RF_CHECK_INT(hdr->sections[0].kind, RF_SHM_SECTION_STATS);
	RF_CHECK_INT(hdr->sections[0].count, RF_STAT__COUNT);
	for (uint32_t i = 0; i < hdr->section_count; i++) {
		const struct rf_shm_section *sec = &hdr->sections[i];

		RF_CHECK_INT(sec->kind, i + 1);
		RF_CHECK_INT(sec->offset % 64, 0);
		RF_CHECK(sec->offset >= hdr->header_size);
		RF_CHECK(sec->offset + sec->capacity * sec->entry_size <= hdr->size);
		if (i > 0) /* in order, without overlap */
			RF_CHECK(sec->offset >= hdr->sections[i - 1].offset +
							hdr->sections[i - 1].capacity *
								hdr->sections[i - 1].entry_size);
	}
	RF_CHECK_INT(hdr->seq % 2, 0);
	shm_unlink(seg.name);
}

RF_TEST(publish_and_exit)
{
	static char buf[RF_SHM_SIZE];
	struct rf_shm_header *hdr = (void *)buf;
	uint64_t stats[RF_STAT__COUNT] = {0}, *shared;
	struct rf_segment_identity id;
	struct rf_shm_config config;
	struct rf_segment seg;
	struct stat st;
	uint64_t seq0;

	rf_test_identity(&id, &config);
	RF_CHECK_INT(rf_segment_create(&seg, rf_prefix, &id), 0);
	seq0 = seg.shm->header.seq;
	stats[RF_STAT_produce_calls] = 1000;
	stats[RF_STAT_produce_bytes] = 123456;
	rf_segment_publish_begin(&seg);
	memcpy(seg.shm->stats, stats, sizeof(stats));
	rf_segment_publish_end(&seg);
	rf_test_read(seg.name, buf, sizeof(buf), &st);
	shared = (uint64_t *)(buf + hdr->sections[0].offset);
	RF_CHECK_INT(shared[RF_STAT_produce_calls], 1000);
	RF_CHECK_INT(shared[RF_STAT_produce_bytes], 123456);
	RF_CHECK_INT(hdr->seq, seq0 + 2);
	RF_CHECK_INT(hdr->status, RF_SHM_STATUS_RUNNING);

	stats[RF_STAT_produce_calls] = 1001;
	rf_segment_publish_begin(&seg);
	memcpy(seg.shm->stats, stats, sizeof(stats));
	rf_segment_mark_exited(&seg, 1, 3);
	rf_segment_publish_end(&seg);
	rf_segment_detach(&seg);
	RF_CHECK(seg.shm == NULL);
	rf_test_read(seg.name, buf, sizeof(buf), &st);
	RF_CHECK_INT(hdr->status, RF_SHM_STATUS_EXITED);
	RF_CHECK_INT(hdr->exit_status_known, 1);
	RF_CHECK_INT(hdr->exit_status, 3);
	RF_CHECK(hdr->exit_realtime_ns > 0);
	RF_CHECK_INT(shared[RF_STAT_produce_calls], 1001);
	shm_unlink(seg.name);
}

RF_TEST(stale_segment_is_replaced)
{
	static char buf[RF_SHM_SIZE];
	struct rf_shm_header *hdr = (void *)buf;
	struct rf_segment_identity id;
	struct rf_shm_config config;
	struct rf_segment seg;
	char name[RF_SHM_NAME_MAX];
	struct stat st;
	int fd;

	rf_test_identity(&id, &config);
	rf_segment_name(rf_prefix, getpid(), name);
	/* What an earlier image of this pid (before exec) would have left. */
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	RF_CHECK(fd >= 0);
	RF_CHECK(write(fd, "garbage", 7) == 7);
	close(fd);
	RF_CHECK_INT(rf_segment_create(&seg, rf_prefix, &id), 0);
	rf_test_read(seg.name, buf, sizeof(buf), &st);
	RF_CHECK(hdr->magic == RF_SHM_MAGIC);
	RF_CHECK_INT(st.st_size, RF_SHM_SIZE);
	shm_unlink(seg.name);
}

RF_TEST(long_strings_truncated)
{
	static char buf[RF_SHM_SIZE];
	struct rf_shm_header *hdr = (void *)buf;
	struct rf_segment_identity id;
	struct rf_shm_config config;
	struct rf_segment seg;
	char cmdline[2000];
	struct stat st;

	memset(cmdline, 'x', sizeof(cmdline) - 1);
	cmdline[sizeof(cmdline) - 1] = '\0';
	rf_test_identity(&id, &config);
	id.cmdline = cmdline;
	RF_CHECK_INT(rf_segment_create(&seg, rf_prefix, &id), 0);
	rf_test_read(seg.name, buf, sizeof(buf), &st);
	RF_CHECK_INT(strnlen(hdr->cmdline, sizeof(hdr->cmdline)), sizeof(hdr->cmdline) - 1);
	shm_unlink(seg.name);
}

RF_TEST_MAIN(RF_TEST_ENTRY(create_fills_header), RF_TEST_ENTRY(publish_and_exit),
	     RF_TEST_ENTRY(stale_segment_is_replaced), RF_TEST_ENTRY(long_strings_truncated))
