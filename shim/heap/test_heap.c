/*
 * test_heap.c - the heap accounting core (rf_heap.c) without preloading:
 * headers, per-thread counts summed exactly across threads and groups,
 * frees by other threads, nested counts, blocks handed on at thread end,
 * signal handlers counting in the middle of counts, the soft limit's
 * hysteresis, a fork child's figures, the bootstrap arena, the thread
 * cache's blocks given back when their thread ends or in a fork child.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/time.h>

#include "rf_heap.h"
#include "rf_test.h"

static struct rf_heap_figures fig;
static int64_t by_id[RF_HEAP_IDS];

static void snap(void)
{
	rf_heap_snapshot(&fig, by_id, 1);
}

RF_TEST(header_roundtrip)
{
	_Alignas(16) unsigned char buf[256];
	struct rf_heap_hdr *h;
	void *p;

	rf_heap_key_init();
	p = rf_heap_hdr_init(buf, 16, 1234, 7, 0);
	RF_CHECK(p == buf + 16);
	h = rf_heap_hdr_of(p);
	RF_CHECK(h != NULL);
	RF_CHECK_INT(rf_heap_hdr_size(h), 1234);
	RF_CHECK_INT(rf_heap_hdr_gid(h), 7);
	RF_CHECK(rf_heap_hdr_base(h) == (void *)buf);
	/* An aligned block: the header right before the caller's pointer. */
	p = rf_heap_hdr_init(buf, 64, 10, 0, 0);
	RF_CHECK(p == buf + 64 && rf_heap_hdr_of(p) != NULL);
	RF_CHECK(rf_heap_hdr_base(rf_heap_hdr_of(p)) == (void *)buf);
	/* Mapped flag: same base. */
	p = rf_heap_hdr_init(buf, 32 | RF_HEAP_MAPPED, 5, 1, 0);
	RF_CHECK(p == buf + 32 && rf_heap_hdr_base(rf_heap_hdr_of(p)) == (void *)buf);
	/* Not ours: wrong check, moved header, misaligned pointer, zeroes. */
	p = rf_heap_hdr_init(buf, 16, 99, 3, 0);
	((struct rf_heap_hdr *)p - 1)->check ^= 1;
	RF_CHECK(rf_heap_hdr_of(p) == NULL);
	p = rf_heap_hdr_init(buf, 16, 99, 3, 0);
	memcpy(buf + 48, buf, 16); /* the same bytes at another address */
	RF_CHECK(rf_heap_hdr_of(buf + 64) == NULL);
	RF_CHECK(rf_heap_hdr_of(buf + 24) == NULL);
	memset(buf, 0, sizeof(buf));
	RF_CHECK(rf_heap_hdr_of(buf + 16) == NULL);
	/* A small plain block names its owner; a large or aligned one does not. */
	const uint64_t owned = RF_HEAP_WORD_OWNED | (uint64_t)65535 << 16;
	p = rf_heap_hdr_init(buf, 16, RF_HEAP_CACHE_MAX, RF_HEAP_IDS - 1, owned);
	h = rf_heap_hdr_of(p);
	RF_CHECK(h != NULL);
	RF_CHECK_INT(rf_heap_hdr_size(h), RF_HEAP_CACHE_MAX);
	RF_CHECK_INT(rf_heap_hdr_gid(h), RF_HEAP_IDS - 1);
	RF_CHECK_INT(rf_heap_hdr_owner(h), 65535);
	p = rf_heap_hdr_init(buf, 16, RF_HEAP_CACHE_MAX + 1, 2, owned);
	RF_CHECK_INT(rf_heap_hdr_size(rf_heap_hdr_of(p)), RF_HEAP_CACHE_MAX + 1);
	RF_CHECK_INT(rf_heap_hdr_owner(rf_heap_hdr_of(p)), 0);
	p = rf_heap_hdr_init(buf, 64, 10, 2, owned);
	RF_CHECK_INT(rf_heap_hdr_owner(rf_heap_hdr_of(p)), 0);
	p = rf_heap_hdr_init(buf, 16, RF_HEAP_SIZE_MAX, 2, 0);
	RF_CHECK(rf_heap_hdr_size(rf_heap_hdr_of(p)) == RF_HEAP_SIZE_MAX);
	RF_CHECK_INT(rf_heap_hdr_owner(rf_heap_hdr_of(p)), 0);
}

#define THREADS 4
#define PER_THREAD 10000

static void *counting_thread(void *arg)
{
	uint32_t gid = (uint32_t)(uintptr_t)arg;

	rf_heap_thread_group(gid);
	for (int i = 0; i < PER_THREAD; i++)
		rf_heap_note_alloc((size_t)(i % 100) + 1, gid);
	/* Half freed again by this thread. */
	for (int i = 0; i < PER_THREAD / 2; i++)
		rf_heap_note_free((size_t)(i % 100) + 1, gid);
	return NULL;
}

static void *freeing_thread(void *arg)
{
	/* Frees blocks another group allocated: they leave that group's figure. */
	uint32_t gid = (uint32_t)(uintptr_t)arg;

	rf_heap_thread_group(9);
	for (int i = PER_THREAD / 2; i < PER_THREAD; i++)
		rf_heap_note_free((size_t)(i % 100) + 1, gid);
	return NULL;
}

RF_TEST(counts_by_thread_and_group)
{
	pthread_t t[THREADS];
	int64_t per_thread = 0, half = 0;

	for (int i = 0; i < PER_THREAD; i++)
		per_thread += i % 100 + 1;
	for (int i = 0; i < PER_THREAD / 2; i++)
		half += i % 100 + 1;
	snap();
	RF_CHECK_INT(fig.allocs, 0);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, counting_thread, (void *)(uintptr_t)(2 + i));
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	snap();
	RF_CHECK_INT(fig.allocs, THREADS * PER_THREAD);
	RF_CHECK_INT(fig.frees, THREADS * PER_THREAD / 2);
	RF_CHECK_INT(fig.alloc_bytes, THREADS * per_thread);
	RF_CHECK_INT(fig.live, THREADS * (per_thread - half));
	for (int i = 0; i < THREADS; i++)
		RF_CHECK_INT(by_id[2 + i], per_thread - half);
	RF_CHECK(fig.peak >= fig.live);
	/* Group 3's remaining blocks freed by a thread of group 9. */
	pthread_create(&t[0], NULL, freeing_thread, (void *)(uintptr_t)3);
	pthread_join(t[0], NULL);
	snap();
	RF_CHECK_INT(by_id[3], 0);
	RF_CHECK_INT(by_id[9], 0);
	RF_CHECK_INT(by_id[2], per_thread - half);
	RF_CHECK_INT(fig.live, (THREADS - 1) * (per_thread - half));
	/* The estimate follows the exact figure within a flush per thread. */
	RF_CHECK(fig.estimate <= (int64_t)fig.live + (THREADS + 2) * RF_HEAP_FLUSH &&
		 fig.estimate >= (int64_t)fig.live - (THREADS + 2) * RF_HEAP_FLUSH);
}

static void *one_alloc(void *arg)
{
	(void)arg;
	rf_heap_note_alloc(10, 0);
	return NULL;
}

RF_TEST(blocks_outlive_threads)
{
	/* Threads one after another: totals keep every ended thread's counts. */
	for (int i = 0; i < 300; i++) {
		pthread_t t;
		pthread_create(&t, NULL, one_alloc, NULL);
		pthread_join(t, NULL);
	}
	snap();
	RF_CHECK_INT(fig.allocs, 300);
	RF_CHECK_INT(fig.live, 3000);
	RF_CHECK_INT(by_id[0], 3000);
}

RF_TEST(nested_and_foreign)
{
	rf_heap_thread_group(5); /* ids are summed up to the highest handed to a thread */
	rf_heap_note_nested(100, 5, 1);
	rf_heap_note_nested(40, 5, 0);
	rf_heap_note_alloc(7, 5);
	rf_heap_note_foreign();
	rf_heap_note_nested(1, RF_HEAP_IDS + 3, 1); /* out of range: no group */
	snap();
	RF_CHECK_INT(fig.allocs, 3);
	RF_CHECK_INT(fig.frees, 1);
	RF_CHECK_INT(fig.live, 68);
	RF_CHECK_INT(by_id[5], 67);
	RF_CHECK_INT(by_id[0], 1);
	RF_CHECK_INT(fig.foreign, 1);
	/* The guard: taken once, refused while held. */
	RF_CHECK_INT(rf_heap_enter(), 1);
	RF_CHECK_INT(rf_heap_enter(), 0);
	rf_heap_leave();
	RF_CHECK_INT(rf_heap_enter(), 1);
	rf_heap_leave();
}

static int pressure_on, pressure_calls, woken;

static void on_pressure(int on, int may_wake)
{
	pressure_on = on;
	pressure_calls++;
	if (may_wake && !on)
		woken++;
}

RF_TEST(soft_limit_hysteresis)
{
	const uint64_t limit = 16 * 1024 * 1024;
	uint64_t low = rf_heap_low_water(limit);

	RF_CHECK_INT(low, limit - limit / 16);
	RF_CHECK_INT(rf_heap_low_water(100 * 1024), 0); /* the gap never exceeds the limit */
	rf_heap_setup(limit, on_pressure, 1);
	/* Climb in 4 KiB steps: pressure within one flush of the limit. */
	uint64_t live = 0;
	while (!pressure_on && live < 2 * limit) {
		rf_heap_note_alloc(4096, 0);
		live += 4096;
	}
	RF_CHECK_INT(pressure_on, 1);
	RF_CHECK(live > limit && live <= limit + (uint64_t)RF_HEAP_FLUSH);
	RF_CHECK_INT(rf_heap_pressure(), 1);
	/* Down to between the marks: still on (no flapping). */
	while (live > low + 4 * 4096) {
		rf_heap_note_free(4096, 0);
		live -= 4096;
	}
	snap();
	RF_CHECK_INT(rf_heap_pressure(), 1);
	RF_CHECK_INT(pressure_calls, 1);
	/* Below the low-water mark: off, on the allocation path (no wake)... */
	while (pressure_on && live > 0) {
		rf_heap_note_free(4096, 0);
		live -= 4096;
	}
	RF_CHECK_INT(pressure_on, 0);
	RF_CHECK(live < low && live >= low - 2 * (uint64_t)RF_HEAP_FLUSH);
	RF_CHECK_INT(woken, 0);
	/* ...and the publisher wakes the waiters. */
	snap();
	RF_CHECK_INT(woken, 1);
	RF_CHECK_INT(fig.episodes, 1);
	RF_CHECK_INT(fig.pressure, 0);
	/* The publisher judges the exact sum too, and a limit of 0 turns it off. */
	rf_heap_note_alloc(limit, 0);
	snap();
	RF_CHECK_INT(fig.pressure, 1);
	rf_heap_setup(0, on_pressure, 1);
	RF_CHECK_INT(rf_heap_pressure(), 0);
	RF_CHECK_INT(pressure_on, 0);
}

RF_TEST(fork_child_figures)
{
	pid_t pid;
	int status;

	rf_heap_thread_group(4);
	for (int i = 0; i < 100; i++)
		rf_heap_note_alloc(1000, 4);
	pid = fork();
	RF_CHECK(pid >= 0);
	if (pid == 0) {
		rf_heap_fork_child();
		snap();
		/* Counts from zero; the inherited live bytes are the child's own. */
		if (fig.allocs != 0 || fig.frees != 0 || fig.live != 100000 || by_id[4] != 100000 ||
		    fig.peak != 100000)
			_exit(1);
		rf_heap_note_free(1000, 4);
		snap();
		_exit(fig.frees == 1 && fig.live == 99000 ? 0 : 2);
	}
	RF_CHECK(waitpid(pid, &status, 0) == pid);
	RF_CHECK(WIFEXITED(status));
	RF_CHECK_INT(WEXITSTATUS(status), 0);
	snap();
	RF_CHECK_INT(fig.allocs, 100);
	RF_CHECK_INT(fig.live, 100000);
}

/* ---- the thread cache ---------------------------------------------------------------- */

/* Blocks as the allocator below would hand them out: 16-aligned, a header first. */
#define RF_LIST_BLOCKS (RF_HEAP_CACHE_GROWN / 40 + 2)
static _Alignas(16) unsigned char list_blocks[RF_LIST_BLOCKS][64];

/* A class-3 block (40 bytes asked of the allocator) bounds a grown cache at this many. */
#define RF_CLASS3_FIT (RF_HEAP_CACHE_GROWN / 40)

RF_TEST(cache_lists_are_last_in_first_out_and_bounded_in_bytes)
{
	struct rf_heap_cache cache = {0};
	struct rf_heap_hdr *h;

	rf_heap_key_init();
	rf_heap_cache_init(&cache, 0);
	RF_CHECK_INT(rf_heap_cache_capacity(3), 40);
	RF_CHECK(rf_heap_cache_pop(&cache, 3) == NULL);
	/* A batch of one size, as a thread freeing a delivery report's messages:
	 * push keeps up to the first room, keep grows the cache past it. */
	for (int i = 0; i < RF_CLASS3_FIT; i++) {
		if (i == RF_HEAP_CACHE_BYTES / 40)
			RF_CHECK(!rf_heap_cache_push(&cache, 3,
						     (struct rf_heap_hdr *)list_blocks[i]));
		h = rf_heap_hdr_init(list_blocks[i], RF_HEAP_HDR, 20, 0, 0);
		h -= 1;
		RF_CHECK(rf_heap_hdr_of(h + 1) == h);
		RF_CHECK(rf_heap_cache_keep(&cache, 3, h));
		/* Cached, a block is no longer taken for a live one: a second free is caught. */
		RF_CHECK(rf_heap_hdr_of(h + 1) == NULL);
		RF_CHECK(rf_heap_hdr_freed(h + 1));
	}
	/* Grown step by step to its most, and no further. */
	RF_CHECK_INT(cache.room, RF_HEAP_CACHE_GROWN);
	RF_CHECK(!rf_heap_cache_keep(&cache, 3, (struct rf_heap_hdr *)list_blocks[RF_CLASS3_FIT]));
	RF_CHECK(!rf_heap_cache_keep(&cache, 4, (struct rf_heap_hdr *)list_blocks[RF_CLASS3_FIT]));
	RF_CHECK_INT(rf_heap_cache_bytes(&cache), RF_CLASS3_FIT * rf_heap_cache_capacity(3));
	RF_CHECK(rf_heap_cache_bytes(&cache) <= RF_HEAP_CACHE_GROWN);
	RF_CHECK(rf_heap_cache_pop(&cache, 4) == NULL); /* classes keep their own lists */
	for (int i = RF_CLASS3_FIT - 1; i >= 0; i--)
		RF_CHECK(rf_heap_cache_pop(&cache, 3) == (struct rf_heap_hdr *)list_blocks[i]);
	RF_CHECK(rf_heap_cache_pop(&cache, 3) == NULL);
	RF_CHECK_INT(rf_heap_cache_bytes(&cache), 0);
	/* Drained, it is back to its first room, its growth back in the pool. */
	rf_heap_cache_setup(NULL);
	rf_heap_cache_drain(&cache, 0);
	RF_CHECK_INT(cache.room, RF_HEAP_CACHE_BYTES);
}

RF_TEST(cache_growth_is_bounded_for_the_process)
{
	static struct rf_heap_cache caches[RF_HEAP_CACHE_POOL / RF_HEAP_CACHE_STEP + 1];
	const int n = (int)(sizeof(caches) / sizeof(caches[0]));
	uint64_t grown = 0;

	for (int i = 0; i < n; i++) {
		rf_heap_cache_init(&caches[i], 0);
		while (rf_heap_cache_grow(&caches[i]))
			grown += RF_HEAP_CACHE_STEP;
		RF_CHECK(caches[i].room <= RF_HEAP_CACHE_GROWN);
	}
	/* The pool is spent: every cache that could grow further is refused. */
	RF_CHECK_INT(grown, RF_HEAP_CACHE_POOL);
	RF_CHECK_INT(caches[n - 1].room, RF_HEAP_CACHE_BYTES);
	/* One cache drained gives its growth back for another. */
	rf_heap_cache_setup(NULL);
	rf_heap_cache_drain(&caches[0], 0);
	RF_CHECK(rf_heap_cache_grow(&caches[n - 1]));
	/* A cache that may not cache never grows. */
	rf_heap_cache_drain(&caches[1], 1);
	RF_CHECK(!rf_heap_cache_grow(&caches[1]));
	/* Nor any while growth is off (the trim is on). */
	rf_heap_cache_drain(&caches[n - 1], 0);
	rf_heap_cache_growth(0);
	RF_CHECK(!rf_heap_cache_grow(&caches[n - 1]));
	rf_heap_cache_growth(1);
	RF_CHECK(rf_heap_cache_grow(&caches[n - 1]));
	for (int i = 0; i < n; i++)
		rf_heap_cache_drain(&caches[i], 0);
	RF_CHECK(rf_heap_cache_grow(&caches[0]));
	rf_heap_cache_drain(&caches[0], 0);
}

RF_TEST(cache_drain_marks_and_gives_back)
{
	struct rf_heap_cache cache = {0};

	rf_heap_key_init();
	rf_heap_cache_init(&cache, 0);
	for (int i = 0; i < 3; i++)
		RF_CHECK(rf_heap_cache_push(&cache, 5, (struct rf_heap_hdr *)list_blocks[i]));
	rf_heap_cache_setup(NULL);
	rf_heap_cache_drain(&cache, 1);
	for (int i = 0; i < 3; i++)
		RF_CHECK(rf_heap_marked_freed(list_blocks[i] + RF_HEAP_HDR));
	RF_CHECK(!rf_heap_marked_freed(list_blocks[3] + RF_HEAP_HDR));
	/* Drained for good: it takes nothing more, and counts nothing. */
	RF_CHECK(!rf_heap_cache_push(&cache, 5, (struct rf_heap_hdr *)list_blocks[4]));
	RF_CHECK_INT(rf_heap_cache_bytes(&cache), 0);
}

/* ---- the return path: blocks freed by another thread go back to their owner's cache -- */

#define SENT (2 * RF_HEAP_OUTBOX_MAX + 5)
static _Alignas(16) unsigned char sent_blocks[SENT][64];
static int sent_released;

static void sent_release(void *base)
{
	for (int i = 0; i < SENT; i++)
		if (base == sent_blocks[i])
			sent_released++;
}

/* SENT blocks of 20 bytes (class 3) that owner's thread allocated, counted in owner. */
static void sent_alloc(struct rf_heap_cache *owner)
{
	for (int i = 0; i < SENT; i++) {
		void *p = rf_heap_hdr_init(sent_blocks[i], RF_HEAP_HDR, 20, 0, owner->owned);

		RF_CHECK_INT(rf_heap_hdr_owner((struct rf_heap_hdr *)p - 1), owner->id);
		memset(p, 0x5a, 20);
	}
}

/* The freeing thread's share of free(): into the outbox for the block's owner. */
static void sent_free(struct rf_heap_cache *self, int i)
{
	struct rf_heap_hdr *h = (struct rf_heap_hdr *)sent_blocks[i];

	RF_CHECK(rf_heap_hdr_owner(h) != self->id);
	RF_CHECK(rf_heap_cache_send(self, rf_heap_hdr_owner(h), rf_heap_cache_class(20), h));
	/* On its way, a block is no longer taken for a live one: a second free is caught. */
	RF_CHECK(rf_heap_hdr_of(h + 1) == NULL && rf_heap_hdr_freed(h + 1));
}

RF_TEST(cache_blocks_freed_elsewhere_go_back_to_their_owner)
{
	static struct rf_heap_cache owner, other;
	const uint64_t block = rf_heap_cache_capacity(3);

	rf_heap_key_init();
	rf_heap_cache_setup(sent_release);
	sent_released = 0;
	rf_heap_cache_init(&owner, 0);
	rf_heap_cache_init(&other, 0);
	RF_CHECK(owner.id != 0 && other.id != 0 && owner.id != other.id);
	sent_alloc(&owner);
	/* Freed elsewhere: nothing moves until a batch is full. */
	for (int i = 0; i < RF_HEAP_OUTBOX_MAX - 1; i++)
		sent_free(&other, i);
	RF_CHECK(!rf_heap_cache_sent(&owner));
	RF_CHECK_INT(rf_heap_cache_bytes(&other), (RF_HEAP_OUTBOX_MAX - 1) * block);
	sent_free(&other, RF_HEAP_OUTBOX_MAX - 1);
	RF_CHECK(rf_heap_cache_sent(&owner));
	RF_CHECK_INT(rf_heap_cache_bytes(&other), 0);
	RF_CHECK_INT(rf_heap_cache_bytes(&owner), RF_HEAP_OUTBOX_MAX * block);
	/* The rest: a second batch, then a short one sent by hand (as at a thread's end). */
	for (int i = RF_HEAP_OUTBOX_MAX; i < SENT; i++)
		sent_free(&other, i);
	rf_heap_cache_post_all(&other);
	RF_CHECK_INT(rf_heap_cache_bytes(&owner), SENT * block);
	/* The owner takes them all into its lists, and each serves a malloc again. */
	RF_CHECK(rf_heap_cache_pop(&owner, 3) == NULL);
	RF_CHECK(rf_heap_cache_adopt(&owner));
	RF_CHECK(!rf_heap_cache_sent(&owner));
	RF_CHECK(!rf_heap_cache_adopt(&owner));
	RF_CHECK_INT(rf_heap_cache_bytes(&owner), SENT * block);
	unsigned char seen[SENT] = {0};
	for (int n = 0; n < SENT; n++) {
		struct rf_heap_hdr *h = rf_heap_cache_pop(&owner, 3);

		RF_CHECK(h != NULL);
		int i = (int)(((unsigned char *)h - sent_blocks[0]) / sizeof(sent_blocks[0]));
		RF_CHECK(i >= 0 && i < SENT && !seen[i]);
		seen[i] = 1;
	}
	RF_CHECK(rf_heap_cache_pop(&owner, 3) == NULL);
	RF_CHECK_INT(rf_heap_cache_bytes(&owner), 0);
	RF_CHECK_INT(sent_released, 0);
	/* Blocks the owner's thread frees itself stay out of the outbox. */
}

RF_TEST(cache_outboxes_keep_owners_apart)
{
	static struct rf_heap_cache owners[RF_HEAP_OUTBOXES], other;

	rf_heap_key_init();
	rf_heap_cache_setup(sent_release);
	sent_released = 0;
	rf_heap_cache_init(&other, 0);
	for (int k = 0; k < RF_HEAP_OUTBOXES; k++)
		rf_heap_cache_init(&owners[k], 0);
	/* Consecutive ids: one box each. Blocks of the owners in turn, as a poll
	 * thread frees the messages of the threads producing on its handle. */
	for (int i = 0; i < SENT; i++) {
		struct rf_heap_cache *owner = &owners[i % RF_HEAP_OUTBOXES];

		rf_heap_hdr_init(sent_blocks[i], RF_HEAP_HDR, 20, 0, owner->owned);
		sent_free(&other, i);
	}
	/* Nothing went out before a box was full. */
	for (int k = 0; k < RF_HEAP_OUTBOXES; k++)
		RF_CHECK(!rf_heap_cache_sent(&owners[k]));
	rf_heap_cache_post_all(&other);
	RF_CHECK_INT(rf_heap_cache_bytes(&other), 0);
	for (int k = 0; k < RF_HEAP_OUTBOXES; k++) {
		struct rf_heap_hdr *h;
		int n = 0;

		RF_CHECK(rf_heap_cache_adopt(&owners[k]));
		while ((h = rf_heap_cache_pop(&owners[k], 3)) != NULL) {
			int i = (int)(((unsigned char *)h - sent_blocks[0]) /
				      sizeof(sent_blocks[0]));

			RF_CHECK_INT(i % RF_HEAP_OUTBOXES, k);
			n++;
		}
		RF_CHECK_INT(n, (SENT - k + RF_HEAP_OUTBOXES - 1) / RF_HEAP_OUTBOXES);
	}
	/* An owner whose box collects for another: its blocks stay with the
	 * freeing thread, until the box is sent. */
	static struct rf_heap_cache clash;
	struct rf_heap_hdr *h0 = (struct rf_heap_hdr *)sent_blocks[0];
	struct rf_heap_hdr *h1 = (struct rf_heap_hdr *)sent_blocks[1];

	do
		rf_heap_cache_init(&clash, 0);
	while (clash.id % RF_HEAP_OUTBOXES != owners[0].id % RF_HEAP_OUTBOXES);
	rf_heap_hdr_init(h1, RF_HEAP_HDR, 20, 0, owners[0].owned);
	RF_CHECK(rf_heap_cache_send(&other, owners[0].id, 3, h1));
	rf_heap_hdr_init(h0, RF_HEAP_HDR, 20, 0, clash.owned);
	RF_CHECK(!rf_heap_cache_send(&other, clash.id, 3, h0));
	rf_heap_cache_post_all(&other);
	RF_CHECK(rf_heap_cache_send(&other, clash.id, 3, h0));
	rf_heap_cache_post_all(&other);
	RF_CHECK(rf_heap_cache_adopt(&owners[0]) && rf_heap_cache_pop(&owners[0], 3) == h1);
	RF_CHECK(rf_heap_cache_adopt(&clash) && rf_heap_cache_pop(&clash, 3) == h0);
	RF_CHECK_INT(sent_released, 0);
}

RF_TEST(cache_blocks_of_an_ended_thread_go_to_the_allocator)
{
	static struct rf_heap_cache owner, other, never;

	rf_heap_key_init();
	rf_heap_cache_setup(sent_release);
	sent_released = 0;
	rf_heap_cache_init(&owner, 0);
	rf_heap_cache_init(&other, 0);
	rf_heap_cache_init(&never, 1);
	RF_CHECK(never.owned == 0);
	sent_alloc(&owner);
	/* Sent before the end: given back with the owner's cache. */
	for (int i = 0; i < RF_HEAP_OUTBOX_MAX; i++)
		sent_free(&other, i);
	RF_CHECK(rf_heap_cache_sent(&owner));
	/* Collected, not sent yet. */
	sent_free(&other, RF_HEAP_OUTBOX_MAX);
	rf_heap_cache_end(&owner);
	RF_CHECK_INT(sent_released, RF_HEAP_OUTBOX_MAX);
	RF_CHECK_INT(rf_heap_cache_bytes(&owner), 0);
	for (int i = 0; i < RF_HEAP_OUTBOX_MAX; i++)
		RF_CHECK(rf_heap_marked_freed(sent_blocks[i] + RF_HEAP_HDR));
	/* Sent after the end: straight to the allocator. */
	rf_heap_cache_post_all(&other);
	RF_CHECK_INT(sent_released, RF_HEAP_OUTBOX_MAX + 1);
	RF_CHECK(!rf_heap_cache_sent(&owner));
	/* A thread that does not cache sends nothing: free() gives the block below. */
	RF_CHECK(!rf_heap_cache_send(&never, owner.id, 3,
				     (struct rf_heap_hdr *)sent_blocks[RF_HEAP_OUTBOX_MAX + 1]));
	/* The next thread to take the cache has its id, and gets what is sent. */
	uint32_t id = owner.id;
	rf_heap_cache_init(&owner, 0);
	RF_CHECK_INT(owner.id, id);
	sent_free(&other, RF_HEAP_OUTBOX_MAX + 2);
	rf_heap_cache_post_all(&other);
	RF_CHECK(rf_heap_cache_sent(&owner));
	rf_heap_cache_drain(&owner, 0);
	RF_CHECK_INT(sent_released, RF_HEAP_OUTBOX_MAX + 2);
	/* A cache turned off for good (RINGFENCE_HEAP_CACHE=0 at run time) gets
	 * nothing more either. */
	rf_heap_cache_drain(&owner, 1);
	sent_free(&other, RF_HEAP_OUTBOX_MAX + 3);
	rf_heap_cache_post_all(&other);
	RF_CHECK(!rf_heap_cache_sent(&owner));
	RF_CHECK_INT(sent_released, RF_HEAP_OUTBOX_MAX + 3);
}

/* ---- the thread cache: what the core gives back at a thread's end and in a fork ---- */

#define CACHED 3
#define CACHE_CLASS 10 /* 16 x 10 - 8 = 152 bytes a block */

static _Alignas(16) unsigned char cache_blocks[CACHED][256];
static int cache_released;
static pthread_barrier_t cache_bar;

static void cache_release(void *base)
{
	for (int i = 0; i < CACHED; i++)
		if (base == cache_blocks[i])
			__atomic_fetch_add(&cache_released, 1, __ATOMIC_RELAXED);
}

/* Take counters, then cache CACHED blocks in them as free() does. */
static void *cache_fill(void *arg)
{
	struct rf_heap_counters *b;

	rf_heap_note_alloc(1, 0);
	b = rf_heap_tls.counters;
	for (int i = 0; i < CACHED; i++)
		RF_CHECK(rf_heap_cache_push(&b->cache, CACHE_CLASS,
					    (struct rf_heap_hdr *)cache_blocks[i]));
	pthread_barrier_wait(&cache_bar); /* filled */
	pthread_barrier_wait(&cache_bar); /* counted: end (or stay, with arg) */
	if (arg != NULL)
		pause();
	return NULL;
}

RF_TEST(cache_given_back_at_thread_end)
{
	pthread_t t;

	rf_heap_cache_setup(cache_release);
	cache_released = 0;
	pthread_barrier_init(&cache_bar, NULL, 2);
	snap();
	RF_CHECK_INT(fig.cached, 0);
	pthread_create(&t, NULL, cache_fill, NULL);
	pthread_barrier_wait(&cache_bar);
	snap();
	RF_CHECK_INT(fig.cached, CACHED * rf_heap_cache_capacity(CACHE_CLASS));
	RF_CHECK_INT(cache_released, 0);
	pthread_barrier_wait(&cache_bar);
	pthread_join(t, NULL);
	snap();
	RF_CHECK_INT(cache_released, CACHED);
	RF_CHECK_INT(fig.cached, 0);
	pthread_barrier_destroy(&cache_bar);
}

RF_TEST(cache_given_back_in_fork_child)
{
	pthread_t t;
	pid_t pid;
	int status;

	rf_heap_cache_setup(cache_release);
	cache_released = 0;
	pthread_barrier_init(&cache_bar, NULL, 2);
	pthread_create(&t, NULL, cache_fill, (void *)1); /* stays alive, cache full */
	pthread_barrier_wait(&cache_bar);
	pid = fork();
	RF_CHECK(pid >= 0);
	if (pid == 0) {
		/* That thread is not in the child: its blocks go back. */
		rf_heap_fork_child();
		snap();
		_exit(cache_released == CACHED && fig.cached == 0 ? 0 : 1);
	}
	RF_CHECK(waitpid(pid, &status, 0) == pid);
	RF_CHECK(WIFEXITED(status));
	RF_CHECK_INT(WEXITSTATUS(status), 0);
	/* The parent's thread keeps them. */
	snap();
	RF_CHECK_INT(cache_released, 0);
	RF_CHECK_INT(fig.cached, CACHED * rf_heap_cache_capacity(CACHE_CLASS));
	pthread_barrier_wait(&cache_bar);
	pthread_cancel(t);
	pthread_join(t, NULL);
	RF_CHECK_INT(cache_released, CACHED);
}

static volatile sig_atomic_t handled;

static void on_signal(int sig)
{
	(void)sig;
	/* Counts in the middle of the interrupted thread's counts. */
	rf_heap_note_alloc(3, 1);
	rf_heap_note_alloc(5, 1);
	rf_heap_note_free(3, 1);
	handled = handled + 1;
}

RF_TEST(signal_handler_counts)
{
	struct sigaction sa = {.sa_handler = on_signal};
	struct itimerval it = {{0, 50}, {0, 50}};
	long loops = 0;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	while (handled < 2000 && loops < 200000000) {
		rf_heap_note_alloc(16, 2);
		rf_heap_note_free(16, 2);
		loops++;
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	signal(SIGALRM, SIG_IGN);
	snap();
	RF_CHECK(handled > 0);
	RF_CHECK_INT(fig.allocs, loops + 2 * (long)handled);
	RF_CHECK_INT(fig.frees, loops + (long)handled);
	RF_CHECK_INT(by_id[2], 0);
	RF_CHECK_INT(by_id[1], 5 * (long)handled);
}

RF_TEST(boot_arena)
{
	unsigned char *a = rf_heap_boot_alloc(10, 16), *b = rf_heap_boot_alloc(100, 64);
	unsigned char *c;

	RF_CHECK(a != NULL && b != NULL);
	RF_CHECK_INT((uintptr_t)a % 16, 0);
	RF_CHECK_INT((uintptr_t)b % 64, 0);
	RF_CHECK(rf_heap_boot_owns(a) && rf_heap_boot_owns(b + 99));
	RF_CHECK(!rf_heap_boot_owns(&fig) && !rf_heap_boot_owns(NULL));
	RF_CHECK_INT(rf_heap_boot_size(a), 10);
	RF_CHECK_INT(rf_heap_boot_size(b), 100);
	/* free() reads a header first: the arena's blocks must never pass for one. */
	RF_CHECK(rf_heap_hdr_of(a) == NULL && rf_heap_hdr_of(b) == NULL);
	for (int i = 0; i < 100; i++)
		RF_CHECK_INT(b[i], 0);
	RF_CHECK(b >= a + 10);
	RF_CHECK(rf_heap_boot_alloc(RF_HEAP_BOOT_SIZE, 16) == NULL); /* never more than it has */
	RF_CHECK(rf_heap_boot_alloc(16, 8192) == NULL);
	while ((c = rf_heap_boot_alloc(1000, 16)) != NULL)
		RF_CHECK(c + 1000 <= rf_heap_boot + RF_HEAP_BOOT_SIZE);
}

RF_TEST_MAIN(RF_TEST_ENTRY(cache_lists_are_last_in_first_out_and_bounded_in_bytes),
	     RF_TEST_ENTRY(cache_blocks_freed_elsewhere_go_back_to_their_owner),
	     RF_TEST_ENTRY(cache_blocks_of_an_ended_thread_go_to_the_allocator),
	     RF_TEST_ENTRY(cache_outboxes_keep_owners_apart),
	     RF_TEST_ENTRY(cache_growth_is_bounded_for_the_process),
	     RF_TEST_ENTRY(cache_drain_marks_and_gives_back), RF_TEST_ENTRY(header_roundtrip),
	     RF_TEST_ENTRY(counts_by_thread_and_group), RF_TEST_ENTRY(blocks_outlive_threads),
	     RF_TEST_ENTRY(nested_and_foreign), RF_TEST_ENTRY(soft_limit_hysteresis),
	     RF_TEST_ENTRY(fork_child_figures), RF_TEST_ENTRY(signal_handler_counts),
	     RF_TEST_ENTRY(boot_arena), RF_TEST_ENTRY(cache_given_back_at_thread_end),
	     RF_TEST_ENTRY(cache_given_back_in_fork_child))
