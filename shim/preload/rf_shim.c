/*
 * rf_shim.c - the shim's process-wide state: start-up, publication, fork
 * and exit.
 *
 * Ordering hazards handled here:
 * - start-up may be reached from the constructor or from any hook first;
 *   a compare-and-swap picks one initialiser and everyone else passes
 *   through without waiting (waiting could deadlock a re-entrant caller);
 * - fork: the child inherits the parent's mapping and counters but not its
 *   publisher thread; the child handler drops the mapping unread, zeroes the
 *   counters and creates the child's own segment and thread;
 * - vfork: the child shares our memory and runs no fork handlers, so every
 *   exit path checks getpid() against the segment's pid before writing;
 * - exit: the final publish may race the publisher thread, or run inside a
 *   signal handler that interrupted a publish on this very thread, so it
 *   takes the publish lock with a bounded trylock and gives up rather than
 *   hang the exit.
 */
#define _GNU_SOURCE
#include "rf_shim.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hook_alloc.h"
#include "rf_budget.h"
#include "rf_config.h"
#include "rf_heap.h"
#include "rf_log.h"
#include "rf_proc.h"
#include "rf_publish.h"
#include "rf_real.h"
#include "rf_segment.h"
#include "rf_stats.h"
#include "rf_thread_shim.h"
#include "rf_tid.h"
#include "rf_time.h"

extern char **environ;

#define RF_SHIM_ENV_NAME(name, type, env, def, min, max, help) ", " env
/* ", A, B, C" + 2 is "A, B, C": the known variables, for typo warnings. */
#define RF_SHIM_ENV_NAMES (RF_CONFIG(RF_SHIM_ENV_NAME) + 2)

enum rf_shim_state {
	RF_SHIM_NONE = 0,
	RF_SHIM_STARTING = 1,
	RF_SHIM_READY = 2,
};

static struct {
	int state; /* enum rf_shim_state, atomic */
	pthread_mutex_t publish_lock;
	struct rf_segment segment; /* under publish_lock */
	pid_t segment_pid;
	struct rf_shm_config config;
	char config_error[RF_SHM_ERROR_MAX];
	int passive;
	int exit_status_known; /* atomic; first recorder wins */
	int exit_status;
	int exited;    /* atomic: the segment was marked exited */
	int publisher; /* atomic: the publisher thread was started (or tried) */
} rf_shim = {
	.publish_lock = PTHREAD_MUTEX_INITIALIZER,
	.segment = RF_SEGMENT_NONE,
};

const struct rf_shm_config *rf_shim_config(void)
{
	return &rf_shim.config;
}

/* Takes the publish lock within about 100 ms, or fails: exit paths must not hang. */
static int rf_shim_lock_bounded(void)
{
	for (int i = 0; i < 100; i++) {
		if (pthread_mutex_trylock(&rf_shim.publish_lock) == 0)
			return 0;
		struct timespec ms = {0, 1000000};
		nanosleep(&ms, NULL);
	}
	return -EBUSY;
}

/* One publication (rf_publish.c); the caller holds publish_lock. */
static void rf_shim_publish_locked(int exiting)
{
	int known = __atomic_load_n(&rf_shim.exit_status_known, __ATOMIC_ACQUIRE) == 1;

	rf_publish(&rf_shim.segment, &rf_shim.config, exiting, exiting && known,
		   rf_shim.exit_status);
}

static void rf_shim_publish(void)
{
	pthread_mutex_lock(&rf_shim.publish_lock);
	if (!__atomic_load_n(&rf_shim.exited, __ATOMIC_ACQUIRE))
		rf_shim_publish_locked(0);
	pthread_mutex_unlock(&rf_shim.publish_lock);
}

static void *rf_shim_publisher_main(void *arg)
{
	struct timespec interval = rf_timespec_of_ns((int64_t)rf_shim.config.publish_interval);

	rf_real_pthread_setname_np_fn setname = RF_REAL(pthread_setname_np);

	(void)arg;
	/* The real call: the interposer would record the name, which adopt_self does. */
	if (setname != NULL)
		setname(pthread_self(), "rf:publisher");
	rf_thread_shim_adopt_self("rf:publisher", rf_shim_publisher_main);
	for (;;) {
		clock_nanosleep(CLOCK_MONOTONIC, 0, &interval, NULL);
		rf_thread_shim_maintain(rf_shim.segment.name, &rf_shim.config);
		rf_shim_publish();
	}
	return NULL;
}

/*
 * The publisher thread, started only once the process has threads of its
 * own (rf_shim_publisher_need): a thread of ours would turn a
 * single-threaded program into a multi-threaded one, and glibc applies a
 * set*id call to every thread, where ours may lack the capabilities the
 * program arranged for its own (setpriv aborts then).
 */
static void rf_shim_publisher_start(void)
{
	rf_real_pthread_create_fn create = RF_REAL(pthread_create);
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t tid;
	int rc;

	if (create == NULL || rf_shim.segment.shm == NULL)
		return;
	/* The host's signals must never be delivered to our thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	rc = create(&tid, &attr, rf_shim_publisher_main, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		rf_stats_add(RF_STAT_shim_errors, 1);
		rf_log("cannot start the publisher thread (%s); figures are published at exit only",
		       strerrordesc_np(rc));
	}
}

void rf_shim_segment_owner(uid_t uid, gid_t gid)
{
	rf_shim_init();
	if (rf_shim.segment_pid == getpid())
		rf_segment_owner(&rf_shim.segment, uid, gid);
}

void rf_shim_publisher_need(void)
{
	int expected = 0;

	/* Once, and only once start-up is over (a hook may run during it). */
	if (__atomic_load_n(&rf_shim.publisher, __ATOMIC_ACQUIRE) != 0 ||
	    __atomic_load_n(&rf_shim.state, __ATOMIC_ACQUIRE) != RF_SHIM_READY ||
	    rf_shim.segment_pid != getpid() ||
	    !__atomic_compare_exchange_n(&rf_shim.publisher, &expected, 1, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return;
	rf_shim_publisher_start();
}

static int rf_shim_segment_create(pid_t pid)
{
	struct rf_segment_identity id = {
		.pid = pid,
		.start_realtime_ns = rf_clock_ns(CLOCK_REALTIME),
		.config_error = rf_shim.config_error,
		.passive = rf_shim.passive,
		.config = &rf_shim.config,
	};
	char cmdline[RF_SHM_CMDLINE_MAX];
	int rc;

	if (rf_proc_cmdline(pid, cmdline, sizeof(cmdline)) < 0)
		cmdline[0] = '\0';
	id.cmdline = cmdline;
	if (rf_proc_start_ticks(pid, &id.start_ticks) < 0)
		id.start_ticks = 0;
	/* Before ours: what ended processes left may be what fills /dev/shm. */
	rf_segment_prune(rf_shim.config.shm_prefix, rf_shim.config.dead_max);
	rc = rf_segment_create(&rf_shim.segment, rf_shim.config.shm_prefix, &id);
	if (rc < 0) {
		rf_stats_add(RF_STAT_shim_errors, 1);
		rf_log("cannot create the shared-memory segment %s (%s); figures will not be "
		       "published, the process runs on unchanged",
		       rf_shim.segment.name,
		       rc == -ENOSPC ? "/dev/shm is full" : strerrordesc_np(-rc));
	}
	rf_shim.segment_pid = pid;
	return rc;
}

static void rf_shim_fork_prepare(void)
{
	pthread_mutex_lock(&rf_shim.publish_lock);
	rf_thread_shim_fork_prepare();
}

static void rf_shim_fork_parent(void)
{
	rf_thread_shim_fork_parent();
	pthread_mutex_unlock(&rf_shim.publish_lock);
}

static void rf_shim_fork_child(void)
{
	int cancel_state;

	/* Its /proc reads and shm_open are cancellation points; fork is not. */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
	rf_tid_fork_child(); /* before anything records who polls or creates */
	pthread_mutex_init(&rf_shim.publish_lock, NULL);
	rf_thread_shim_fork_child(); /* before the new publisher adopts itself */
	/* The parent's segment is the parent's: unmap it without a write. */
	rf_segment_detach(&rf_shim.segment);
	rf_stats_reset();
	rf_budget_fork_child();
	rf_heap_fork_child(); /* after the budget: it may wake its (new) waiters */
	rf_shim.exit_status_known = 0;
	rf_shim.exited = 0;
	rf_shim.publisher = 0; /* the child has one thread: none of ours until it has more */
	if (rf_shim_segment_create(getpid()) == 0 && rf_shim.config.publish_thread)
		rf_shim_publisher_need();
	pthread_setcancelstate(cancel_state, NULL);
}

/* The drop-oldest policy's purge: the queued (not in-flight) messages of rk. */
static int rf_shim_kafka_purge(void *rk)
{
	rf_real_rd_kafka_purge_fn purge = RF_REAL(rd_kafka_purge);

	/* In-flight messages are on their way and stay. */
	if (purge == NULL)
		return -ENOSYS;
	return purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_NON_BLOCKING) ==
			       RD_KAFKA_RESP_ERR_NO_ERROR
		       ? 0
		       : -EIO;
}

/* Heap accounting (docs/heap.md): the soft limit acts on the budget's admission. */
static void rf_shim_heap_setup(void)
{
	int interposed = rf_alloc_setup();

	rf_heap_setup(rf_shim.passive ? 0 : rf_shim.config.heap_limit, rf_budget_heap_pressure,
		      interposed);
	if (!rf_shim.config.heap_cache)
		rf_heap_cache_off();
	if (rf_shim.config.heap_trim)
		rf_heap_trim_on();
	if (!interposed) {
		rf_budget_arena_forbid();
		rf_log("another object's malloc and free come before the shim's (an allocator "
		       "preloaded first?): heap figures are off and payloads are not copied "
		       "into the arena");
	}
}

static void rf_shim_warn_unknown(const char *assignment, void *arg)
{
	const char *eq = strchr(assignment, '=');
	int len = eq ? (int)(eq - assignment) : (int)strlen(assignment);

	(void)arg;
	if (len > 64)
		len = 64;
	rf_log("warning: %.*s is not a ringfence variable and is ignored; known: %s", len,
	       assignment, RF_SHIM_ENV_NAMES);
}

int rf_shim_up;

void rf_shim_init_slow(void)
{
	int expected = RF_SHIM_NONE, cancel_state;
	const char *missing;

	if (__atomic_load_n(&rf_shim.state, __ATOMIC_ACQUIRE) == RF_SHIM_READY)
		return;
	if (!__atomic_compare_exchange_n(&rf_shim.state, &expected, RF_SHIM_STARTING, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;

	/* /proc reads, shm_open: a cancel here would leave the state STARTING. */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
	if (rf_config_load(&rf_shim.config, environ, rf_shim.config_error,
			   sizeof(rf_shim.config_error), rf_shim_warn_unknown, NULL) < 0) {
		rf_shim.passive = 1;
		rf_log("%s; the shim runs passive (counts, enforces nothing)",
		       rf_shim.config_error);
	}
	if (rf_real_resolve_required(&missing) < 0) {
		rf_shim.passive = 1;
		snprintf(rf_shim.config_error, sizeof(rf_shim.config_error),
			 "libc function %s not found", missing);
		rf_log("%s; the shim runs passive", rf_shim.config_error);
	}
	rf_budget_setup(&rf_shim.config, rf_shim.passive, rf_shim_kafka_purge);
	rf_shim_heap_setup();
	rf_shim_segment_create(getpid());
	pthread_atfork(rf_shim_fork_prepare, rf_shim_fork_parent, rf_shim_fork_child);
	__atomic_store_n(&rf_shim.state, RF_SHIM_READY, __ATOMIC_RELEASE);
	__atomic_store_n(&rf_shim_up, 1, __ATOMIC_RELEASE);
	if (rf_shim.config.publish_thread)
		rf_shim_publisher_need();
	pthread_setcancelstate(cancel_state, NULL);
}

void rf_shim_exit_record(int status)
{
	int expected = 0;

	if (__atomic_compare_exchange_n(&rf_shim.exit_status_known, &expected, -1, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		rf_shim.exit_status = status;
		__atomic_store_n(&rf_shim.exit_status_known, 1, __ATOMIC_RELEASE);
	}
}

/* Marks the segment exited once, from whichever exit path comes first. */
static void rf_shim_mark_exited(void)
{
	if (rf_shim.segment_pid != getpid() || rf_shim_lock_bounded() < 0)
		return;
	if (!__atomic_exchange_n(&rf_shim.exited, 1, __ATOMIC_ACQ_REL))
		rf_shim_publish_locked(1);
	pthread_mutex_unlock(&rf_shim.publish_lock);
}

/* _exit and _Exit: not cancellation points, and neither is what they publish. */
void rf_shim_exit_now(int status)
{
	int cancel_state;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
	rf_shim_exit_record(status);
	rf_shim_mark_exited();
	pthread_setcancelstate(cancel_state, NULL);
}

__attribute__((constructor)) static void rf_shim_constructor(void)
{
	rf_shim_init();
}

/*
 * Destructors of a preloaded library run late in exit(), after the
 * application's atexit handlers, so the figures are final. Hooks keep
 * working after this: they pass through and count.
 */
__attribute__((destructor)) static void rf_shim_destructor(void)
{
	int cancel_state;

	/* exit() is not a cancellation point: a pending cancel must not stop it
	 * here, in a bounded wait or a /proc read, with the publish lock held. */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
	rf_shim_mark_exited();
	if (rf_shim.segment_pid == getpid())
		rf_thread_shim_exit_report(&rf_shim.config);
	pthread_setcancelstate(cancel_state, NULL);
}
