/*
 * rf_heap.c - heap accounting: per-thread counter blocks, the shared
 * estimate behind the peak and the soft limit, sums for the publisher.
 *
 * Ordering hazards:
 * - a thread's first count takes a block without a lock (a free one by CAS,
 *   or a fresh mmap pushed by CAS), so a signal handler or another thread
 *   can never wait for it; the guard sends a handler on the same thread that
 *   allocates meanwhile to the shared atomics;
 * - a thread's key destructor runs before the rest of its exit (other
 *   destructors, C++ thread_local objects) may still allocate and free: it
 *   flushes, marks its TLS gone (later counts go to the shared atomics) and
 *   only then frees the block for the next thread;
 * - pressure changes on the allocation path are stores only; waking the
 *   producers that wait is left to the publisher (and to their own bounded
 *   wait slices).
 */
#define _GNU_SOURCE
#include "rf_heap.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>

__thread struct rf_heap_tls rf_heap_tls __attribute__((tls_model("initial-exec"))) = {
	.state = RF_HEAP_SLOW,
};
uint32_t rf_heap_key;
unsigned char rf_heap_boot[RF_HEAP_BOOT_SIZE] __attribute__((aligned(4096)));

static struct {
	struct rf_heap_block *blocks; /* atomic head */
	int key_state;                /* atomic: 0 none, 1 creating, 2 ready, -1 failed */
	pthread_key_t key;
	uint32_t ids;                 /* atomic: heap ids handed to threads, 1 + highest */
	/* Counts made without a block (guard held, thread ending, no memory). */
	struct {
		uint64_t allocs, frees, bytes;
		int64_t live[RF_HEAP_IDS];
	} nested;
	uint64_t foreign;   /* atomic */
	int64_t estimate;   /* atomic: flushed net bytes of every thread */
	uint64_t peak;      /* atomic */
	uint64_t limit, low;
	uint32_t pressure;  /* atomic */
	uint32_t wake_due;  /* atomic: pressure went off on the allocation path */
	uint64_t episodes;  /* atomic */
	rf_heap_pressure_fn pressure_fn;
	int interposed;
	size_t boot_used;   /* atomic */
	void (*cache_release)(void *base);
	int cache_off;      /* atomic */
} rf_heap = {.ids = 2}; /* 0: none, 1: the overflow group */

void rf_heap_key_init(void)
{
	const unsigned char *random = (const unsigned char *)getauxval(AT_RANDOM);
	uint32_t key = 0x9e3779b9u;

	if (__atomic_load_n(&rf_heap_key, __ATOMIC_ACQUIRE) != 0)
		return;
	if (random != NULL)
		memcpy(&key, random + 4, sizeof(key)); /* glibc's stack guard uses the first bytes */
	key ^= (uint32_t)((uintptr_t)&rf_heap >> 12);
	if (key == 0)
		key = 0x5bd1e995u;
	__atomic_store_n(&rf_heap_key, key, __ATOMIC_RELEASE);
}

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

void rf_heap_flush(struct rf_heap_block *b)
{
	/* One exchange: a handler's add on this thread lands before or after it. */
	rf_heap_estimate_add(__atomic_exchange_n(&b->drift, 0, __ATOMIC_RELAXED));
}

/* ---- blocks ----------------------------------------------------------------- */

void rf_heap_cache_setup(void (*release)(void *base))
{
	rf_heap.cache_release = release;
}

/* Give b's cached blocks back to the allocator below. */
static void rf_heap_cache_drain(struct rf_heap_block *b)
{
	for (unsigned c = 0; c < RF_HEAP_CACHE_CLASSES; c++) {
		void *base;

		while ((base = b->cache[c]) != NULL) {
			b->cache[c] = (void *)(uintptr_t)((struct rf_heap_hdr *)base)->word;
			rf_heap_mark_freed((struct rf_heap_hdr *)base + 1);
			if (rf_heap.cache_release != NULL)
				rf_heap.cache_release(base);
		}
		b->cached[c] = 0;
	}
}

void rf_heap_cache_off(void)
{
	struct rf_heap_block *b = rf_heap_tls.block;

	__atomic_store_n(&rf_heap.cache_off, 1, __ATOMIC_RELEASE);
	if (rf_heap_block_ok(b) && rf_heap_enter()) {
		rf_heap_cache_drain(b);
		memset(b->cached, RF_HEAP_CACHE_NEVER, sizeof(b->cached));
		rf_heap_leave();
	}
}

static void rf_heap_thread_end(void *arg)
{
	struct rf_heap_block *b = arg;

	if (rf_heap_tls.block == b) {
		/* From now on this thread counts into the shared atomics. */
		rf_heap_tls.block = RF_HEAP_BLOCK_GONE;
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		if (b->drift != 0)
			rf_heap_flush(b);
		if (!rf_heap_enter())
			return; /* ending inside the allocator (a handler's pthread_exit):
				 * the block keeps its cache and is never reused */
		rf_heap_cache_drain(b);
		rf_heap_leave();
	}
	__atomic_store_n(&b->free, 1, __ATOMIC_RELEASE);
}

/* The key whose destructor frees a block: created once, without pthread_once (no waiting). */
static int rf_heap_key_ready(void)
{
	int state = __atomic_load_n(&rf_heap.key_state, __ATOMIC_ACQUIRE), expected = 0;

	if (state != 0)
		return state == 2;
	if (!__atomic_compare_exchange_n(&rf_heap.key_state, &expected, 1, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return 0; /* someone else creates it: this thread's block is never freed */
	state = pthread_key_create(&rf_heap.key, rf_heap_thread_end) == 0 ? 2 : -1;
	__atomic_store_n(&rf_heap.key_state, state, __ATOMIC_RELEASE);
	return state == 2;
}

/* A block for this thread: a freed one, else a fresh mapping; NULL when mmap fails. */
static struct rf_heap_block *rf_heap_block_take(void)
{
	struct rf_heap_block *b;
	size_t len = (sizeof(*b) + 4095) & ~(size_t)4095;
	void *p;

	for (b = __atomic_load_n(&rf_heap.blocks, __ATOMIC_ACQUIRE); b != NULL; b = b->next) {
		uint32_t expected = 1;

		if (__atomic_load_n(&b->free, __ATOMIC_RELAXED) == 1 &&
		    __atomic_compare_exchange_n(&b->free, &expected, 0, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED))
			return b;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	b = p;
	b->next = __atomic_load_n(&rf_heap.blocks, __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(&rf_heap.blocks, &b->next, b, 1, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED))
		;
	return b;
}

void rf_heap_note_slow(size_t size, uint32_t gid, int alloc)
{
	struct rf_heap_block *b = NULL;
	int saved;

	if (rf_heap_tls.block == NULL && rf_heap_enter()) {
		saved = errno;
		b = rf_heap_block_take();
		if (b != NULL) {
			/* Low keys need no allocation in glibc; a high one allocates
			 * with the guard held, which counts nested: no recursion.
			 * Without the key's destructor nothing would give the
			 * thread cache's blocks back: then the thread never caches
			 * (its lists look full). */
			int keyed = rf_heap_key_ready() && pthread_setspecific(rf_heap.key, b) == 0;

			memset(b->cached,
			       keyed && !__atomic_load_n(&rf_heap.cache_off, __ATOMIC_ACQUIRE)
				       ? 0
				       : RF_HEAP_CACHE_NEVER,
			       sizeof(b->cached));
			rf_heap_tls.block = b;
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
	for (struct rf_heap_block *b = __atomic_load_n(&rf_heap.blocks, __ATOMIC_ACQUIRE);
	     b != NULL; b = b->next) {
		out->allocs += __atomic_load_n(&b->allocs, __ATOMIC_RELAXED);
		out->frees += __atomic_load_n(&b->frees, __ATOMIC_RELAXED);
		out->alloc_bytes += __atomic_load_n(&b->bytes, __ATOMIC_RELAXED);
		for (unsigned c = 0; c < RF_HEAP_CACHE_CLASSES; c++) {
			uint8_t n = __atomic_load_n(&b->cached[c], __ATOMIC_RELAXED);

			if (n <= RF_HEAP_CACHE_DEPTH) /* a block that may not cache holds it above */
				out->cached += n * rf_heap_cache_capacity(c);
		}
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

void rf_heap_publish(struct rf_shm_layout *shm)
{
	static int64_t by_id[RF_HEAP_IDS]; /* publisher only (under the publish lock) */
	struct rf_heap_figures f;
	uint64_t groups = shm->header.sections[RF_SHM_SECTION_THREAD_GROUPS - 1].count;
	uint64_t attributed = 0;

	rf_heap_snapshot(&f, by_id, 1);
	if (groups > RF_SHM_THREAD_GROUPS_MAX)
		groups = RF_SHM_THREAD_GROUPS_MAX;
	for (uint64_t i = 0; i < groups; i++) {
		struct rf_shm_thread_group *g = &shm->thread_groups[i];
		int64_t v = g->heap_id != 0 && g->heap_id < RF_HEAP_IDS ? by_id[g->heap_id] : 0;

		g->heap_live_bytes = v > 0 ? (uint64_t)v : 0;
		attributed += g->heap_live_bytes;
	}
	shm->stats[RF_STAT_heap_live_bytes] = f.live;
	shm->stats[RF_STAT_heap_live_peak_bytes] = f.peak;
	shm->stats[RF_STAT_heap_alloc_bytes] = f.alloc_bytes;
	shm->stats[RF_STAT_heap_allocs] = f.allocs;
	shm->stats[RF_STAT_heap_frees] = f.frees;
	shm->stats[RF_STAT_heap_unattributed_bytes] = f.live > attributed ? f.live - attributed : 0;
	shm->stats[RF_STAT_heap_foreign_frees] = f.foreign;
	shm->stats[RF_STAT_heap_cached_bytes] = f.cached;
	shm->stats[RF_STAT_heap_interposed] = (uint64_t)rf_heap.interposed;
	shm->stats[RF_STAT_heap_limit_pressure] = f.pressure;
	shm->stats[RF_STAT_heap_limit_episodes] = f.episodes;
}

void rf_heap_fork_child(void)
{
	struct rf_heap_block *self = rf_heap_tls.block;
	int64_t live = 0;
	int drain = rf_heap_enter();

	/* Only this thread runs: the other blocks are free for new threads, and
	 * what their threads cached goes back to the allocator. */
	for (struct rf_heap_block *b = rf_heap.blocks; b != NULL; b = b->next) {
		b->allocs = b->frees = b->bytes = 0;
		b->drift = 0;
		for (uint32_t i = 0; i < RF_HEAP_IDS; i++)
			live += b->live[i];
		if (b != self && drain)
			rf_heap_cache_drain(b);
		/* Undrained, a block stays out of reuse, as at a thread's end. */
		b->free = b != self && (drain || b->free);
	}
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

/* ---- the bootstrap arena ------------------------------------------------------- */

void *rf_heap_boot_alloc(size_t size, size_t align)
{
	size_t used = __atomic_load_n(&rf_heap.boot_used, __ATOMIC_RELAXED), start, end;

	if (align < 16)
		align = 16;
	if (align > 4096 || size > RF_HEAP_BOOT_SIZE)
		return NULL;
	do {
		/* 16 bytes before each block: its size, then 8 zero bytes, where a
		 * header's offset would be: free() never takes it for a header. */
		start = (used + 16 + align - 1) & ~(align - 1);
		end = start + ((size + 15) & ~(size_t)15);
		if (end > RF_HEAP_BOOT_SIZE)
			return NULL;
	} while (!__atomic_compare_exchange_n(&rf_heap.boot_used, &used, end, 1, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	memcpy(rf_heap_boot + start - 16, &(uint64_t){size}, sizeof(uint64_t));
	return rf_heap_boot + start;
}

size_t rf_heap_boot_size(const void *p)
{
	uint64_t size;

	memcpy(&size, (const unsigned char *)p - 16, sizeof(size));
	return (size_t)size;
}
