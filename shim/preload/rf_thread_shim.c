/*
 * rf_thread_shim.c - the thread registry inside a preloaded process.
 */
#define _GNU_SOURCE
#include "rf_thread_shim.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "rf_heap.h"
#include "rf_modules.h"
#include "rf_log.h"
#include "rf_proc.h"
#include "rf_stack_memo.h"
#include "rf_thread_sample.h"
#include "rf_tid.h"
#include "rf_time.h"

/* ld.so's record of where the main thread's stack started. */
extern void *__libc_stack_end;
/* How far below that start a frame can be and still be on the main stack:
 * the kernel keeps other mappings further away (the stack's own gap). */
#define RF_MAIN_STACK_REACH ((uintptr_t)64 << 20)

__thread struct rf_thread *rf_thread_current __attribute__((tls_model("initial-exec")));
__thread uintptr_t rf_thread_stack_top __attribute__((tls_model("initial-exec")));

/* The shim's own text, whose frames a creation stack leaves out. */
static uintptr_t rf_self_start, rf_self_end;
static int rf_self_known; /* atomic: 0 not yet, 1 known, -1 unknown */

/*
 * The coarse clock: thread ages are judged in seconds, and each thread
 * reads the clock three times (created, ended, joined), where the fine
 * clock's TSC read costs several times as much on virtual machines
 * (docs/benchmarks.md).
 */
int64_t rf_thread_now(void)
{
	return rf_clock_ns(CLOCK_MONOTONIC_COARSE);
}

static int rf_self_find(struct dl_phdr_info *info, size_t size, void *arg)
{
	uintptr_t base = (uintptr_t)arg, lo = UINTPTR_MAX, hi = 0;

	(void)size;
	if (info->dlpi_addr != base)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		if (info->dlpi_addr + ph->p_vaddr < lo)
			lo = info->dlpi_addr + ph->p_vaddr;
		if (info->dlpi_addr + ph->p_vaddr + ph->p_memsz > hi)
			hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
	}
	rf_self_start = lo;
	rf_self_end = hi;
	return 1;
}

static void rf_self_locate(void)
{
	Dl_info di;

	if (__atomic_load_n(&rf_self_known, __ATOMIC_ACQUIRE) != 0)
		return;
	if (dladdr((void *)(uintptr_t)rf_self_locate, &di) != 0 &&
	    dl_iterate_phdr(rf_self_find, di.dli_fbase) == 1)
		__atomic_store_n(&rf_self_known, 1, __ATOMIC_RELEASE);
	else
		__atomic_store_n(&rf_self_known, -1, __ATOMIC_RELEASE);
}

/*
 * Where the outermost word of a walk of the calling thread's own stack lies:
 * just above the trampoline's frame for the threads it started (start_thread
 * and clone3 are all that is above it), just below the stack's start for the
 * main thread. Elsewhere (threads the hooks did not start, a coroutine's or
 * a signal handler's stack) unknown: top_hi 0, no memo.
 */
static void rf_thread_stack_top_window(uintptr_t sp, uintptr_t *top_lo, uintptr_t *top_hi)
{
	uintptr_t end = (uintptr_t)__libc_stack_end;

	*top_lo = *top_hi = 0;
	if (rf_thread_stack_top != 0) {
		*top_lo = rf_thread_stack_top;
		*top_hi = rf_thread_stack_top + 1024;
	} else if (sp < end && end - sp < RF_MAIN_STACK_REACH) {
		*top_lo = end - 4096;
		*top_hi = end;
	}
}

/*
 * Stack a capture may use below the hook's frame: libunwind's context and
 * cursor and its DWARF walk, measured under 16 KiB (a thread of 16 KiB
 * creates threads under the shim), with a margin. glibc's own
 * pthread_create needs under 4 KiB.
 */
#define RF_CAPTURE_STACK ((uintptr_t)24 * 1024)
#define RF_PAGE ((uintptr_t)4096)

/* The lowest page of the main thread's stack found mapped: it never shrinks. */
static uintptr_t rf_main_stack_mapped;

/*
 * Whether a capture may run on this stack. Threads' stacks are mapped
 * whole; the main thread's grows on demand, and under RLIMIT_AS (or
 * RLIMIT_STACK) it may not be able to: a capture that touched a page it
 * cannot grow to would kill the host where glibc's own pthread_create would
 * only fail with EAGAIN. Then the thread is recorded without a stack.
 */
static bool rf_thread_stack_room(uintptr_t sp)
{
	uintptr_t end = (uintptr_t)__libc_stack_end, need, known;
	struct rlimit as, stack;
	unsigned char vec;
	int saved = errno;
	bool room;

	if (sp >= end || end - sp >= RF_MAIN_STACK_REACH || sp < RF_CAPTURE_STACK + RF_PAGE)
		return true; /* not the main thread's stack */
	need = (sp - RF_CAPTURE_STACK) & ~(RF_PAGE - 1);
	known = __atomic_load_n(&rf_main_stack_mapped, __ATOMIC_RELAXED);
	if (known != 0 && need >= known)
		return true;
	if (mincore((void *)need, RF_PAGE, &vec) == 0) {
		room = true; /* mapped already */
	} else if (getrlimit(RLIMIT_STACK, &stack) == 0 && stack.rlim_cur != RLIM_INFINITY &&
		   end - need > stack.rlim_cur) {
		room = false;
	} else {
		uint64_t vm, rss;

		/* Unknown size under a limit: no capture rather than a fault. */
		room = getrlimit(RLIMIT_AS, &as) != 0 || as.rlim_cur == RLIM_INFINITY ||
		       (rf_proc_self_memory(&vm, &rss) == 0 &&
			vm + (sp - need) + RF_PAGE <= as.rlim_cur);
	}
	if (room && (known == 0 || need < known))
		__atomic_store_n(&rf_main_stack_mapped, need, __ATOMIC_RELAXED);
	errno = saved;
	return room;
}

int rf_thread_stack_capture(uintptr_t *frames)
{
	uintptr_t top_lo, top_hi, here = (uintptr_t)__builtin_frame_address(0);

	if (!rf_thread_stack_room(here))
		return 0;
	rf_self_locate();
	rf_thread_stack_top_window(here, &top_lo, &top_hi);
	/* Our frames say nothing about the program: the hook on top, and main's
	 * wrapper (hook_exit.c) near the bottom. */
	if (rf_self_known == 1)
		return rf_stack_capture(frames, rf_self_start, rf_self_end, top_lo, top_hi);
	return rf_stack_capture(frames, 0, 0, top_lo, top_hi);
}

void rf_thread_shim_adopt_self(const char *name, void *(*start_routine)(void *))
{
	uintptr_t frames[RF_SHM_THREAD_FRAMES];
	int n = rf_thread_stack_capture(frames);

	rf_thread_namer_set(rf_thread_symbol_self);
	rf_thread_current =
		rf_thread_adopt(frames, n, (uintptr_t)start_routine, (uint64_t)pthread_self(),
				rf_tid(), name, rf_thread_now());
	rf_heap_thread_group(rf_thread_heap_id(rf_thread_current));
}

void rf_thread_shim_rules(const struct rf_shm_config *config, bool at_exit,
			  struct rf_thread_rules *rules)
{
	memset(rules, 0, sizeof(*rules));
	rules->age_ns = config->thread_age;
	rules->group_max = config->thread_group;
	rules->ignore = config->thread_ignore;
	rules->at_exit = at_exit;
}

void rf_thread_shim_maintain(const char *segment_name, const struct rf_shm_config *config)
{
	struct rf_thread_rules rules;

	rf_thread_shim_rules(config, false, &rules);
	rf_thread_maintain(&rules, rf_thread_now());
	rf_thread_sample_poll(segment_name, config->thread_sample != 0, rf_thread_now());
}

void rf_thread_shim_publish(struct rf_publication *pub)
{
	struct rf_thread_rules rules;

	/* Nothing here may allocate or look symbols up: the exiting publish also
	 * runs from _exit, perhaps in a signal handler. */
	rf_thread_shim_rules(pub->config, pub->exiting, &rules);
	rf_thread_publish(pub, &rules, rf_thread_now());
	rf_modules_publish(pub);
}

void rf_thread_shim_fork_prepare(void)
{
	rf_thread_fork_prepare();
}

void rf_thread_shim_fork_parent(void)
{
	rf_thread_fork_parent();
}

void rf_thread_shim_fork_child(void)
{
	rf_stack_memo_fork_child();
	rf_thread_fork_child(rf_thread_current);
}

static void rf_thread_shim_print(const char *line)
{
	rf_log("%s", line);
}

void rf_thread_shim_exit_report(const struct rf_shm_config *config)
{
	struct rf_thread_rules rules;

	if (!config->report_at_exit)
		return;
	rf_thread_namer_set(rf_thread_symbol_self);
	rf_thread_shim_rules(config, true, &rules);
	/* Start-routine names of groups too new for the publisher to have named. */
	rf_thread_maintain(&rules, rf_thread_now());
	rf_thread_report(&rules, rf_thread_now(), rf_thread_shim_print);
}
