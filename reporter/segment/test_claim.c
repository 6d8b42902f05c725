/*
 * test_claim.c - what gc may remove (rp_claim.h): the verdict on every kind
 * of file that can hold a segment's name, from metadata and bytes, then on
 * real files, none of which may be waited on or followed. Each test runs in
 * its own process under an alarm, and removes what it created.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rp_claim.h"
#include "rp_list.h"
#include "rp_segment.h"
#include "test_writer.h"

static unsigned char rp_buf[RF_SHM_SIZE];

/* The verdict on a regular file of the caller of size bytes whose head is buf. */
static bool rp_judge(const void *buf, size_t size, char *why, size_t len)
{
	struct stat st = {.st_mode = S_IFREG | 0600, .st_uid = geteuid(), .st_size = (off_t)size};
	size_t head = size < sizeof(struct rf_shm_header) ? size : sizeof(struct rf_shm_header);
	bool ours = rp_claim_judge(&st, geteuid(), buf, head, why, len);

	printf("# %zu bytes: %s%s\n", size, ours ? "ours" : "not ours: ", why);
	return ours;
}

RP_TEST(segments_and_what_the_shim_leaves_are_ours)
{
	unsigned char zeros[100] = {0};
	char why[192];
	uint32_t version = RF_SHM_VERSION + 1;

	rp_test_valid(rp_buf);
	RF_CHECK(rp_judge(rp_buf, sizeof(rp_buf), why, sizeof(why)));
	RF_CHECK(rp_judge(rp_buf, 0, why, sizeof(why)));                /* being created */
	RF_CHECK(rp_judge(zeros, sizeof(zeros), why, sizeof(why)));     /* cut short, zeros */
	RF_CHECK(rp_judge(rp_buf, 12, why, sizeof(why)));               /* cut after the magic */
	RF_CHECK(rp_judge(rp_buf, sizeof(uint64_t), why, sizeof(why))); /* the magic alone */
	/* Another layout version: only magic and version are fixed in every one. */
	memcpy(rp_buf + offsetof(struct rf_shm_header, version), &version, sizeof(version));
	memset(rp_buf + sizeof(struct rf_shm_header), 0xab, 64);
	RF_CHECK(rp_judge(rp_buf, sizeof(struct rf_shm_header) + 64, why, sizeof(why)));
	version = 1;
	memcpy(rp_buf + offsetof(struct rf_shm_header, version), &version, sizeof(version));
	RF_CHECK(rp_judge(rp_buf, sizeof(rp_buf), why, sizeof(why)));
}

RP_TEST(foreign_bytes_are_not_ours)
{
	unsigned char text[4096];
	uint32_t version = 0;
	char why[192];

	memset(text, 'x', sizeof(text));
	RF_CHECK(!rp_judge(text, sizeof(text), why, sizeof(why)));
	RF_CHECK_STR(why, "does not start with ringfence's magic");
	RF_CHECK(!rp_judge(text, 100, why, sizeof(why)));
	RF_CHECK(strstr(why, "neither zeros nor starting with ringfence's magic") != NULL);
	/* Zeros a header long or more: what the shim's writer never leaves. */
	memset(text, 0, sizeof(text));
	RF_CHECK(!rp_judge(text, sizeof(text), why, sizeof(why)));
	rp_test_valid(rp_buf);
	memcpy(rp_buf + offsetof(struct rf_shm_header, version), &version, sizeof(version));
	RF_CHECK(!rp_judge(rp_buf, sizeof(rp_buf), why, sizeof(why)));
	RF_CHECK(strstr(why, "layout version 0") != NULL);
}

RP_TEST(only_a_regular_file_of_the_caller_within_the_size)
{
	struct stat st = {.st_mode = S_IFREG | 0600, .st_uid = geteuid(), .st_size = 0};
	static const mode_t kinds[] = {S_IFIFO, S_IFLNK, S_IFDIR, S_IFSOCK, S_IFCHR, S_IFBLK};
	char why[192];

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		st.st_mode = kinds[i] | 0600;
		RF_CHECK(!rp_claim_judge(&st, geteuid(), NULL, 0, why, sizeof(why)));
		RF_CHECK(strstr(why, ", not a regular file") != NULL);
	}
	st.st_mode = S_IFREG | 0600;
	st.st_uid = geteuid() + 1;
	RF_CHECK(!rp_claim_judge(&st, geteuid(), NULL, 0, why, sizeof(why)));
	RF_CHECK(strstr(why, "not by the caller") != NULL);
	/* 10 GB: the reader's bound, whatever the bytes. */
	rp_test_valid(rp_buf);
	st.st_uid = geteuid();
	st.st_size = (off_t)10 << 30;
	RF_CHECK(!rp_claim_judge(&st, geteuid(), rp_buf, sizeof(struct rf_shm_header), why,
				 sizeof(why)));
	RF_CHECK(strstr(why, "10737418240 bytes, more than a segment may have") != NULL);
	/* A head that does not match the size: the file changed while read. */
	st.st_size = 50;
	RF_CHECK(!rp_claim_judge(&st, geteuid(), rp_buf, 10, why, sizeof(why)));
}

/* rp_claim_file on name: the verdict, and the file is still what it was. */
static bool rp_claim_named(const char *name, const char *path, mode_t type)
{
	struct rp_claim claim;
	struct stat st;

	RF_CHECK_INT(rp_claim_file(name, path, &claim), 0);
	printf("# %s: %s%s\n", path, claim.ours ? "ours" : "not ours: ", claim.why);
	RF_CHECK(lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == type);
	RF_CHECK(claim.ours == (claim.ino != 0 && claim.ino == st.st_ino));
	return claim.ours;
}

RP_TEST(files_are_judged_without_waiting_or_following)
{
	char name[RF_SHM_NAME_MAX], path[RP_PATH_MAX], target[RP_PATH_MAX + 8];
	char target_name[RF_SHM_NAME_MAX + 8];
	struct rp_claim claim;
	int fd;

	alarm(10);
	rp_test_valid(rp_buf);
	rp_segment_name(rp_test_prefix, getpid(), name);
	rp_segment_path(rp_test_prefix, getpid(), path);
	RF_CHECK(rp_claim_named(name, path, S_IFREG));
	RF_CHECK(unlink(path) == 0);
	RF_CHECK_INT(rp_claim_file(name, path, &claim), -ENOENT);
	RF_CHECK(mkfifo(path, 0600) == 0);
	RF_CHECK(!rp_claim_named(name, path, S_IFIFO));
	RF_CHECK(unlink(path) == 0);
	RF_CHECK(mkdir(path, 0700) == 0);
	RF_CHECK(!rp_claim_named(name, path, S_IFDIR));
	RF_CHECK(rmdir(path) == 0);
	/* A link to a file that would do. */
	snprintf(target, sizeof(target), "%s.target", path);
	snprintf(target_name, sizeof(target_name), "%s.target", name);
	rp_test_track(target_name);
	fd = open(target, O_RDWR | O_CREAT | O_EXCL, 0600);
	RF_CHECK(fd >= 0);
	close(fd);
	RF_CHECK(symlink(target, path) == 0);
	RF_CHECK(!rp_claim_named(name, path, S_IFLNK));
	RF_CHECK(unlink(path) == 0);
	RF_CHECK(rename(target, path) == 0);
	RF_CHECK(rp_claim_named(name, path, S_IFREG)); /* now empty: being created */
}

RF_TEST_MAIN(RF_TEST_ENTRY(segments_and_what_the_shim_leaves_are_ours),
	     RF_TEST_ENTRY(foreign_bytes_are_not_ours),
	     RF_TEST_ENTRY(only_a_regular_file_of_the_caller_within_the_size),
	     RF_TEST_ENTRY(files_are_judged_without_waiting_or_following))
