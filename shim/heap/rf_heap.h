/*
 * rf_heap.h - heap accounting: what the allocator interposers count, per
 * thread and per thread group, and what the publisher sums (docs/heap.md).
 * The blocks themselves (header, freed mark, thread cache, bootstrap arena)
 * are in rf_heap_block.h.
 *
 * Counting. Each thread adds to counters of its own (struct
 * rf_heap_counters, from the per-thread registry rf_perthread.h: a plain
 * load and a relaxed store per counter, no lock prefix, no shared cache
 * line); the publisher sums them. A thread's net change is also added to
 * one shared estimate each time it has moved by RF_HEAP_FLUSH bytes: that
 * estimate gives the peak and drives the soft limit without a per-call
 * atomic. Counters outlive their thread and go to the next new thread.
 *
 * Re-entry. Each count on the hot path is one read-modify-write instruction
 * on the thread's own counters (x86-64 `add` to memory, no lock prefix): a
 * signal handler that allocates on the same thread lands before or after
 * it, never inside, so nothing is lost. The per-thread guard (rf_heap_enter
 * / rf_heap_leave) is held across every call into the allocator below, every
 * use of the thread cache, and taking the thread's counters: a call that
 * finds it held (a signal handler interrupting the allocator, which may hold
 * its own lock; the allocator calling malloc) must not call the allocator
 * again. The interposers then map such blocks with mmap and defer such frees
 * until the guard is left (hook_alloc.c), and counts go to shared atomics
 * (rf_heap_note_nested): no lock, no per-thread set-up, no recursion.
 *
 * Knows nothing of preloading: hook_alloc.c calls it, and the unit tests.
 */
#ifndef RF_HEAP_H
#define RF_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "rf_heap_block.h"
#include "rf_perthread.h"
#include "rf_segment.h"
#include "rf_shm.h"

/* Net bytes a thread counts before it updates the shared estimate. */
#define RF_HEAP_FLUSH ((int64_t)64 * 1024)

/* One thread's counters. Only the owner writes; anyone reads (relaxed). */
struct rf_heap_counters {
	struct rf_perthread_hdr hdr;
	uint64_t allocs, frees, bytes;
	int64_t drift;              /* owner only: net bytes not yet in the shared estimate */
	struct rf_heap_cache cache; /* owner only, under the guard; bytes read by figures */
	int64_t live[RF_HEAP_IDS];  /* net bytes by heap id: + allocated here, - freed here */
};

struct rf_heap_tls {
	struct rf_heap_counters *counters; /* NULL: none yet; RF_HEAP_COUNTERS_GONE: ending */
	uint32_t gid;                      /* heap id of this thread's group; 0: none */
	uint32_t state;     /* RF_HEAP_HELD | RF_HEAP_SLOW; 0: the common paths apply */
	uint32_t resolving; /* this thread resolves the real functions */
	void *deferred;     /* blocks freed while the guard was held, to free after */
};

/* state: the guard is held (an interposer is inside the allocator below). */
#define RF_HEAP_HELD 1u
/*
 * state: this thread takes the interposers' slow paths. Every thread starts
 * with it (the TLS image) and the interposers clear it once the real
 * functions are known to be glibc's, so that their common paths test one
 * thread-local word for the mode and the guard at once.
 */
#define RF_HEAP_SLOW 2u

#define RF_HEAP_COUNTERS_GONE ((struct rf_heap_counters *)1)

extern __thread struct rf_heap_tls rf_heap_tls __attribute__((tls_model("initial-exec")));

/* ---- the guard -------------------------------------------------------------- */

/*
 * Take the guard: 1, or 0 when this thread holds it already (count nested
 * then). A signal handler that runs between the read and the write leaves
 * state as it found it (minus RF_HEAP_SLOW at most), so nothing is lost.
 */
static inline int rf_heap_enter(void)
{
	uint32_t state = rf_heap_tls.state;

	if (state & RF_HEAP_HELD)
		return 0;
	rf_heap_tls.state = state | RF_HEAP_HELD;
	/* A signal handler on this thread must see the guard before any count. */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	return 1;
}

static inline void rf_heap_leave(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	rf_heap_tls.state &= ~RF_HEAP_HELD;
}

/*
 * rf_heap_enter and rf_heap_leave for the interposers' common paths, which
 * found state 0 (ACCOUNT mode, guard free): plain stores. A signal handler
 * in between leaves state as it found it, 0 or RF_HEAP_HELD.
 */
static inline __attribute__((always_inline)) void rf_heap_hold(void)
{
	rf_heap_tls.state = RF_HEAP_HELD;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static inline __attribute__((always_inline)) void rf_heap_release(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	rf_heap_tls.state = 0;
}

/* ---- counting ---------------------------------------------------------------- */

/* The slow paths: a count without counters (takes them), the flush into the estimate. */
void rf_heap_note_slow(size_t size, uint32_t gid, int alloc);
void rf_heap_flush(struct rf_heap_counters *b);

/* Count outside any thread's counters (guard held, thread ending): shared atomics, no lock. */
void rf_heap_note_nested(size_t size, uint32_t gid, int alloc);

#if defined(__x86_64__)
/* One instruction, no lock prefix: signal-atomic on this thread, plain for others. */
#define RF_HEAP_ADD(field, n) __asm__ volatile("addq %1, %0" : "+m"(field) : "er"((int64_t)(n)))
#else
/* Elsewhere an atomic add keeps the same promise, at the price of a locked operation. */
#define RF_HEAP_ADD(field, n) __atomic_fetch_add(&(field), (n), __ATOMIC_RELAXED)
#endif

/* Whether b is a thread's own counters (else count through rf_heap_note_slow). */
static inline int rf_heap_counters_ok(const struct rf_heap_counters *b)
{
	return (uintptr_t)b > (uintptr_t)RF_HEAP_COUNTERS_GONE;
}

/*
 * Count an allocation, or a free, of size bytes for heap id gid into the
 * thread's own counters b; true when b's drift calls for rf_heap_flush(b). The
 * interposers' common paths call these directly and flush off their path.
 */
static inline __attribute__((always_inline)) int rf_heap_count_alloc(struct rf_heap_counters *b,
								     size_t size, uint32_t gid)
{
	RF_HEAP_ADD(b->allocs, 1);
	RF_HEAP_ADD(b->bytes, size);
	RF_HEAP_ADD(b->live[gid], (int64_t)size);
	/* The sum read before the add: a handler's add in between only delays a flush. */
	int64_t drift = b->drift + (int64_t)size;

	RF_HEAP_ADD(b->drift, (int64_t)size);
	return __builtin_expect(drift >= RF_HEAP_FLUSH, 0);
}

static inline __attribute__((always_inline)) int rf_heap_count_free(struct rf_heap_counters *b,
								    size_t size, uint32_t gid)
{
	RF_HEAP_ADD(b->frees, 1);
	RF_HEAP_ADD(b->live[gid], -(int64_t)size);
	int64_t drift = b->drift - (int64_t)size;

	RF_HEAP_ADD(b->drift, -(int64_t)size);
	return __builtin_expect(drift <= -RF_HEAP_FLUSH, 0);
}

/* A block of size bytes for heap id gid was allocated. Async-signal-safe. */
static inline void rf_heap_note_alloc(size_t size, uint32_t gid)
{
	struct rf_heap_counters *b = rf_heap_tls.counters;

	if (__builtin_expect(!rf_heap_counters_ok(b), 0))
		rf_heap_note_slow(size, gid, 1);
	else if (rf_heap_count_alloc(b, size, gid))
		rf_heap_flush(b);
}

/* A block of size bytes allocated for heap id gid was freed. Async-signal-safe. */
static inline void rf_heap_note_free(size_t size, uint32_t gid)
{
	struct rf_heap_counters *b = rf_heap_tls.counters;

	if (__builtin_expect(!rf_heap_counters_ok(b), 0))
		rf_heap_note_slow(size, gid, 0);
	else if (rf_heap_count_free(b, size, gid))
		rf_heap_flush(b);
}

/* A block the shim did not hand out was freed or resized (counted, not accounted). */
void rf_heap_note_foreign(void);

/* ---- threads, configuration ------------------------------------------------- */

/*
 * Called with on = 1 when live heap rises above the limit, 0 when it falls
 * below the low-water mark. may_wake = 0 on the allocation path (a signal
 * handler may be running: the callee must only store), 1 on the publisher.
 */
typedef void (*rf_heap_pressure_fn)(int on, int may_wake);

/*
 * The soft limit (0: off), what pressure calls, and whether the interposers
 * count at all (published as heap_interposed). Also picks the header key.
 */
void rf_heap_setup(uint64_t limit, rf_heap_pressure_fn pressure, int interposed);

/*
 * Turn the thread cache off (RINGFENCE_HEAP_CACHE=0): threads that take
 * their counters from now on never cache, and the calling thread gives
 * its cached blocks back. Call at start-up, before other threads run.
 */
void rf_heap_cache_off(void);

/*
 * Give the allocator's free memory back when resident memory stays well
 * above live heap and the budget's arena (RINGFENCE_HEAP_TRIM,
 * rf_heap_trim.h). Call at start-up.
 */
void rf_heap_trim_on(void);

/* The calling thread's allocations belong to heap id gid from now on (0: none). */
void rf_heap_thread_group(uint32_t gid);

/* Low-water mark of a limit: pressure turns off below it. */
uint64_t rf_heap_low_water(uint64_t limit);

/* Whether pressure is on now. */
int rf_heap_pressure(void);

/* ---- figures --------------------------------------------------------------- */

struct rf_heap_figures {
	uint64_t live, peak, alloc_bytes, allocs, frees, foreign;
	uint64_t cached; /* bytes the thread caches keep (asked of the allocator below) */
	uint64_t pressure, episodes;
	int64_t estimate; /* the shared estimate (tests) */
};

/*
 * Sum every thread's counters: process figures into *out, net live bytes by
 * heap id into by_id[RF_HEAP_IDS] (may be NULL). Updates the peak with the
 * exact sum and, with judge, turns pressure on or off on it (publisher).
 */
void rf_heap_snapshot(struct rf_heap_figures *out, int64_t *by_id, int judge);

/*
 * Within a publication: the heap's figures, and live bytes by heap id left
 * in pub->heap_by_id for the thread publisher, which attributes them to the
 * thread groups (heap_unattributed_bytes is all of the live heap until it
 * does). Judges the soft limit. Publisher only.
 */
void rf_heap_publish(struct rf_publication *pub);

/* The trim (rf_heap_trim.h) and its figures: after the budget's publisher. */
void rf_heap_trim_publish(struct rf_publication *pub);

/*
 * After fork, in the child (one thread): counts start at zero, live bytes
 * are kept (the child holds a copy of every block), the peak restarts at
 * the live figure, and pressure is judged again.
 */
void rf_heap_fork_child(void);

#endif /* RF_HEAP_H */
