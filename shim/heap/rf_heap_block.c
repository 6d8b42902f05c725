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

void rf_heap_cache_init(struct rf_heap_cache *cache, int never)
{
	memset(cache->list, 0, sizeof(cache->list));
	__atomic_store_n(&cache->bytes, 0, __ATOMIC_RELAXED);
	cache->room = never ? 0 : RF_HEAP_CACHE_BYTES;
}

void rf_heap_cache_drain(struct rf_heap_cache *cache, int never)
{
	for (unsigned c = 0; c < RF_HEAP_CACHE_CLASSES; c++) {
		struct rf_heap_hdr *h;

		while ((h = cache->list[c]) != NULL) {
			cache->list[c] = (struct rf_heap_hdr *)(uintptr_t)h->word;
			rf_heap_mark_freed(h + 1);
			if (rf_heap_cache_release != NULL)
				rf_heap_cache_release(h);
		}
	}
	__atomic_store_n(&cache->bytes, 0, __ATOMIC_RELAXED);
	if (never)
		cache->room = 0;
}

uint64_t rf_heap_cache_bytes(const struct rf_heap_cache *cache)
{
	return __atomic_load_n(&cache->bytes, __ATOMIC_RELAXED);
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
