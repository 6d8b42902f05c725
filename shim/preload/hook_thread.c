/*
 * hook_thread.c - interposers of thread creation, end, join, detach and
 * naming.
 *
 * pthread_create and thrd_create start the new thread in a trampoline that
 * records its start and, through a cleanup handler, its end however it comes:
 * return, pthread_exit/thrd_exit (which we interpose only to tell them from
 * cancellation), or cancellation. glibc's thrd_create, thrd_join and
 * thrd_detach reach their pthread counterparts inside libc, past any PLT,
 * so each is interposed in its own right (librdkafka uses them all).
 *
 * Built with -fexceptions (shim/meson.build): the cleanup handlers are
 * landing pads of glibc's forced unwinding, which cost nothing until used,
 * instead of a sigsetjmp each.
 *
 * Each hook: the real function is called exactly once with the caller's
 * arguments (only the start routine is swapped for the trampoline), its
 * result returned as is, errno left as the real call left it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <threads.h>
#include <unistd.h>

#include "rf_heap.h"
#include "rf_real.h"
#include "rf_log.h"
#include "rf_shim.h"
#include "rf_thread.h"
#include "rf_thread_shim.h"
#include "rf_tid.h"

/* How the calling thread is ending, set by the exit interposers. */
static __thread unsigned rf_thread_how __attribute__((tls_model("initial-exec")));

static void rf_thread_cleanup(void *arg)
{
	struct rf_thread *t = arg;
	unsigned how = rf_thread_how ? rf_thread_how : RF_SHM_THREAD_END_CANCEL;
	int saved = errno;

	rf_thread_current = NULL;
	rf_thread_ended(t, how, rf_thread_now());
	errno = saved;
}

static void rf_thread_enter(struct rf_thread *t)
{
	rf_heap_thread_group(rf_thread_heap_id(t)); /* its allocations count for its group */
	rf_thread_current = t;
	rf_thread_how = 0;
	rf_thread_started(t, (uint64_t)pthread_self(), rf_tid());
}

/* The cleanup handler's scope holds nothing but the call: no variable a
 * longjmp could clobber, were it built without -fexceptions. */
static void rf_thread_run(struct rf_thread *t, void **ret)
{
	void *(*fn)(void *);
	int (*fn_c11)(void *);
	void *arg;

	rf_thread_start_get(t, &fn, &fn_c11, &arg);
	pthread_cleanup_push(rf_thread_cleanup, t);
	if (fn_c11 != NULL)
		*ret = (void *)(intptr_t)fn_c11(arg);
	else
		*ret = fn(arg);
	rf_thread_how = RF_SHM_THREAD_END_RETURN;
	pthread_cleanup_pop(1);
}

static void *rf_thread_trampoline(void *arg)
{
	void *ret = NULL;

	rf_thread_stack_top = (uintptr_t)__builtin_frame_address(0);
	rf_thread_enter(arg);
	rf_thread_run(arg, &ret);
	return ret;
}

static int rf_thread_trampoline_c11(void *arg)
{
	void *ret = NULL;

	rf_thread_stack_top = (uintptr_t)__builtin_frame_address(0);
	rf_thread_enter(arg);
	rf_thread_run(arg, &ret);
	return (int)(intptr_t)ret;
}

/* A record for a thread about to be created, or NULL (then it runs untracked). */
static struct rf_thread *rf_thread_hook_begin(uintptr_t start, unsigned flags)
{
	uintptr_t frames[RF_SHM_THREAD_FRAMES];
	int n = rf_thread_stack_capture(frames);

	return rf_thread_create_begin(frames, n, start, flags, rf_tid(), rf_thread_now());
}

RF_EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attr,
			     void *(*start_routine)(void *), void *arg)
{
	rf_real_pthread_create_fn real = RF_REAL(pthread_create);
	int saved = errno, rc, detach = PTHREAD_CREATE_JOINABLE;
	struct rf_thread *t;

	if (real == NULL)
		return EAGAIN;
	rf_shim_init();
	if (attr != NULL && pthread_attr_getdetachstate(attr, &detach) != 0)
		detach = PTHREAD_CREATE_JOINABLE;
	t = rf_thread_hook_begin((uintptr_t)start_routine,
				 detach == PTHREAD_CREATE_DETACHED ? RF_THREAD_F_DETACHED : 0);
	errno = saved;
	if (t == NULL) {
		rc = real(thread, attr, start_routine, arg);
		saved = errno;
	} else {
		rf_thread_start_set(t, start_routine, NULL, arg);
		rc = real(thread, attr, rf_thread_trampoline, t);
		saved = errno;
		rf_thread_create_end(t, rc == 0 ? (uint64_t)*thread : 0, rc == 0);
	}
	if (rc == 0)
		rf_shim_publisher_need();
	errno = saved;
	return rc;
}

RF_EXPORT int thrd_create(thrd_t *thr, thrd_start_t func, void *arg)
{
	rf_real_thrd_create_fn real = RF_REAL(thrd_create);
	int saved = errno, rc;
	struct rf_thread *t;

	if (real == NULL)
		return thrd_error;
	rf_shim_init();
	t = rf_thread_hook_begin((uintptr_t)func, RF_THREAD_F_C11);
	errno = saved;
	if (t == NULL) {
		rc = real(thr, func, arg);
		saved = errno;
	} else {
		rf_thread_start_set(t, NULL, func, arg);
		rc = real(thr, rf_thread_trampoline_c11, t);
		saved = errno;
		rf_thread_create_end(t, rc == thrd_success ? (uint64_t)*thr : 0,
				     rc == thrd_success);
	}
	if (rc == thrd_success)
		rf_shim_publisher_need();
	errno = saved;
	return rc;
}

RF_EXPORT void pthread_exit(void *retval)
{
	rf_real_pthread_exit_fn real = RF_REAL(pthread_exit);

	rf_thread_how = RF_SHM_THREAD_END_EXIT;
	if (real != NULL)
		real(retval);
	syscall(SYS_exit, 0); /* unreachable: libc always has pthread_exit */
	__builtin_unreachable();
}

RF_EXPORT void thrd_exit(int res)
{
	rf_real_thrd_exit_fn real = RF_REAL(thrd_exit);

	rf_thread_how = RF_SHM_THREAD_END_EXIT;
	if (real != NULL)
		real(res);
	syscall(SYS_exit, 0);
	__builtin_unreachable();
}

/* ---- join and detach: look up before, settle after (see rf_thread.h) ---- */

/* One join call as the application made it. */
struct rf_join_call {
	enum {
		RF_JOIN,
		RF_JOIN_TRY,
		RF_JOIN_TIMED,
		RF_JOIN_CLOCK,
		RF_JOIN_C11
	} kind;
	pthread_t th; /* a thrd_t is a pthread_t in glibc */
	void **retval;
	int *res;
	clockid_t clockid;
	const struct timespec *abstime;
};

/*
 * A join cancelled while it waits leaves its target joinable (glibc forgets
 * the joiner), and so must the registry: otherwise the record stays marked
 * as being joined, a later detach is taken for one that detaches nothing,
 * and the thread is counted unjoined when it ends.
 */
static void rf_join_cancelled(void *t)
{
	int saved = errno;

	rf_thread_join_end(t, false, 0);
	errno = saved;
}

/* The real call, under a cleanup handler whose scope holds nothing but it. */
static int rf_join_real(struct rf_thread *t, const struct rf_join_call *c)
{
	int rc;

	pthread_cleanup_push(rf_join_cancelled, t);
	switch (c->kind) {
	case RF_JOIN:
		rc = RF_REAL(pthread_join)(c->th, c->retval);
		break;
	case RF_JOIN_TRY:
		rc = RF_REAL(pthread_tryjoin_np)(c->th, c->retval);
		break;
	case RF_JOIN_TIMED:
		rc = RF_REAL(pthread_timedjoin_np)(c->th, c->retval, c->abstime);
		break;
	case RF_JOIN_CLOCK:
		rc = RF_REAL(pthread_clockjoin_np)(c->th, c->retval, c->clockid, c->abstime);
		break;
	default:
		rc = RF_REAL(thrd_join)((thrd_t)c->th, c->res);
		break;
	}
	pthread_cleanup_pop(0);
	return rc;
}

/* Look up, join for real, settle the outcome; the real result and errno pass on. */
static int rf_join(const struct rf_join_call *c)
{
	struct rf_thread *t = rf_thread_join_begin((uint64_t)c->th);
	int rc = rf_join_real(t, c), saved = errno;

	/* thrd_success is 0, as is every pthread join's success. */
	rf_thread_join_end(t, rc == 0, rf_thread_now());
	errno = saved;
	return rc;
}

RF_EXPORT int pthread_join(pthread_t th, void **retval)
{
	if (RF_REAL(pthread_join) == NULL)
		return ESRCH;
	return rf_join(&(struct rf_join_call){.kind = RF_JOIN, .th = th, .retval = retval});
}

RF_EXPORT int pthread_tryjoin_np(pthread_t th, void **retval)
{
	if (RF_REAL(pthread_tryjoin_np) == NULL)
		return ESRCH;
	return rf_join(&(struct rf_join_call){.kind = RF_JOIN_TRY, .th = th, .retval = retval});
}

RF_EXPORT int pthread_timedjoin_np(pthread_t th, void **retval, const struct timespec *abstime)
{
	if (RF_REAL(pthread_timedjoin_np) == NULL)
		return ESRCH;
	return rf_join(&(struct rf_join_call){
		.kind = RF_JOIN_TIMED, .th = th, .retval = retval, .abstime = abstime});
}

RF_EXPORT int pthread_clockjoin_np(pthread_t th, void **retval, clockid_t clockid,
				   const struct timespec *abstime)
{
	if (RF_REAL(pthread_clockjoin_np) == NULL)
		return ESRCH;
	return rf_join(&(struct rf_join_call){.kind = RF_JOIN_CLOCK,
					      .th = th,
					      .retval = retval,
					      .clockid = clockid,
					      .abstime = abstime});
}

RF_EXPORT int thrd_join(thrd_t thr, int *res)
{
	_Static_assert(thrd_success == 0, "rf_join takes 0 for success");
	if (RF_REAL(thrd_join) == NULL)
		return thrd_error;
	return rf_join(
		&(struct rf_join_call){.kind = RF_JOIN_C11, .th = (pthread_t)thr, .res = res});
}

RF_EXPORT int pthread_detach(pthread_t th)
{
	rf_real_pthread_detach_fn real = RF_REAL(pthread_detach);
	struct rf_thread *t;
	int rc, saved;

	if (real == NULL)
		return ESRCH;
	t = rf_thread_detach_begin((uint64_t)th);
	if (t == NULL && rf_thread_current != NULL && pthread_equal(th, pthread_self()))
		t = rf_thread_current; /* detaching itself before its creator hashed it */
	rc = real(th);
	saved = errno;
	rf_thread_detach_end(t, rc == 0);
	errno = saved;
	return rc;
}

RF_EXPORT int thrd_detach(thrd_t thr)
{
	rf_real_thrd_detach_fn real = RF_REAL(thrd_detach);
	struct rf_thread *t;
	int rc, saved;

	if (real == NULL)
		return thrd_error;
	t = rf_thread_detach_begin((uint64_t)thr);
	if (t == NULL && rf_thread_current != NULL && thrd_equal(thr, thrd_current()))
		t = rf_thread_current;
	rc = real(thr);
	saved = errno;
	rf_thread_detach_end(t, rc == thrd_success);
	errno = saved;
	return rc;
}

RF_EXPORT int pthread_setname_np(pthread_t th, const char *name)
{
	rf_real_pthread_setname_np_fn real = RF_REAL(pthread_setname_np);
	int rc, saved;

	if (real == NULL)
		return ENOSYS;
	rc = real(th, name);
	saved = errno;
	if (rc == 0) {
		if (pthread_equal(th, pthread_self()) && rf_thread_current != NULL)
			rf_thread_name_set(rf_thread_current, name);
		else
			rf_thread_name_set_handle((uint64_t)th, name);
	}
	errno = saved;
	return rc;
}
