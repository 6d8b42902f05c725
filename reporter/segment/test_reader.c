/*
 * test_reader.c - the reader's verdict on a valid segment written by the real
 * writer and on copies of it broken one field at a time. Each test runs in
 * its own process with its own prefix, and removes what it created even when
 * a check fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "rf_build_config.h"
#include "rf_config.h"
#include "rf_proc.h"
#include "rf_segment.h"
#include "rf_test.h"
#include "rp_list.h"
#include "rp_segment.h"
#include "rp_segment_exit.h"
#include "test_writer.h"

/* The verdict on buf written as this process's segment, and a word its message must hold. */
static void rp_test_expect(const void *buf, size_t len, enum rp_read_error expected,
			   const char *word)
{
	struct rp_snapshot snap;
	struct rp_failure fail;

	rp_test_write(getpid(), buf, len);
	RF_CHECK_INT(rp_test_read(getpid(), &snap, &fail), expected);
	RF_CHECK_INT(fail.error, expected);
	RF_CHECK(strstr(fail.message, snap.path) == fail.message);
	if (word != NULL)
		RF_CHECK(strstr(fail.message, word) != NULL);
}

static unsigned char rp_buf[RF_SHM_SIZE];

RP_TEST(valid)
{
	struct rp_snapshot snap;
	struct rp_failure fail;

	rp_test_valid(rp_buf);
	RF_CHECK_INT(rp_test_read(getpid(), &snap, &fail), RP_READ_OK);
	RF_CHECK_INT(snap.pid, getpid());
	RF_CHECK_STR(snap.hdr.cmdline, "test-reader --flag");
	RF_CHECK_STR(snap.hdr.shim_version, RF_VERSION);
	RF_CHECK_INT(snap.stats[RF_STAT_produce_msgs], 10);
	RF_CHECK_INT(snap.stats[RF_STAT_publishes], 1);
	RF_CHECK(!snap.torn);
	RF_CHECK_INT(snap.live.state, RP_STATE_ALIVE);
	RF_CHECK_INT(snap.hdr.config.policy, RF_POLICY_BLOCK);
	RF_CHECK(snap.ino != 0);
	/* The written copy reads the same as the writer's own. */
	rp_test_write(getpid(), rp_buf, sizeof(rp_buf));
	RF_CHECK_INT(rp_test_read(getpid(), &snap, &fail), RP_READ_OK);
}

RP_TEST(missing)
{
	struct rp_snapshot snap;
	struct rp_failure fail;

	rp_test_prefix_set();
	RF_CHECK_INT(rp_test_read(getpid(), &snap, &fail), RP_READ_MISSING);
	RF_CHECK(strstr(fail.message, "ringfence ls") != NULL);
}

/* ls, stat and gc with no segment at all, then with one. */
RP_TEST(list_none_and_one)
{
	pid_t *pids = (pid_t *)&pids;
	size_t count = 1;

	rp_test_prefix_set();
	RF_CHECK_INT(rp_segment_list(rp_test_prefix, &pids, &count), 0);
	RF_CHECK_INT(count, 0);
	RF_CHECK(pids == NULL);
	rp_test_valid(rp_buf);
	rp_test_write(getpid(), rp_buf, sizeof(rp_buf));
	RF_CHECK_INT(rp_segment_list(rp_test_prefix, &pids, &count), 0);
	RF_CHECK_INT(count, 1);
	RF_CHECK_INT(pids[0], getpid());
	free(pids);
}

RP_TEST(truncated_empty)
{
	rp_test_valid(rp_buf);
	rp_test_expect(rp_buf, 0, RP_READ_TRUNCATED, "size 0 bytes");
}

RP_TEST(truncated_half_header)
{
	rp_test_valid(rp_buf);
	rp_test_expect(rp_buf, sizeof(struct rf_shm_header) / 2, RP_READ_TRUNCATED,
		       "expected at least");
}

RP_TEST(truncated_stats_cut)
{
	rp_test_valid(rp_buf);
	rp_test_expect(rp_buf, offsetof(struct rf_shm_layout, stats) + 8, RP_READ_TRUNCATED,
		       "header says");
}

RP_TEST(bad_magic)
{
	rp_test_valid(rp_buf);
	RP_HDR(rp_buf)->magic ^= 1;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_NOT_RINGFENCE, "magic");
	/* A short foreign file is foreign, not truncated. */
	rp_test_expect("hello, world", 12, RP_READ_NOT_RINGFENCE, "magic");
}

RP_TEST(wrong_version)
{
	rp_test_valid(rp_buf);
	RP_HDR(rp_buf)->version = RF_SHM_VERSION + 1;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_VERSION, "this reporter reads version");
	/* A newer layout may be smaller than ours: still a version problem. */
	rp_test_expect(rp_buf, 64, RP_READ_VERSION, NULL);
}

/* A longer header is a newer writer's (newer_writer_is_read); a shorter one is wrong. */
RP_TEST(header_size_out_of_range)
{
	struct rf_shm_header *hdr = RP_HDR(rp_buf);

	rp_test_valid(rp_buf);
	hdr->header_size = RF_SHM_HEADER_SIZE_FIRST - 8;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "expected at least");
	/* Longer, over the first section. */
	hdr->header_size = (uint32_t)hdr->sections[0].offset + 8;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "inside the header");
	hdr->header_size = UINT32_MAX;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "beyond the segment size");
}

RP_TEST(size_field_mismatch)
{
	rp_test_valid(rp_buf);
	RP_HDR(rp_buf)->size = RF_SHM_SIZE + 8;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_TRUNCATED, "header says");
	RP_HDR(rp_buf)->size = RF_SHM_SIZE - 8;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "size field");
	RP_HDR(rp_buf)->size = UINT64_MAX;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_TRUNCATED, NULL);
}

RP_TEST(section_out_of_range)
{
	struct rf_shm_section *sec = &RP_HDR(rp_buf)->sections[0];
	struct rf_shm_section good;

	rp_test_valid(rp_buf);
	good = *sec;

	sec->offset = RF_SHM_SIZE;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "sections[0]");
	sec->offset = RF_SHM_SIZE - 8; /* one entry fits, not all */
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "ends past");
	sec->offset = UINT64_MAX;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "sections[0]");
	sec->offset = 0;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "inside the header");
	/* In range, but its 8-byte fields would all be misaligned. */
	sec->offset = good.offset + 4;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "not a multiple of 8");
	*sec = good;
	sec->capacity = UINT64_MAX;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "ends past");
	/* capacity * 8 wraps to 0: only a division catches it. */
	sec->capacity = UINT64_MAX / 8 + 1;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "ends past");
	*sec = good;
	sec->entry_size = 4;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "entry_size");
	*sec = good;
	RP_HDR(rp_buf)->section_count = RF_SHM_SECTIONS_MAX + 1;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "section_count");
	RP_HDR(rp_buf)->section_count = UINT32_MAX;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "section_count");
	RP_HDR(rp_buf)->section_count = 0;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "no stats section");
	RP_HDR(rp_buf)->section_count = 2;
	RP_HDR(rp_buf)->sections[1] = good;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "second stats section");
}

RP_TEST(count_above_capacity)
{
	struct rf_shm_section *sec = &RP_HDR(rp_buf)->sections[0];

	rp_test_valid(rp_buf);
	sec->count = sec->capacity + 1;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "above its capacity");
}

/* A kind this reader does not know is skipped, so a known one it replaces is missing. */
RP_TEST(section_kind_zero_or_missing)
{
	rp_test_valid(rp_buf);
	RP_HDR(rp_buf)->sections[0].kind = 0;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "kind is 0");
	RP_HDR(rp_buf)->sections[0].kind = 99;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "no stats section");
}

/* Entries of a newer writer may be longer; shorter, or misaligned, they are wrong. */
RP_TEST(entry_size_out_of_range)
{
	struct rf_shm_section *sec;

	rp_test_valid(rp_buf);
	sec = rp_test_section(rp_buf, RF_SHM_SECTION_HANDLES);
	sec->entry_size = sizeof(struct rf_shm_handle) - 8;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "expected at least 176");
	sec->entry_size = sizeof(struct rf_shm_handle) + 4;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "not a multiple of 8");
	/* Longer, but the capacity no longer fits. */
	sec->entry_size = sizeof(struct rf_shm_handle) + 1024 * 1024;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "ends past");
}

/*
 * What a newer writer of this layout version adds is ignored: a longer
 * header, counters and a section kind this reader does not know, fields
 * appended to entries. The figures are the ones it knows, read where the
 * directory says.
 */
RP_TEST(newer_writer_is_read)
{
	static unsigned char newer[RP_TEST_NEWER_MAX];
	const struct rf_shm_handle *h;
	struct rp_snapshot snap;
	struct rp_failure fail;
	uint64_t count;
	size_t len;

	rp_test_valid(rp_buf);
	rp_test_handle_add(rp_buf);
	len = rp_test_newer(rp_buf, newer);
	rp_test_write(getpid(), newer, len);
	RF_CHECK_INT(rp_test_read(getpid(), &snap, &fail), RP_READ_OK);
	RF_CHECK_INT(snap.len, len);
	RF_CHECK_INT(snap.stats_count, RF_STAT__COUNT);
	RF_CHECK_INT(snap.stats[RF_STAT_produce_msgs], 10);
	RF_CHECK_INT(snap.stats[RF_STAT_producev_msgs], 5);
	RF_CHECK_INT(snap.stats[RF_STAT_produce_bytes], 1000);
	RF_CHECK_INT(snap.stats[RF_STAT__COUNT - 1], 0);
	RF_CHECK(rp_snapshot_has_stat(&snap, RF_STAT__COUNT - 1));
	h = rp_snapshot_table(&snap, RF_SHM_SECTION_HANDLES, &count);
	RF_CHECK_INT(count, 1);
	RF_CHECK_STR(h[0].name, "rdkafka#producer-1");
	RF_CHECK_STR(h[0].client_id, "app");
	RF_CHECK_INT(h[0].bytes_held, 4096);
	RF_CHECK_INT(h[0].dropped_bytes, 200);
	RF_CHECK_STR(snap.hdr.cmdline, "test-reader --flag");
	rp_snapshot_release(&snap);
}

/*
 * An older writer of this layout version publishes fewer counters than this
 * reader knows: they are absent, and the ones it has are read as they are.
 */
RP_TEST(older_writer_counters_absent)
{
	struct rp_snapshot snap;
	struct rp_failure fail;

	rp_test_valid(rp_buf);
	rp_test_section(rp_buf, RF_SHM_SECTION_STATS)->count = RF_STAT_publishes + 1;
	rp_test_write(getpid(), rp_buf, sizeof(rp_buf));
	RF_CHECK_INT(rp_test_read(getpid(), &snap, &fail), RP_READ_OK);
	RF_CHECK_INT(snap.stats_count, RF_STAT_publishes + 1);
	RF_CHECK(rp_snapshot_has_stat(&snap, RF_STAT_publishes));
	RF_CHECK(!rp_snapshot_has_stat(&snap, RF_STAT_publishes + 1));
	RF_CHECK(!rp_snapshot_has_stat(&snap, RF_STAT__COUNT - 1));
	RF_CHECK_INT(snap.stats[RF_STAT_publishes], 1);
	RF_CHECK_INT(snap.stats[RF_STAT_produce_msgs], 10);
	rp_snapshot_release(&snap);
	/* None at all. */
	rp_test_section(rp_buf, RF_SHM_SECTION_STATS)->count = 0;
	rp_test_write(getpid(), rp_buf, sizeof(rp_buf));
	RF_CHECK_INT(rp_test_read(getpid(), &snap, &fail), RP_READ_OK);
	RF_CHECK_INT(snap.stats_count, 0);
	RF_CHECK(!rp_snapshot_has_stat(&snap, 0));
	rp_snapshot_release(&snap);
}

/* A header of the version's first writers: the fields appended since are absent. */
RP_TEST(older_writer_header_fields_absent)
{
	struct rf_shm_header *hdr = RP_HDR(rp_buf);
	struct rp_snapshot snap;
	struct rp_failure fail;

	rp_test_valid(rp_buf);
	hdr->header_size = RF_SHM_HEADER_SIZE_FIRST;
	/* What lies past its header is not the writer's: padding, anything. */
	hdr->exit_recorder = 0xeeeeeeee;
	hdr->exit_signal = -1;
	rp_test_write(getpid(), rp_buf, sizeof(rp_buf));
	RF_CHECK_INT(rp_test_read(getpid(), &snap, &fail), RP_READ_OK);
	RF_CHECK_INT(snap.hdr.exit_recorder, RF_SHM_EXIT_BY_PROCESS);
	RF_CHECK_INT(snap.hdr.exit_signal, 0);
	RF_CHECK_INT(snap.live.state, RP_STATE_ALIVE);
	rp_snapshot_release(&snap);
	/* In a header that holds them, out-of-range values are refused. */
	hdr->header_size = sizeof(*hdr);
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "exit_recorder");
	hdr->exit_recorder = RF_SHM_EXIT_BY_PARENT;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "exit_signal");
}

RP_TEST(unterminated_strings)
{
	struct rf_shm_header *hdr = RP_HDR(rp_buf);

	rp_test_valid(rp_buf);
	memset(hdr->cmdline, 'x', sizeof(hdr->cmdline));
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "cmdline is not NUL-terminated");
	rp_test_valid(rp_buf);
	memset(hdr->shim_version, 'x', sizeof(hdr->shim_version));
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "shim_version");
	rp_test_valid(rp_buf);
	memset(hdr->config_error, 'x', sizeof(hdr->config_error));
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "config_error");
	rp_test_valid(rp_buf);
	memset(hdr->config.shm_prefix, 'x', sizeof(hdr->config.shm_prefix));
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "config.shm_prefix");
}

RP_TEST(config_out_of_range)
{
	struct rf_shm_header *hdr = RP_HDR(rp_buf);

	rp_test_valid(rp_buf);
	hdr->config.policy = RF_POLICY_OBSERVE + 1;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "config.policy is 4");
	rp_test_valid(rp_buf);
	hdr->config.budget = 1;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "config.budget");
	rp_test_valid(rp_buf);
	hdr->config.publish_interval = UINT64_MAX;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "config.publish_interval");
	rp_test_valid(rp_buf);
	strcpy(hdr->config.shm_prefix, "a/b");
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "RINGFENCE_SHM_PREFIX");
}

RP_TEST(status_and_flags_out_of_range)
{
	struct rf_shm_header *hdr = RP_HDR(rp_buf);

	rp_test_valid(rp_buf);
	hdr->status = 0;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "status is 0");
	rp_test_valid(rp_buf);
	hdr->passive = 7;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "passive");
	rp_test_valid(rp_buf);
	hdr->exit_status_known = 2;
	rp_test_expect(rp_buf, sizeof(rp_buf), RP_READ_LAYOUT, "exit_status_known");
}

RP_TEST(pid_mismatch)
{
	struct rp_snapshot snap;
	struct rp_failure fail;
	pid_t other = getpid() + 1;

	rp_test_valid(rp_buf);
	rp_test_write(other, rp_buf, sizeof(rp_buf));
	RF_CHECK_INT(rp_test_read(other, &snap, &fail), RP_READ_PID_MISMATCH);
	RF_CHECK(strstr(fail.message, "holds pid") != NULL);
}

RP_TEST(odd_seq_is_torn)
{
	struct rp_snapshot snap;
	struct rp_failure fail;

	rp_test_valid(rp_buf);
	RP_HDR(rp_buf)->seq |= 1;
	rp_test_write(getpid(), rp_buf, sizeof(rp_buf));
	RF_CHECK_INT(rp_test_read(getpid(), &snap, &fail), RP_READ_OK);
	RF_CHECK(snap.torn);
	RF_CHECK_INT(snap.stats[RF_STAT_produce_msgs], 10);
}

RP_TEST(too_large_is_refused)
{
	char name[RF_SHM_NAME_MAX];
	struct rp_snapshot snap;
	struct rp_failure fail;
	int fd;

	rp_test_valid(rp_buf);
	rp_segment_name(rp_test_prefix, getpid(), name);
	fd = shm_open(name, O_RDWR, 0);
	RF_CHECK(fd >= 0);
	RF_CHECK(ftruncate(fd, (off_t)RP_SEGMENT_SIZE_MAX + 1) == 0); /* sparse */
	close(fd);
	RF_CHECK_INT(rp_test_read(getpid(), &snap, &fail), RP_READ_LAYOUT);
	RF_CHECK(strstr(fail.message, "above the") != NULL);
}

RP_TEST(fifo_is_not_a_segment)
{
	char name[RF_SHM_NAME_MAX], path[RP_PATH_MAX];
	struct rp_snapshot snap;
	struct rp_failure fail;

	rp_test_prefix_set();
	rp_segment_name(rp_test_prefix, getpid(), name);
	rp_segment_path(rp_test_prefix, getpid(), path);
	rp_test_track(name);
	RF_CHECK(mkfifo(path, 0600) == 0);
	/* Must not block waiting for a writer. */
	alarm(5);
	RF_CHECK_INT(rp_test_read(getpid(), &snap, &fail), RP_READ_NOT_RINGFENCE);
	RF_CHECK(strstr(fail.message, "not a regular file") != NULL);
}

/* Read as an unprivileged user in a child: root bypasses file modes. */
static enum rp_read_error rp_test_read_as_nobody(pid_t pid, char *message, size_t len)
{
	int pipefd[2], status = 0;
	pid_t child;
	ssize_t n;

	RF_CHECK(pipe(pipefd) == 0);
	child = fork();
	RF_CHECK(child >= 0);
	if (child == 0) {
		struct rp_snapshot snap;
		struct rp_failure fail;
		enum rp_read_error e;

		close(pipefd[0]);
		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(100);
		e = rp_segment_read(rp_test_prefix, pid, &snap, &fail);
		if (write(pipefd[1], fail.message, strlen(fail.message) + 1) < 0)
			_exit(101);
		_exit((int)e);
	}
	close(pipefd[1]);
	n = read(pipefd[0], message, len - 1);
	message[n > 0 ? n : 0] = '\0';
	close(pipefd[0]);
	RF_CHECK(waitpid(child, &status, 0) == child);
	RF_CHECK(WIFEXITED(status));
	return (enum rp_read_error)WEXITSTATUS(status);
}

RP_TEST(permission_denied)
{
	char name[RF_SHM_NAME_MAX], message[RP_MESSAGE_MAX];
	struct rp_snapshot snap;
	struct rp_failure fail;
	int fd;

	rp_test_valid(rp_buf);
	if (geteuid() == 0) {
		RF_CHECK_INT(rp_test_read_as_nobody(getpid(), message, sizeof(message)),
			     RP_READ_PERMISSION);
		printf("# %s\n", message);
		RF_CHECK(strstr(message, "owned by uid 0") != NULL);
		RF_CHECK(strstr(message, "mode 0600") != NULL);
		return;
	}
	rp_segment_name(rp_test_prefix, getpid(), name);
	fd = shm_open(name, O_RDWR, 0);
	RF_CHECK(fd >= 0);
	RF_CHECK(fchmod(fd, 0) == 0);
	close(fd);
	RF_CHECK_INT(rp_test_read(getpid(), &snap, &fail), RP_READ_PERMISSION);
	RF_CHECK(strstr(fail.message, "mode 0000") != NULL);
}

/* A child that has ended with code and is not reaped yet, as `ringfence run` holds it. */
static pid_t rp_test_ended_child(int code)
{
	siginfo_t info;
	pid_t child = fork();

	RF_CHECK(child >= 0);
	if (child == 0)
		_exit(code);
	RF_CHECK_INT(waitid(P_PID, (id_t)child, &info, WEXITED | WNOWAIT), 0);
	return child;
}

/* rf_shm.h, "Exit recorded by the parent": only when every condition holds. */
RP_TEST(parent_records_an_end_the_shim_did_not)
{
	struct rf_shm_header *hdr = RP_HDR(rp_buf);
	pid_t child = rp_test_ended_child(7);
	struct rp_snapshot snap;
	struct rp_failure fail;
	uint64_t ticks = 0;
	char label[32];

	RF_CHECK_INT(rf_proc_start_ticks(child, &ticks), 0);
	rp_test_valid(rp_buf);
	hdr->pid = child;
	/* Another process's segment: not this start time. */
	hdr->start_ticks = ticks + 1;
	rp_test_write(child, rp_buf, sizeof(rp_buf));
	RF_CHECK_INT(rp_segment_record_exit(rp_test_prefix, child, 7, 0), 0);
	/* A publish the process died in: its figures stay marked torn. */
	hdr->start_ticks = ticks;
	hdr->seq = 3;
	rp_test_write(child, rp_buf, sizeof(rp_buf));
	RF_CHECK_INT(rp_segment_record_exit(rp_test_prefix, child, 7, 0), 0);
	/* An older writer's header, without room to say who recorded the end. */
	hdr->seq = 2;
	hdr->header_size = RF_SHM_HEADER_SIZE_FIRST;
	rp_test_write(child, rp_buf, sizeof(rp_buf));
	RF_CHECK_INT(rp_segment_record_exit(rp_test_prefix, child, 7, 0), 0);
	/* The shim published the exit: it stands. */
	hdr->header_size = sizeof(*hdr);
	hdr->status = RF_SHM_STATUS_EXITED;
	hdr->exit_status_known = 1;
	hdr->exit_status = 0;
	rp_test_write(child, rp_buf, sizeof(rp_buf));
	RF_CHECK_INT(rp_segment_record_exit(rp_test_prefix, child, 7, 0), 0);
	RF_CHECK_INT(rp_test_read(child, &snap, &fail), RP_READ_OK);
	RF_CHECK_INT(snap.hdr.exit_status, 0);
	RF_CHECK(!snap.live.by_parent);
	RF_CHECK(rp_end_note(&snap.live) == NULL);
	rp_snapshot_release(&snap);

	/* Still running in its segment: the status is recorded, under the sequence lock. */
	hdr->status = RF_SHM_STATUS_RUNNING;
	hdr->exit_status_known = 0;
	rp_test_write(child, rp_buf, sizeof(rp_buf));
	RF_CHECK_INT(rp_segment_record_exit(rp_test_prefix, child, 7, 0), 1);
	RF_CHECK_INT(rp_test_read(child, &snap, &fail), RP_READ_OK);
	RF_CHECK(!snap.torn);
	RF_CHECK_INT(snap.hdr.seq, 4);
	RF_CHECK_INT(snap.live.state, RP_STATE_EXITED);
	RF_CHECK(snap.live.by_parent);
	RF_CHECK_INT(snap.hdr.exit_status, 7);
	RF_CHECK(snap.hdr.exit_realtime_ns > 0);
	RF_CHECK(strstr(rp_end_note(&snap.live), "exit_group") != NULL);
	rp_state_label(&snap.live, &snap.hdr, label, sizeof(label));
	RF_CHECK_STR(label, "exited(7)");
	RF_CHECK_STR(rp_exit_recorder_name(&snap.live), "parent");
	/* Once only: it says exited now. */
	RF_CHECK_INT(rp_segment_record_exit(rp_test_prefix, child, 9, 0), 0);
	rp_snapshot_release(&snap);

	/* Ended by a signal. */
	rp_test_write(child, rp_buf, sizeof(rp_buf));
	RF_CHECK_INT(rp_segment_record_exit(rp_test_prefix, child, 0, SIGKILL), 1);
	RF_CHECK_INT(rp_test_read(child, &snap, &fail), RP_READ_OK);
	RF_CHECK_INT(snap.live.state, RP_STATE_KILLED);
	RF_CHECK_INT(snap.hdr.exit_signal, SIGKILL);
	RF_CHECK(!rp_exit_status_known(&snap.live, &snap.hdr));
	rp_state_label(&snap.live, &snap.hdr, label, sizeof(label));
	RF_CHECK_STR(label, "killed(KILL)");
	rp_snapshot_release(&snap);

	/* Reaped: its pid may be anyone's now, nothing is written. */
	rp_test_write(child, rp_buf, sizeof(rp_buf));
	RF_CHECK(waitpid(child, NULL, 0) == child);
	RF_CHECK(rp_segment_record_exit(rp_test_prefix, child, 7, 0) < 0);
	RF_CHECK_INT(rp_test_read(child, &snap, &fail), RP_READ_OK);
	RF_CHECK_INT(snap.live.state, RP_STATE_DEAD);
	RF_CHECK(strstr(rp_end_note(&snap.live), "ended without exit()") != NULL);
	rp_snapshot_release(&snap);
}

RP_TEST(liveness)
{
	struct rf_shm_header *hdr = RP_HDR(rp_buf);
	struct rp_snapshot snap;
	struct rp_failure fail;
	pid_t child;

	rp_test_valid(rp_buf);
	hdr->status = RF_SHM_STATUS_EXITED;
	hdr->exit_status_known = 1;
	hdr->exit_status = 3;
	rp_test_write(getpid(), rp_buf, sizeof(rp_buf));
	RF_CHECK_INT(rp_test_read(getpid(), &snap, &fail), RP_READ_OK);
	RF_CHECK_INT(snap.live.state, RP_STATE_EXITED);

	/* Running, our pid, another start time: the pid was reused. */
	rp_test_valid(rp_buf);
	hdr->start_ticks += 1;
	rp_test_write(getpid(), rp_buf, sizeof(rp_buf));
	RF_CHECK_INT(rp_test_read(getpid(), &snap, &fail), RP_READ_OK);
	RF_CHECK_INT(snap.live.state, RP_STATE_DEAD);
	RF_CHECK(snap.live.pid_reused);

	/* Running, and no such process: killed without exit. */
	child = fork();
	RF_CHECK(child >= 0);
	if (child == 0)
		_exit(0);
	RF_CHECK(waitpid(child, NULL, 0) == child);
	rp_test_valid(rp_buf);
	hdr->pid = child;
	rp_test_write(child, rp_buf, sizeof(rp_buf));
	RF_CHECK_INT(rp_test_read(child, &snap, &fail), RP_READ_OK);
	RF_CHECK_INT(snap.live.state, RP_STATE_DEAD);
	RF_CHECK(!snap.live.pid_reused);
}

/* A writer publishing flat out: every copy the reader accepts as stable is whole. */
RP_TEST(concurrent_publish_copies_are_consistent)
{
	struct rp_snapshot snap;
	struct rp_failure fail;
	char name[RF_SHM_NAME_MAX];
	int stable = 0, torn = 0, status;
	pid_t writer;

	rp_test_prefix_set();
	writer = fork();
	RF_CHECK(writer >= 0);
	if (writer == 0) {
		uint64_t stats[RF_STAT__COUNT];
		struct rf_segment_identity id;
		struct rf_shm_config config;
		struct rf_segment seg;

		rf_config_defaults(&config);
		id = (struct rf_segment_identity){.pid = getpid(),
						  .cmdline = "writer",
						  .config_error = "",
						  .config = &config};
		if (rf_proc_start_ticks(getpid(), &id.start_ticks) < 0 ||
		    rf_segment_create(&seg, rp_test_prefix, &id) < 0)
			_exit(1);
		for (uint64_t n = 1; n < 3000000; n++) {
			for (int i = 0; i < RF_STAT__COUNT; i++)
				stats[i] = n;
			rf_segment_publish_begin(&seg);
			memcpy(seg.shm->stats, stats, sizeof(stats));
			rf_segment_publish_end(&seg);
		}
		_exit(0);
	}
	rp_segment_name(rp_test_prefix, writer, name);
	rp_test_track(name);
	/* Up to 10 s (50000 x 200 us) for the writer to start: a loaded machine is slow. */
	for (int i = 0; i < 50000 && stable + torn < 300; i++) {
		enum rp_read_error e = rp_segment_read(rp_test_prefix, writer, &snap, &fail);

		if (e == RP_READ_MISSING || (e == RP_READ_TRUNCATED && snap.ino != 0) ||
		    e == RP_READ_NOT_RINGFENCE) { /* not created, or not initialised, yet */
			usleep(200);
			continue;
		}
		RF_CHECK_INT(e, RP_READ_OK);
		rp_snapshot_release(&snap);
		if (snap.torn) {
			torn++;
			continue;
		}
		stable++;
		for (int j = 1; j < RF_STAT__COUNT; j++)
			RF_CHECK_INT(snap.stats[j], snap.stats[0]);
	}
	kill(writer, SIGKILL);
	RF_CHECK(waitpid(writer, &status, 0) == writer);
	printf("# %d stable copies, %d torn\n", stable, torn);
	RF_CHECK(stable > 0);
}

/* The reader of bytes in memory (the fuzz targets') says what the reader of the file says. */
RP_TEST(bytes_read_like_the_file)
{
	static unsigned char big[RP_SEGMENT_SIZE_MAX + 1];
	struct rp_snapshot from_file, from_bytes;
	struct rp_failure file_fail, bytes_fail;

	/* Valid, empty, cut short, another version, a string not terminated. */
	for (int c = 0; c < 5; c++) {
		size_t len = sizeof(rp_buf);
		enum rp_read_error e;

		rp_test_valid(rp_buf);
		if (c == 1)
			len = 0;
		else if (c == 2)
			len = 100;
		else if (c == 3)
			RP_HDR(rp_buf)->version = 99;
		else if (c == 4)
			memset(RP_HDR(rp_buf)->cmdline, 'x', RF_SHM_CMDLINE_MAX);
		rp_test_write(getpid(), rp_buf, len);
		e = rp_test_read(getpid(), &from_file, &file_fail);
		RF_CHECK_INT(rp_segment_parse(rp_test_prefix, getpid(), rp_buf, len, &from_bytes,
					      &bytes_fail),
			     e);
		RF_CHECK_STR(bytes_fail.message, file_fail.message);
		RF_CHECK_STR(from_bytes.path, from_file.path);
		if (e == RP_READ_OK) {
			RF_CHECK_INT(from_bytes.len, from_file.len);
			RF_CHECK(memcmp(from_bytes.buf, from_file.buf, from_file.len) == 0);
			RF_CHECK_INT(from_bytes.live.state, from_file.live.state);
			RF_CHECK(!from_bytes.torn && from_bytes.ino == 0);
		}
		rp_snapshot_release(&from_file);
		rp_snapshot_release(&from_bytes);
	}
	/* The same bound on size, before any copy. */
	RF_CHECK_INT(rp_segment_parse(rp_test_prefix, getpid(), big, sizeof(big), &from_bytes,
				      &bytes_fail),
		     RP_READ_LAYOUT);
	RF_CHECK(strstr(bytes_fail.message, "above the") != NULL);
}

RP_TEST(error_statuses_distinct)
{
	for (int a = RP_READ_OK + 1; a < RP_READ__COUNT; a++) {
		RF_CHECK(rp_read_error_status(a) >= 3);
		for (int b = a + 1; b < RP_READ__COUNT; b++)
			RF_CHECK(rp_read_error_status(a) != rp_read_error_status(b));
	}
}

RF_TEST_MAIN(RF_TEST_ENTRY(valid), RF_TEST_ENTRY(missing), RF_TEST_ENTRY(list_none_and_one),
	     RF_TEST_ENTRY(truncated_empty), RF_TEST_ENTRY(truncated_half_header),
	     RF_TEST_ENTRY(truncated_stats_cut), RF_TEST_ENTRY(bad_magic),
	     RF_TEST_ENTRY(wrong_version), RF_TEST_ENTRY(header_size_out_of_range),
	     RF_TEST_ENTRY(older_writer_header_fields_absent), RF_TEST_ENTRY(size_field_mismatch),
	     RF_TEST_ENTRY(section_out_of_range), RF_TEST_ENTRY(count_above_capacity),
	     RF_TEST_ENTRY(section_kind_zero_or_missing), RF_TEST_ENTRY(entry_size_out_of_range),
	     RF_TEST_ENTRY(newer_writer_is_read), RF_TEST_ENTRY(older_writer_counters_absent),
	     RF_TEST_ENTRY(unterminated_strings), RF_TEST_ENTRY(config_out_of_range),
	     RF_TEST_ENTRY(status_and_flags_out_of_range), RF_TEST_ENTRY(pid_mismatch),
	     RF_TEST_ENTRY(odd_seq_is_torn), RF_TEST_ENTRY(too_large_is_refused),
	     RF_TEST_ENTRY(fifo_is_not_a_segment), RF_TEST_ENTRY(permission_denied),
	     RF_TEST_ENTRY(liveness), RF_TEST_ENTRY(parent_records_an_end_the_shim_did_not),
	     RF_TEST_ENTRY(concurrent_publish_copies_are_consistent),
	     RF_TEST_ENTRY(bytes_read_like_the_file), RF_TEST_ENTRY(error_statuses_distinct))
