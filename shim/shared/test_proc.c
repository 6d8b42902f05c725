/*
 * test_proc.c - what /proc says: this process's start time and command
 * line, its memory, and the state of one of its threads blocked in a known
 * call.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rf_proc.h"
#include "rf_test.h"

static int pipe_fds[2];
static pid_t reader_tid;

static void *reader(void *arg)
{
	char c;

	(void)arg;
	pthread_setname_np(pthread_self(), "rf-reader");
	__atomic_store_n(&reader_tid, gettid(), __ATOMIC_RELEASE);
	return read(pipe_fds[0], &c, 1) == 1 ? NULL : (void *)1;
}

RF_TEST(start_ticks_and_cmdline)
{
	uint64_t ticks = 0, again = 0;
	char cmdline[256];

	RF_CHECK_INT(rf_proc_start_ticks(getpid(), &ticks), 0);
	RF_CHECK(ticks > 0);
	RF_CHECK_INT(rf_proc_start_ticks(getpid(), &again), 0);
	RF_CHECK_INT(again, ticks);
	RF_CHECK_INT(rf_proc_cmdline(getpid(), cmdline, sizeof(cmdline)), 0);
	RF_CHECK(strstr(cmdline, "test-proc") != NULL);
	/* Truncated to fit, always terminated. */
	RF_CHECK_INT(rf_proc_cmdline(getpid(), cmdline, 5), 0);
	RF_CHECK_INT(strlen(cmdline), 4);
	RF_CHECK_INT(rf_proc_start_ticks(-1, &ticks), -ENOENT);
}

RF_TEST(thread_blocked_in_read)
{
	struct rf_proc_thread_state st;
	pthread_t t;
	pid_t tid;
	int tries = 0;

	RF_CHECK_INT(pipe(pipe_fds), 0);
	RF_CHECK_INT(pthread_create(&t, NULL, reader, NULL), 0);
	while ((tid = __atomic_load_n(&reader_tid, __ATOMIC_ACQUIRE)) == 0)
		usleep(1000);
	/* Until it sleeps in read(2). */
	do {
		usleep(10000);
		RF_CHECK_INT(rf_proc_thread_state(0, tid, &st), 0);
	} while ((st.state != 'S' || st.syscall != SYS_read) && ++tries < 300);
	RF_CHECK_INT(st.state, 'S');
	RF_CHECK_INT(st.syscall, SYS_read);
	RF_CHECK_STR(st.name, "rf-reader");
	/* The same thread seen through this process's pid. */
	RF_CHECK_INT(rf_proc_thread_state(getpid(), tid, &st), 0);
	RF_CHECK_STR(st.name, "rf-reader");
	RF_CHECK_INT(write(pipe_fds[1], "x", 1), 1);
	RF_CHECK(pthread_join(t, NULL) == 0);
	/* Gone: its task directory with it. */
	RF_CHECK_INT(rf_proc_thread_state(0, tid, &st), -ENOENT);
	/* The calling thread is running as it reads itself (in read(2) as it does). */
	RF_CHECK_INT(rf_proc_thread_state(0, gettid(), &st), 0);
	RF_CHECK_INT(st.state, 'R');
}

RF_TEST(self_memory_follows_a_mapping)
{
	const size_t len = 32 << 20;
	uint64_t vm0, rss0, vm1, rss1, vm2, rss2;
	void *p;

	RF_CHECK_INT(rf_proc_self_memory(&vm0, &rss0), 0);
	RF_CHECK(rss0 > 0 && vm0 >= rss0);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	RF_CHECK(p != MAP_FAILED);
	RF_CHECK_INT(rf_proc_self_memory(&vm1, &rss1), 0);
	RF_CHECK(vm1 >= vm0 + len);
	memset(p, 1, len);
	RF_CHECK_INT(rf_proc_self_memory(&vm2, &rss2), 0);
	RF_CHECK(rss2 >= rss1 + len - (1 << 20));
	munmap(p, len);
}

RF_TEST_MAIN(RF_TEST_ENTRY(start_ticks_and_cmdline), RF_TEST_ENTRY(thread_blocked_in_read),
	     RF_TEST_ENTRY(self_memory_follows_a_mapping))
