/*
 * test_thread_sample.c - the publisher's side of the current-stack request
 * (rf_thread_sample_poll): a request file of the process's user is taken;
 * anything else under its name (a FIFO, a link to a request, a directory,
 * another user's file) is neither waited on, followed nor removed. Sampling
 * is off (enabled false), so no signal is sent: whether the request was
 * taken shows in the next publish, as its nonce. Each test runs in its own
 * process, under an alarm: a poll that blocks fails instead of hanging.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rf_segment.h"
#include "rf_test.h"
#include "rf_thread.h"
#include "rf_thread_sample.h"

static char seg_name[RF_SHM_NAME_MAX];
static char req_path[128], target_path[sizeof(req_path) + 8];

/* Run at the end of every test: a passing one ends with _exit(), which skips atexit. */
static void cleanup(void)
{
	unlink(req_path);
	rmdir(req_path);
	unlink(target_path);
}

static void setup(void)
{
	snprintf(seg_name, sizeof(seg_name), "/rf-sample-%d.%d", (int)getpid(), (int)getpid());
	snprintf(req_path, sizeof(req_path), "/dev/shm%s" RF_SHM_SAMPLE_SUFFIX, seg_name);
	snprintf(target_path, sizeof(target_path), "%s.target", req_path);
	atexit(cleanup);
	alarm(10);
}

/* A request file holding nonce at path, as `ringfence threads` makes it. */
static void plant(const char *path, uint64_t nonce)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);

	RF_CHECK(fd >= 0);
	RF_CHECK(write(fd, &nonce, sizeof(nonce)) == (ssize_t)sizeof(nonce));
	close(fd);
}

/* The nonce the next publish shows: the request served last, 0 for none. */
static uint64_t published_nonce(void)
{
	static struct rf_publication pub;
	struct rf_thread_rules rules = {.age_ns = 1000000000, .group_max = 256};
	struct rf_segment seg = {.shm = calloc(1, sizeof(struct rf_shm_layout))};
	struct rf_shm_header *hdr = &seg.shm->header;
	uint64_t nonce;

	RF_CHECK(seg.shm != NULL);
#define TEST_SECTION(KIND, member, type, cap)                                                      \
	hdr->sections[RF_SHM_SECTION_##KIND - 1].kind = RF_SHM_SECTION_##KIND;                     \
	hdr->sections[RF_SHM_SECTION_##KIND - 1].capacity = (cap);
	RF_SHM_SECTION_LIST(TEST_SECTION)
#undef TEST_SECTION
	rf_publication_begin(&pub, &seg, NULL, false);
	rf_thread_publish(&pub, &rules, 1);
	rf_publication_end(&pub);
	nonce = seg.shm->thread_info[0].sample_request;
	free(seg.shm);
	return nonce;
}

static void poll_once(void)
{
	rf_thread_sample_poll(seg_name, false, 1);
}

/* What holds the name stays, of the type it had. */
static void check_left(const char *path, mode_t type)
{
	struct stat st;

	RF_CHECK(lstat(path, &st) == 0);
	RF_CHECK((st.st_mode & S_IFMT) == type);
}

/* A poll that must take nothing: no request served, the name left as it is. */
static void poll_refused(mode_t type)
{
	poll_once();
	RF_CHECK_INT(published_nonce(), 0);
	check_left(req_path, type);
}

RF_TEST(request_is_taken)
{
	struct stat st;

	setup();
	plant(req_path, 42);
	poll_once();
	RF_CHECK_INT(published_nonce(), 42);
	RF_CHECK(lstat(req_path, &st) < 0);
	cleanup();
}

RF_TEST(fifo_is_not_waited_on)
{
	setup();
	RF_CHECK(mkfifo(req_path, 0600) == 0);
	poll_refused(S_IFIFO);
	cleanup();
}

RF_TEST(link_is_not_followed)
{
	setup();
	plant(target_path, 42);
	RF_CHECK(symlink(target_path, req_path) == 0);
	poll_refused(S_IFLNK);
	check_left(target_path, S_IFREG);
	cleanup();
}

RF_TEST(directory_and_another_users_file_stay)
{
	setup();
	RF_CHECK(mkdir(req_path, 0700) == 0);
	poll_refused(S_IFDIR);
	RF_CHECK(rmdir(req_path) == 0);
	if (geteuid() != 0) {
		printf("# not root: cannot give a file to another user\n");
		return;
	}
	plant(req_path, 42);
	RF_CHECK(chown(req_path, 65534, (gid_t)-1) == 0);
	poll_refused(S_IFREG);
	cleanup();
}

RF_TEST_MAIN(RF_TEST_ENTRY(request_is_taken), RF_TEST_ENTRY(fifo_is_not_waited_on),
	     RF_TEST_ENTRY(link_is_not_followed),
	     RF_TEST_ENTRY(directory_and_another_users_file_stay))
