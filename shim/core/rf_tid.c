/*
 * rf_tid.c - the calling thread's kernel id, cached per thread.
 */
#define _GNU_SOURCE
#include "rf_tid.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

static __thread pid_t rf_tid_cache __attribute__((tls_model("initial-exec")));

/*
 * Where glibc keeps a thread's kernel id in its struct pthread, read from
 * the descriptor glibc exports for libthread_db (_thread_db_pthread_tid:
 * bits, count, offset), so that a new thread learns its id with a load
 * instead of a gettid system call. Checked against gettid before use;
 * 0: unknown, ask the kernel.
 */
static size_t rf_tid_offset;
static int rf_tid_offset_known; /* atomic: 0 not yet, 1 decided */

static void rf_tid_offset_find(void)
{
	const uint32_t *desc;
	size_t off = 0;

	if (__atomic_load_n(&rf_tid_offset_known, __ATOMIC_ACQUIRE))
		return;
	desc = dlsym(RTLD_DEFAULT, "_thread_db_pthread_tid");
	if (desc != NULL && desc[0] == 8 * sizeof(pid_t) && desc[1] == 1 && desc[2] < 4096 &&
	    desc[2] % sizeof(pid_t) == 0) {
		pid_t seen;

		memcpy(&seen, (char *)pthread_self() + desc[2], sizeof(seen));
		if (seen == gettid())
			off = desc[2];
	}
	rf_tid_offset = off;
	__atomic_store_n(&rf_tid_offset_known, 1, __ATOMIC_RELEASE);
}

pid_t rf_tid(void)
{
	if (rf_tid_cache == 0) {
		rf_tid_offset_find();
		if (rf_tid_offset != 0)
			memcpy(&rf_tid_cache, (char *)pthread_self() + rf_tid_offset,
			       sizeof(pid_t));
		if (rf_tid_cache <= 0)
			rf_tid_cache = gettid();
	}
	return rf_tid_cache;
}

void rf_tid_fork_child(void)
{
	rf_tid_cache = 0;
}
