/*
 * rf_thread.h - the thread registry: every thread started through the
 * interposed pthread_create / thrd_create, from creation until it has ended
 * and been joined or detached, grouped by creation stack.
 *
 * The core does not know it is preloaded: the interposers (hook_thread.c)
 * capture the stack, call the real function and report each step here; the
 * unit tests call the same functions with made-up stacks and handles.
 *
 * Memory: records and groups come from rf_pool (mmap, free lists, bounded);
 * the table of records by pthread_t and the hash table of groups by stack
 * are mapped too: never malloc. A full registry counts `threads_untracked`
 * and lets the thread run untracked.
 *
 * Locking: one process-local lock (a futex word), held for a few dozen
 * instructions per step and never across a call that can block or be
 * cancelled (the real pthread_join runs outside it), and never taken in a
 * signal handler.
 * Record lifetime: a record is released when the thread has ended and has
 * been joined or detached, and its creator has finished creating it
 * (whichever of these comes last releases it); every step finds its record
 * by pointer (TLS in the thread itself, or looked up *before* the real
 * join/detach, while the pthread_t cannot have been reused).
 */
#ifndef RF_THREAD_H
#define RF_THREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "rf_segment.h"
#include "rf_shm.h"
#include "rf_thread_rules.h"

#define RF_THREAD_MAX 65536 /* threads tracked at once */
#define RF_THREAD_HIST 16   /* growth samples kept per group */

struct rf_thread;

/* Flags of rf_thread_create_begin, also published (enum rf_shm_thread_flags). */
#define RF_THREAD_F_DETACHED RF_SHM_THREAD_DETACHED
#define RF_THREAD_F_C11 RF_SHM_THREAD_C11

/*
 * A thread is about to be created by creator_tid with this creation stack
 * (return addresses, innermost first) and start routine. Returns its record
 * (the caller passes it to the new thread), or NULL when the registry is
 * full: the thread then runs untracked.
 */
struct rf_thread *rf_thread_create_begin(const uintptr_t *frames, int nframes,
					 uintptr_t start_routine, unsigned flags, pid_t creator_tid,
					 int64_t now_ns);

/* The real create returned: created (with its pthread_t) or not. */
void rf_thread_create_end(struct rf_thread *t, uint64_t handle, bool created);

/* Where the trampoline keeps what it must call. */
void rf_thread_start_set(struct rf_thread *t, void *(*fn)(void *), int (*fn_c11)(void *),
			 void *arg);
void rf_thread_start_get(const struct rf_thread *t, void *(**fn)(void *), int (**fn_c11)(void *),
			 void **arg);

/* In the new thread, first thing: its pthread_t and kernel tid. */
void rf_thread_started(struct rf_thread *t, uint64_t handle, pid_t tid);

/* In the thread, last thing: how it ended (enum rf_shm_thread_end). */
void rf_thread_ended(struct rf_thread *t, unsigned how, int64_t now_ns);

/*
 * rf_thread_ended's part for a thread it found joinable: store the end for
 * whoever settles the record next, without the lock. Alone, for tests: what
 * a detach leaves when it lands between rf_thread_ended's look at the flag
 * and this store.
 */
void rf_thread_ended_store(struct rf_thread *t, unsigned how, int64_t now_ns);

/*
 * Join and detach: look the record up before the real call (NULL: not
 * tracked), then report the outcome with the same pointer.
 */
struct rf_thread *rf_thread_join_begin(uint64_t handle);
void rf_thread_join_end(struct rf_thread *t, bool joined, int64_t now_ns);
struct rf_thread *rf_thread_detach_begin(uint64_t handle);
void rf_thread_detach_end(struct rf_thread *t, bool detached);

/* A name given with pthread_setname_np (by record, or by pthread_t). */
void rf_thread_name_set(struct rf_thread *t, const char *name);
void rf_thread_name_set_handle(uint64_t handle, const char *name);

/*
 * Record a thread that was not created through the hooks (the shim's own
 * publisher): alive, detached, named. NULL when full.
 */
struct rf_thread *rf_thread_adopt(const uintptr_t *frames, int nframes, uintptr_t start_routine,
				  uint64_t handle, pid_t tid, const char *name, int64_t now_ns);

/*
 * The heap attribution id of t's group (docs/heap.md): 1 for the overflow
 * group, 2 and up for the others, never reused; 0 when t is NULL or the ids
 * ran out. Lock-free (a thread's group never changes).
 */
uint32_t rf_thread_heap_id(const struct rf_thread *t);

/* Fork: the registry is consistent across fork (prepare locks, parent
 * unlocks); the child keeps only `keep` (the forking thread's record, may be
 * NULL) and its group, with fresh figures. */
void rf_thread_fork_prepare(void);
void rf_thread_fork_parent(void);
void rf_thread_fork_child(struct rf_thread *keep);

/*
 * Symbol lookup used for start routines and the at-exit report: name and
 * offset of the function holding addr, and the path of its object (may be
 * set to NULL). 0, or -ENOENT when no symbol is known to hold addr: then,
 * with *module set, *offset is addr less that object's load bias. Set by
 * the shim; unset in unit tests.
 */
typedef int (*rf_thread_namer_fn)(uintptr_t addr, char *name, size_t len, uintptr_t *offset,
				  const char **module);
void rf_thread_namer_set(rf_thread_namer_fn namer);

/*
 * Work the publisher thread does between publishes, outside any publish
 * lock: look up start routine names of new groups, and read /proc state
 * (state letter, wchan, syscall, name) of alive threads older than the
 * rules' age, at most once a second each.
 */
void rf_thread_maintain(const struct rf_thread_rules *rules, int64_t now_ns);

/*
 * Within a publication: the thread sections (groups, threads, samples,
 * info) and the thread figures, judged by rules at now_ns. Each published
 * group gets its heap from pub->heap_by_id (the heap's publisher runs
 * first), and the heap no listed group holds is heap_unattributed_bytes.
 * Exiting, the lock is taken with a bounded wait.
 */
void rf_thread_publish(struct rf_publication *pub, const struct rf_thread_rules *rules,
		       int64_t now_ns);

/* Registry totals, for tests and the at-exit report. */
struct rf_thread_totals {
	uint64_t created, exited, alive, unjoined, untracked, tracked, groups;
	uint64_t registry_bytes; /* mapped by pools and hash tables */
};
void rf_thread_totals(struct rf_thread_totals *out);

/*
 * Current-stack samples. rf_thread_sample_targets picks, for up to max
 * groups with alive threads, the oldest alive thread that has run (tid
 * known); rf_thread_sample_store records what sampling found, with the
 * request's nonce, for the next publish.
 */
struct rf_thread_sample_target {
	const void *group; /* opaque: passed back to rf_thread_sample_store */
	pid_t tid;
	uint32_t status; /* enum rf_shm_sample_status, filled by the sampler */
	uint32_t nframes;
	uintptr_t frames[RF_SHM_THREAD_FRAMES];
	int64_t taken_ns;
};
size_t rf_thread_sample_targets(struct rf_thread_sample_target *targets, size_t max);
void rf_thread_sample_store(uint64_t nonce, uint32_t status, uint32_t signal,
			    const struct rf_thread_sample_target *targets, size_t count,
			    int64_t now_ns);

/* A creation stack holding leaked, stuck or unjoined threads. */
struct rf_thread_leak_group {
	uint64_t counts[RF_THREAD_CLASS__COUNT]; /* its threads by verdict */
	uint32_t nframes;
	uintptr_t frames[RF_SHM_THREAD_FRAMES];
	char start_name[RF_SHM_SYMBOL_MAX];
	char name[RF_SHM_THREAD_NAME_MAX]; /* of its first leaking thread */
	int64_t oldest_ns;                 /* creation of its oldest leaking thread */
};

/*
 * Judge every thread by rules at now_ns: totals[] by verdict, and up to max
 * groups holding leaks into groups (their threads judged leaks beyond those
 * add to *more). Returns the groups filled. Takes the lock with a bounded
 * wait (exit paths): 0 and zero totals when it cannot.
 */
size_t rf_thread_leaks(const struct rf_thread_rules *rules, int64_t now_ns,
		       struct rf_thread_leak_group *groups, size_t max,
		       uint64_t totals[RF_THREAD_CLASS__COUNT], size_t *more);

/* The namer set with rf_thread_namer_set, or NULL. */
rf_thread_namer_fn rf_thread_namer_get(void);

/*
 * The at-exit report (rf_thread_report.c): one block per group holding
 * leaked or unjoined threads, symbolised with the namer, one line at a time
 * through print. Returns the number of leaked plus unjoined threads (0:
 * nothing printed).
 */
uint64_t rf_thread_report(const struct rf_thread_rules *rules, int64_t now_ns,
			  void (*print)(const char *line));

/* Unit tests: forget everything and unmap (not for a live process). */
void rf_thread_registry_release(void);

#endif /* RF_THREAD_H */
