/*
 * test_writer.c - segments for the reporter's unit tests.
 */
#include "test_writer.h"

#include <fcntl.h>
#include <stdint.h>
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
