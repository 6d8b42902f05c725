/*
 * rf_heap_block.c - the blocks the allocator interposers hand out
 * (rf_heap_block.h): the key of checks and marks, the thread cache's
 * drain, the bootstrap arena.
 */
#include "rf_heap_block.h"

#include <string.h>
#include <sys/auxv.h>

uint32_t rf_heap_key;
unsigned char rf_heap_boot[RF_HEAP_BOOT_SIZE] __attribute__((aligned(4096)));

static void (*rf_heap_cache_release)(void *base);
static size_t rf_heap_boot_used; /* atomic */

void rf_heap_key_init(void)
{
	const unsigned char *random = (const unsigned char *)getauxval(AT_RANDOM);
	uint32_t key = 0x9e3779b9u;

	if (__atomic_load_n(&rf_heap_key, __ATOMIC_ACQUIRE) != 0)
		return;
	if (random != NULL)
		/* glibc's stack guard uses the first bytes. */
		memcpy(&key, random + 4, sizeof(key));
	key ^= (uint32_t)((uintptr_t)&rf_heap_boot_used >> 12);
	if (key == 0)
		key = 0x5bd1e995u;
	__atomic_store_n(&rf_heap_key, key, __ATOMIC_RELEASE);
}

/* ---- the thread cache ---------------------------------------------------------------- */

void rf_heap_cache_setup(void (*release)(void *base))
{
	rf_heap_cache_release = release;
}

/* Bytes the caches grew by beyond RF_HEAP_CACHE_BYTES, all threads. */
static uint64_t rf_heap_cache_pool; /* atomic */

static int rf_heap_cache_growth_off; /* atomic */

void rf_heap_cache_growth(int on)
{
	__atomic_store_n(&rf_heap_cache_growth_off, !on, __ATOMIC_RELAXED);
}

int rf_heap_cache_grow(struct rf_heap_cache *cache)
{
	if (cache->room == 0 || cache->room >= RF_HEAP_CACHE_GROWN ||
	    __atomic_load_n(&rf_heap_cache_growth_off, __ATOMIC_RELAXED) ||
	    __atomic_load_n(&rf_heap_cache_pool, __ATOMIC_RELAXED) + RF_HEAP_CACHE_STEP >
		    RF_HEAP_CACHE_POOL)
		return 0;
	if (__atomic_add_fetch(&rf_heap_cache_pool, RF_HEAP_CACHE_STEP, __ATOMIC_RELAXED) >
	    RF_HEAP_CACHE_POOL) {
		__atomic_sub_fetch(&rf_heap_cache_pool, RF_HEAP_CACHE_STEP, __ATOMIC_RELAXED);
		return 0;
	}
	cache->room += RF_HEAP_CACHE_STEP;
	return 1;
}

int rf_heap_cache_keep(struct rf_heap_cache *cache, unsigned c, struct rf_heap_hdr *h)
{
	return rf_heap_cache_push(cache, c, h) ||
	       (rf_heap_cache_grow(cache) && rf_heap_cache_push(cache, c, h));
}

/* Back to RF_HEAP_CACHE_BYTES (or to 0: never), what it grew by to the pool. */
static void rf_heap_cache_shrink(struct rf_heap_cache *cache, int never)
{
	if (cache->room > RF_HEAP_CACHE_BYTES)
		__atomic_sub_fetch(&rf_heap_cache_pool, cache->room - RF_HEAP_CACHE_BYTES,
				   __ATOMIC_RELAXED);
	if (never || cache->room > RF_HEAP_CACHE_BYTES)
		cache->room = never ? 0 : RF_HEAP_CACHE_BYTES;
}

/* The caches blocks name, by id (slots are never emptied: caches outlive their threads). */
static struct rf_heap_cache *rf_heap_owners[RF_HEAP_OWNERS];
static uint32_t rf_heap_owner_next = 1; /* atomic */

static struct rf_heap_cache *rf_heap_cache_of(uint32_t id)
{
	return id < RF_HEAP_OWNERS ? __atomic_load_n(&rf_heap_owners[id], __ATOMIC_ACQUIRE) : NULL;
}

/* Mark a plain block freed and give it to the allocator below. */
static void rf_heap_cache_release_block(struct rf_heap_hdr *h)
{
	rf_heap_mark_freed(h + 1);
	if (rf_heap_cache_release != NULL)
		rf_heap_cache_release(h);
}

/* Give a chain linked through rf_heap_link to the allocator below. */
static void rf_heap_cache_release_chain(struct rf_heap_hdr *h)
{
	while (h != NULL) {
		struct rf_heap_hdr *next = *rf_heap_link(h);

		rf_heap_cache_release_block(h);
		h = next;
	}
}

void rf_heap_cache_init(struct rf_heap_cache *cache, int never)
{
	memset(cache->list, 0, sizeof(cache->list));
	__atomic_store_n(&cache->bytes, 0, __ATOMIC_RELAXED);
	cache->room = never ? 0 : RF_HEAP_CACHE_BYTES;
	memset(cache->out, 0, sizeof(cache->out));
	if (!never && cache->id == 0) {
		uint32_t id = __atomic_fetch_add(&rf_heap_owner_next, 1, __ATOMIC_RELAXED);

		if (id < RF_HEAP_OWNERS) {
			cache->id = id;
			__atomic_store_n(&rf_heap_owners[id], cache, __ATOMIC_RELEASE);
		}
	}
	cache->owned = never || cache->id == 0 ? 0 : RF_HEAP_WORD_OWNED | (uint64_t)cache->id << 16;
	__atomic_store_n(&cache->alive, cache->owned != 0, __ATOMIC_SEQ_CST);
}

void rf_heap_cache_post(struct rf_heap_cache *cache, struct rf_heap_outbox *box)
{
	struct rf_heap_cache *to = rf_heap_cache_of(box->owner);
	struct rf_heap_hdr *first = box->first, *last = box->last, *old;
	uint32_t bytes = box->bytes;

	if (first == NULL)
		return;
	/* Emptied first: a fork child that finds this thread stopped half-way
	 * (and drains its outboxes) may lose the chain, but never sends it twice. */
	box->first = box->last = NULL;
	box->count = 0;
	__atomic_store_n(&box->bytes, 0, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (to != NULL && __atomic_load_n(&to->alive, __ATOMIC_SEQ_CST)) {
		/* Counted before it can be taken, so the figure never goes below zero. */
		__atomic_fetch_add(&to->remote_bytes, bytes, __ATOMIC_RELAXED);
		old = __atomic_load_n(&to->remote, __ATOMIC_RELAXED);
		do
			*rf_heap_link(last) = old;
		while (!__atomic_compare_exchange_n(&to->remote, &old, first, 1, __ATOMIC_RELEASE,
						    __ATOMIC_RELAXED));
	} else {
		/* Its thread ended: nothing would take them. */
		rf_heap_cache_release_chain(first);
	}
}

void rf_heap_cache_post_all(struct rf_heap_cache *cache)
{
	for (int i = 0; i < RF_HEAP_OUTBOXES; i++)
		rf_heap_cache_post(cache, &cache->out[i]);
}

/* Take the remote list: kept as the room allows (keep), else given back. */
static int rf_heap_cache_take(struct rf_heap_cache *cache, int keep)
{
	struct rf_heap_hdr *h = __atomic_exchange_n(&cache->remote, NULL, __ATOMIC_ACQUIRE);
	uint64_t taken = 0;

	if (h == NULL)
		return 0;
	while (h != NULL) {
		struct rf_heap_hdr *next = *rf_heap_link(h);
		unsigned c = rf_heap_cache_class(rf_heap_hdr_size(h));

		taken += rf_heap_cache_capacity(c);
		if (!keep || !rf_heap_cache_keep(cache, c, h))
			rf_heap_cache_release_block(h);
		h = next;
	}
	__atomic_fetch_sub(&cache->remote_bytes, taken, __ATOMIC_RELAXED);
	return 1;
}

int rf_heap_cache_adopt(struct rf_heap_cache *cache)
{
	return rf_heap_cache_take(cache, 1);
}

void rf_heap_cache_drain(struct rf_heap_cache *cache, int never)
{
	for (unsigned c = 0; c < RF_HEAP_CACHE_CLASSES; c++) {
		struct rf_heap_hdr *h;

		while ((h = cache->list[c]) != NULL) {
			cache->list[c] = (struct rf_heap_hdr *)(uintptr_t)h->word;
			rf_heap_cache_release_block(h);
		}
	}
	__atomic_store_n(&cache->bytes, 0, __ATOMIC_RELAXED);
	rf_heap_cache_shrink(cache, never);
	if (never) {
		/* Nothing more sent here: senders give such blocks below. */
		cache->owned = 0;
		__atomic_store_n(&cache->alive, 0, __ATOMIC_SEQ_CST);
	}
	rf_heap_cache_post_all(cache);
	rf_heap_cache_take(cache, 0);
}

void rf_heap_cache_end(struct rf_heap_cache *cache)
{
	/* Senders that see alive 0 keep their blocks from now on; a send that saw
	 * it 1 just before may still land after the drain: the next thread to
	 * take this cache adopts it. */
	__atomic_store_n(&cache->alive, 0, __ATOMIC_SEQ_CST);
	rf_heap_cache_drain(cache, 0);
}

uint64_t rf_heap_cache_bytes(const struct rf_heap_cache *cache)
{
	uint64_t bytes = __atomic_load_n(&cache->bytes, __ATOMIC_RELAXED) +
			 __atomic_load_n(&cache->remote_bytes, __ATOMIC_RELAXED);

	for (int i = 0; i < RF_HEAP_OUTBOXES; i++)
		bytes += __atomic_load_n(&cache->out[i].bytes, __ATOMIC_RELAXED);
	return bytes;
}

/* ---- the bootstrap arena ------------------------------------------------------------ */

void *rf_heap_boot_alloc(size_t size, size_t align)
{
	size_t used = __atomic_load_n(&rf_heap_boot_used, __ATOMIC_RELAXED), start, end;

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
	} while (!__atomic_compare_exchange_n(&rf_heap_boot_used, &used, end, 1, __ATOMIC_RELAXED,
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
