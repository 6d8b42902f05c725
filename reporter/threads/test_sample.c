/*
 * test_sample.c - the current-stack request against what may hold its name:
 * a FIFO, a link, a directory, another user's file, another reader's
 * request; and its one deadline. The process asked is this test's own (a
 * segment from the real writer that no shim answers), so every request ends
 * in time or by what was found. Each test runs in its own process and has
 * an alarm: a request that blocks fails the test instead of hanging it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rf_time.h"
#include "rp_list.h"
#include "rp_sample.h"
#include "rp_segment.h"
#include "test_writer.h"

static unsigned char rp_buf[RF_SHM_SIZE];
static char rp_req_name[RF_SHM_NAME_MAX + 8], rp_req_path[RP_PATH_MAX + 8];

/* This process's segment, read, and the request's names, removed at the end. */
static void rp_sample_setup(struct rp_snapshot *snap)
{
	struct rp_failure fail;

	rp_test_valid(rp_buf);
	RF_CHECK_INT(rp_test_read(getpid(), snap, &fail), RP_READ_OK);
	RF_CHECK_INT(snap->live.state, RP_STATE_ALIVE);
	snprintf(rp_req_name, sizeof(rp_req_name), "%s" RF_SHM_SAMPLE_SUFFIX, snap->name);
	snprintf(rp_req_path, sizeof(rp_req_path), "%s" RF_SHM_SAMPLE_SUFFIX, snap->path);
	rp_test_track(rp_req_name);
	alarm(20);
}

/* A request file holding nonce, as another reader makes it. */
static void rp_request_plant(uint64_t nonce)
{
	int fd = shm_open(rp_req_name, O_RDWR | O_CREAT | O_EXCL, 0600);

	RF_CHECK(fd >= 0);
	RF_CHECK(write(fd, &nonce, sizeof(nonce)) == (ssize_t)sizeof(nonce));
	close(fd);
}

/* The request with timeout_ms; how long it took, in ms, into *ms. */
static int rp_request_timed(struct rp_snapshot *snap, int timeout_ms, char *why, size_t len,
			    int64_t *ms)
{
	int64_t start = rf_clock_ns(CLOCK_MONOTONIC);
	int rc = rp_sample_request(rp_test_prefix, snap, timeout_ms, why, len);

	*ms = (rf_clock_ns(CLOCK_MONOTONIC) - start) / 1000000;
	printf("# rc %d after %lld ms: %s\n", rc, (long long)*ms, why);
	return rc;
}

/* What holds the name is said, left where it is, and never waited on. */
static void rp_expect_refused(struct rp_snapshot *snap, const char *kind, mode_t type)
{
	char why[RP_MESSAGE_MAX];
	struct stat st;
	int64_t ms;
	int rc = rp_request_timed(snap, 5000, why, sizeof(why), &ms);

	RF_CHECK(rc < 0 && rc != -ETIMEDOUT);
	RF_CHECK(ms < 1000);
	RF_CHECK(strstr(why, rp_req_path) == why);
	RF_CHECK(strstr(why, kind) != NULL);
	RF_CHECK(lstat(rp_req_path, &st) == 0 && (st.st_mode & S_IFMT) == type);
}

/* A FIFO planted under the name: opened without O_NONBLOCK, it hung the reporter. */
RP_TEST(fifo_is_not_waited_on)
{
	struct rp_snapshot snap;

	rp_sample_setup(&snap);
	RF_CHECK(mkfifo(rp_req_path, 0600) == 0);
	rp_expect_refused(&snap, "is a FIFO, not a sample request", S_IFIFO);
	rp_snapshot_release(&snap);
}

/* A link is not followed, even to a request that would do; a directory is no request. */
RP_TEST(link_and_directory_are_left_alone)
{
	char target[RF_SHM_NAME_MAX + 16], target_path[RP_PATH_MAX + 16];
	struct rp_snapshot snap;
	uint64_t nonce = 42;
	int fd;

	rp_sample_setup(&snap);
	snprintf(target, sizeof(target), "%s.target", rp_req_name);
	snprintf(target_path, sizeof(target_path), "%s.target", rp_req_path);
	rp_test_track(target);
	fd = shm_open(target, O_RDWR | O_CREAT | O_EXCL, 0600);
	RF_CHECK(fd >= 0 && write(fd, &nonce, sizeof(nonce)) == (ssize_t)sizeof(nonce));
	close(fd);
	RF_CHECK(symlink(target_path, rp_req_path) == 0);
	rp_expect_refused(&snap, "is a symbolic link", S_IFLNK);
	RF_CHECK(unlink(rp_req_path) == 0);
	RF_CHECK(mkdir(rp_req_path, 0700) == 0);
	rp_expect_refused(&snap, "is a directory", S_IFDIR);
	RF_CHECK(rmdir(rp_req_path) == 0);
	rp_snapshot_release(&snap);
}

/* The shim ignores another user's request: waiting for an answer would be in vain. */
RP_TEST(another_users_file_is_left_alone)
{
	struct rp_snapshot snap;

	rp_sample_setup(&snap);
	if (geteuid() != 0) {
		printf("# not root: cannot give a file to another user, nothing to check\n");
		return;
	}
	rp_request_plant(42);
	RF_CHECK(chown(rp_req_path, 65534, (gid_t)-1) == 0);
	rp_expect_refused(&snap, "owned by uid 65534", S_IFREG);
	rp_snapshot_release(&snap);
}

/* --timeout bounds the whole request, and the request made is withdrawn. */
RP_TEST(timeout_bounds_the_request)
{
	struct rp_snapshot snap;
	char why[RP_MESSAGE_MAX];
	struct stat st;
	int64_t ms;

	rp_sample_setup(&snap);
	RF_CHECK_INT(rp_request_timed(&snap, 300, why, sizeof(why), &ms), -ETIMEDOUT);
	RF_CHECK(ms >= 290 && ms < 2000);
	RF_CHECK(lstat(rp_req_path, &st) < 0 && errno == ENOENT);
	RF_CHECK_INT(rp_request_timed(&snap, 0, why, sizeof(why), &ms), -ETIMEDOUT);
	RF_CHECK(ms < 500);
	RF_CHECK(lstat(rp_req_path, &st) < 0 && errno == ENOENT);
	rp_snapshot_release(&snap);
}

/*
 * Another reader's request is shared: its answer is ours too, and when none
 * comes the request stays, for its reader to withdraw.
 */
RP_TEST(another_readers_request_is_shared)
{
	struct rf_shm_section *sec;
	struct rf_shm_thread_info info = {.sample_request = 42};
	struct rp_snapshot snap;
	char why[RP_MESSAGE_MAX];
	struct stat st;
	int64_t ms;

	rp_sample_setup(&snap);
	rp_request_plant(7);
	RF_CHECK_INT(rp_request_timed(&snap, 200, why, sizeof(why), &ms), -ETIMEDOUT);
	RF_CHECK(lstat(rp_req_path, &st) == 0 && S_ISREG(st.st_mode));
	RF_CHECK(shm_unlink(rp_req_name) == 0);

	/* A publish that answered nonce 42. */
	sec = rp_test_section(rp_buf, RF_SHM_SECTION_THREAD_INFO);
	memcpy(rp_buf + sec->offset, &info, sizeof(info));
	sec->count = 1;
	rp_test_write(getpid(), rp_buf, sizeof(rp_buf));
	rp_request_plant(42);
	RF_CHECK_INT(rp_request_timed(&snap, 5000, why, sizeof(why), &ms), 0);
	RF_CHECK(ms < 2000);
	rp_snapshot_release(&snap);
}

RF_TEST_MAIN(RF_TEST_ENTRY(fifo_is_not_waited_on), RF_TEST_ENTRY(link_and_directory_are_left_alone),
	     RF_TEST_ENTRY(another_users_file_is_left_alone),
	     RF_TEST_ENTRY(timeout_bounds_the_request),
	     RF_TEST_ENTRY(another_readers_request_is_shared))
