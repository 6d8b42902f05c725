/*
 * rf_heap.c - heap accounting: per-thread counters, the shared estimate
 * behind the peak and the soft limit, sums for the publisher.
 *
 * Ordering hazards:
 * - a thread's first count takes its counters from the lock-free per-thread
 *   registry, so a signal handler or another thread can never wait for it;
 *   the guard sends a handler on the same thread that allocates meanwhile
 *   to the shared atomics;
 * - a thread's end runs (a key destructor) before the rest of its exit
 *   (other destructors, C++ thread_local objects) may still allocate and
 *   free: it flushes, marks its TLS gone (later counts go to the shared
 *   atomics) and only then lets the counters go to the next thread;
 * - pressure changes on the allocation path are stores only; waking the
 *   producers that wait is left to the publisher (and to their own bounded
 *   wait slices).
 */
#define _GNU_SOURCE
#include "rf_heap.h"

#include <errno.h>
#include <string.h>

#include "rf_heap_trim.h"

__thread struct rf_heap_tls rf_heap_tls __attribute__((tls_model("initial-exec"))) = {
	.state = RF_HEAP_SLOW,
};

static bool rf_heap_thread_end(void *arg);

/* Counters outlive their thread (flushed at its end) and go to the next one. */
static struct rf_perthread rf_heap_registry =
	RF_PERTHREAD_INIT(struct rf_heap_counters, rf_heap_thread_end);

static struct {
	uint32_t ids; /* atomic: heap ids handed to threads, 1 + highest */
	/* Counts made without a block (guard held, thread ending, no memory). */
	struct {
		uint64_t allocs, frees, bytes;
		int64_t live[RF_HEAP_IDS];
	} nested;
	uint64_t foreign; /* atomic */
	int64_t estimate; /* atomic: flushed net bytes of every thread */
	uint64_t peak;    /* atomic */
	uint64_t limit, low;
	uint32_t pressure; /* atomic */
	uint32_t wake_due; /* atomic: pressure went off on the allocation path */
	uint64_t episodes; /* atomic */
	rf_heap_pressure_fn pressure_fn;
	int interposed;
	int cache_off;                             /* atomic */
	bool trim_on;                              /* set before the publisher runs */
	struct rf_heap_trim trim;                  /* the publisher's */
} rf_heap = {.ids = 2, .trim = RF_HEAP_TRIM_INIT}; /* ids 0: none, 1: the overflow group */

uint64_t rf_heap_low_water(uint64_t limit)
{
	uint64_t gap = limit / 16;

	if (gap < 2 * (uint64_t)RF_HEAP_FLUSH)
		gap = 2 * (uint64_t)RF_HEAP_FLUSH;
	return gap < limit ? limit - gap : 0;
}

void rf_heap_setup(uint64_t limit, rf_heap_pressure_fn pressure, int interposed)
{
	rf_heap_key_init();
	rf_heap.interposed = interposed;
	rf_heap.pressure_fn = pressure;
	rf_heap.low = rf_heap_low_water(limit);
	__atomic_store_n(&rf_heap.limit, limit, __ATOMIC_RELEASE);
	if (limit == 0 && __atomic_exchange_n(&rf_heap.pressure, 0, __ATOMIC_ACQ_REL) && pressure)
		pressure(0, 1);
}

void rf_heap_trim_on(void)
{
	rf_heap.trim_on = true;
	/* Blocks a grown cache keeps would be out of the trim's reach. */
	rf_heap_cache_growth(0);
}

int rf_heap_pressure(void)
{
	return (int)__atomic_load_n(&rf_heap.pressure, __ATOMIC_ACQUIRE);
}

void rf_heap_thread_group(uint32_t gid)
{
	uint32_t ids;

	if (gid >= RF_HEAP_IDS)
		gid = 0;
	rf_heap_tls.gid = gid;
	ids = __atomic_load_n(&rf_heap.ids, __ATOMIC_RELAXED);
	while (gid >= ids && !__atomic_compare_exchange_n(&rf_heap.ids, &ids, gid + 1, 1,
							  __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
}

/* ---- the estimate, the peak, the limit ----------------------------------------------- */

static void rf_heap_peak_note(int64_t live)
{
	uint64_t peak = __atomic_load_n(&rf_heap.peak, __ATOMIC_RELAXED);

	while (live > 0 && (uint64_t)live > peak &&
	       !__atomic_compare_exchange_n(&rf_heap.peak, &peak, (uint64_t)live, 1,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/* Turn pressure on above the limit, off below the low-water mark. */
static void rf_heap_judge(int64_t live, int may_wake)
{
	uint64_t limit = __atomic_load_n(&rf_heap.limit, __ATOMIC_ACQUIRE);
	rf_heap_pressure_fn fn = rf_heap.pressure_fn;
	uint32_t expected;

	if (limit == 0)
		return;
	if (live > 0 && (uint64_t)live > limit) {
		expected = 0;
		if (__atomic_load_n(&rf_heap.pressure, __ATOMIC_RELAXED) == 0 &&
		    __atomic_compare_exchange_n(&rf_heap.pressure, &expected, 1, 0,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
			__atomic_fetch_add(&rf_heap.episodes, 1, __ATOMIC_RELAXED);
			if (fn)
				fn(1, may_wake);
		}
	} else if (live < 0 || (uint64_t)live < rf_heap.low) {
		expected = 1;
		if (__atomic_load_n(&rf_heap.pressure, __ATOMIC_RELAXED) == 1 &&
		    __atomic_compare_exchange_n(&rf_heap.pressure, &expected, 0, 0,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
			if (!may_wake)
				__atomic_store_n(&rf_heap.wake_due, 1, __ATOMIC_RELEASE);
			if (fn)
				fn(0, may_wake);
		}
	}
}

static void rf_heap_estimate_add(int64_t delta)
{
	int64_t live = __atomic_add_fetch(&rf_heap.estimate, delta, __ATOMIC_RELAXED);

	if (delta > 0)
		rf_heap_peak_note(live);
	rf_heap_judge(live, 0);
}

void rf_heap_flush(struct rf_heap_counters *b)
{
	/* One exchange: a handler's add on this thread lands before or after it. */
	rf_heap_estimate_add(__atomic_exchange_n(&b->drift, 0, __ATOMIC_RELAXED));
}

/* ---- per-thread counters -------------------------------------------------------- */

void rf_heap_cache_off(void)
{
	struct rf_heap_counters *b = rf_heap_tls.counters;

	__atomic_store_n(&rf_heap.cache_off, 1, __ATOMIC_RELEASE);
	if (rf_heap_counters_ok(b) && rf_heap_enter()) {
		rf_heap_cache_drain(&b->cache, 1);
		rf_heap_leave();
	}
}

static bool rf_heap_thread_end(void *arg)
{
	struct rf_heap_counters *b = arg;

	if (rf_heap_tls.counters == b) {
		/* From now on this thread counts into the shared atomics. */
		rf_heap_tls.counters = RF_HEAP_COUNTERS_GONE;
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		if (b->drift != 0)
			rf_heap_flush(b);
		if (!rf_heap_enter())
			return false; /* ending inside the allocator (a handler's pthread_exit):
				       * the counters keep their cache and are never reused */
		rf_heap_cache_end(&b->cache);
		rf_heap_leave();
	}
	return true;
}

void rf_heap_note_slow(size_t size, uint32_t gid, int alloc)
{
	struct rf_heap_counters *b = NULL;
	int saved;

	if (rf_heap_tls.counters == NULL && rf_heap_enter()) {
		saved = errno;
		b = rf_perthread_take(&rf_heap_registry);
		if (b != NULL) {
			/* A high pthread key allocates with the guard held, which counts
			 * nested: no recursion. Without the thread end nothing would give
			 * the cache's blocks back: then the thread never caches. */
			int never = !b->hdr.ends ||
				    __atomic_load_n(&rf_heap.cache_off, __ATOMIC_ACQUIRE);

			rf_heap_cache_init(&b->cache, never);
			rf_heap_tls.counters = b;
		}
		errno = saved;
		rf_heap_leave();
	}
	if (b == NULL) {
		rf_heap_note_nested(size, gid, alloc);
	} else if (alloc) {
		rf_heap_note_alloc(size, gid);
	} else {
		rf_heap_note_free(size, gid);
	}
}

void rf_heap_note_nested(size_t size, uint32_t gid, int alloc)
{
	if (gid >= RF_HEAP_IDS)
		gid = 0;
	if (alloc) {
		__atomic_fetch_add(&rf_heap.nested.allocs, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&rf_heap.nested.bytes, size, __ATOMIC_RELAXED);
		__atomic_fetch_add(&rf_heap.nested.live[gid], (int64_t)size, __ATOMIC_RELAXED);
		rf_heap_estimate_add((int64_t)size);
	} else {
		__atomic_fetch_add(&rf_heap.nested.frees, 1, __ATOMIC_RELAXED);
		__atomic_fetch_sub(&rf_heap.nested.live[gid], (int64_t)size, __ATOMIC_RELAXED);
		rf_heap_estimate_add(-(int64_t)size);
	}
}

void rf_heap_note_foreign(void)
{
	__atomic_fetch_add(&rf_heap.foreign, 1, __ATOMIC_RELAXED);
}

/* ---- figures ---------------------------------------------------------------- */

void rf_heap_snapshot(struct rf_heap_figures *out, int64_t *by_id, int judge)
{
	uint32_t ids = __atomic_load_n(&rf_heap.ids, __ATOMIC_ACQUIRE);
	int64_t sums[RF_HEAP_IDS], live = 0;

	if (ids > RF_HEAP_IDS)
		ids = RF_HEAP_IDS;
	memset(out, 0, sizeof(*out));
	memset(sums, 0, sizeof(sums));
	out->allocs = __atomic_load_n(&rf_heap.nested.allocs, __ATOMIC_RELAXED);
	out->frees = __atomic_load_n(&rf_heap.nested.frees, __ATOMIC_RELAXED);
	out->alloc_bytes = __atomic_load_n(&rf_heap.nested.bytes, __ATOMIC_RELAXED);
	for (uint32_t i = 0; i < ids; i++)
		sums[i] = __atomic_load_n(&rf_heap.nested.live[i], __ATOMIC_RELAXED);
	for (struct rf_heap_counters *b = rf_perthread_first(&rf_heap_registry); b != NULL;
	     b = rf_perthread_next(b)) {
		out->allocs += __atomic_load_n(&b->allocs, __ATOMIC_RELAXED);
		out->frees += __atomic_load_n(&b->frees, __ATOMIC_RELAXED);
		out->alloc_bytes += __atomic_load_n(&b->bytes, __ATOMIC_RELAXED);
		out->cached += rf_heap_cache_bytes(&b->cache);
		for (uint32_t i = 0; i < ids; i++)
			sums[i] += __atomic_load_n(&b->live[i], __ATOMIC_RELAXED);
	}
	for (uint32_t i = 0; i < ids; i++)
		live += sums[i];
	if (by_id != NULL) {
		memset(by_id, 0, sizeof(int64_t) * RF_HEAP_IDS);
		memcpy(by_id, sums, sizeof(int64_t) * ids);
	}
	out->live = live > 0 ? (uint64_t)live : 0;
	rf_heap_peak_note(live);
	if (judge) {
		rf_heap_judge(live, 1);
		/* Pressure that went off on the allocation path: wake the waiters now. */
		if (__atomic_exchange_n(&rf_heap.wake_due, 0, __ATOMIC_ACQ_REL) &&
		    !__atomic_load_n(&rf_heap.pressure, __ATOMIC_ACQUIRE) && rf_heap.pressure_fn)
			rf_heap.pressure_fn(0, 1);
	}
	out->peak = __atomic_load_n(&rf_heap.peak, __ATOMIC_RELAXED);
	out->foreign = __atomic_load_n(&rf_heap.foreign, __ATOMIC_RELAXED);
	out->pressure = __atomic_load_n(&rf_heap.pressure, __ATOMIC_ACQUIRE);
	out->episodes = __atomic_load_n(&rf_heap.episodes, __ATOMIC_RELAXED);
	out->estimate = __atomic_load_n(&rf_heap.estimate, __ATOMIC_RELAXED);
}

void rf_heap_publish(struct rf_publication *pub)
{
	struct rf_heap_figures f;

	rf_heap_snapshot(&f, pub->heap_by_id, 1);
	pub->heap_live = f.live;
	rf_publication_set(pub, RF_STAT_heap_live_bytes, f.live);
	rf_publication_set(pub, RF_STAT_heap_live_peak_bytes, f.peak);
	rf_publication_set(pub, RF_STAT_heap_alloc_bytes, f.alloc_bytes);
	rf_publication_set(pub, RF_STAT_heap_allocs, f.allocs);
	rf_publication_set(pub, RF_STAT_heap_frees, f.frees);
	/* Until the thread publisher attributes it to its groups. */
	rf_publication_set(pub, RF_STAT_heap_unattributed_bytes, f.live);
	rf_publication_set(pub, RF_STAT_heap_foreign_frees, f.foreign);
	rf_publication_set(pub, RF_STAT_heap_cached_bytes, f.cached);
	rf_publication_set(pub, RF_STAT_heap_interposed, (uint64_t)rf_heap.interposed);
	rf_publication_set(pub, RF_STAT_heap_limit_pressure, f.pressure);
	rf_publication_set(pub, RF_STAT_heap_limit_episodes, f.episodes);
}

void rf_heap_trim_publish(struct rf_publication *pub)
{
	/* After the budget's publisher: its arena's resident bytes are known. */
	if (rf_heap.trim_on && rf_heap.interposed && !pub->exiting)
		rf_heap_trim_look(&rf_heap.trim,
				  pub->heap_live + pub->stats[RF_STAT_budget_arena_resident_bytes],
				  pub->now_ns);
	rf_publication_set(pub, RF_STAT_heap_trims, rf_heap.trim.trims);
	rf_publication_set(pub, RF_STAT_heap_trimmed_bytes, rf_heap.trim.trimmed);
	rf_publication_set(pub, RF_STAT_heap_trim_ns_max, rf_heap.trim.longest_ns);
}

void rf_heap_fork_child(void)
{
	struct rf_heap_counters *self = rf_heap_tls.counters;
	int64_t live = 0;
	int drain = rf_heap_enter();

	/* Only this thread runs: the other counters are free for new threads, and
	 * what their threads cached goes back to the allocator. */
	for (struct rf_heap_counters *b = rf_perthread_first(&rf_heap_registry); b != NULL;
	     b = rf_perthread_next(b)) {
		b->allocs = b->frees = b->bytes = 0;
		b->drift = 0;
		for (uint32_t i = 0; i < RF_HEAP_IDS; i++)
			live += b->live[i];
		/* Undrained, counters stay out of reuse, as at a thread's end. */
		if (b != self && drain) {
			rf_heap_cache_end(&b->cache);
			rf_perthread_give_back(b);
		}
	}
	/* What this thread collected for them goes back too. */
	if (rf_heap_counters_ok(self) && drain)
		rf_heap_cache_post_all(&self->cache);
	if (drain)
		rf_heap_leave();
	rf_heap.nested.allocs = rf_heap.nested.frees = rf_heap.nested.bytes = 0;
	for (uint32_t i = 0; i < RF_HEAP_IDS; i++)
		live += rf_heap.nested.live[i];
	rf_heap.foreign = 0;
	rf_heap.estimate = live;
	rf_heap.peak = live > 0 ? (uint64_t)live : 0;
	rf_heap.episodes = rf_heap.pressure;
	rf_heap.wake_due = 0;
	rf_heap_judge(live, 1);
}
