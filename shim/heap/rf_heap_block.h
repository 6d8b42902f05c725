/*
 * rf_heap_block.h - the blocks the allocator interposers hand out: the
 * shim's header in front of each, the mark a plain block bears once given
 * back, the thread cache of freed blocks, and the bootstrap arena.
 *
 * The header. Every block the shim hands out starts RF_HEAP_HDR bytes after
 * a block of the allocator below (or further on, for aligned requests); the
 * header in between holds the size the caller asked for, the heap id of the
 * allocating thread's group, the distance back to the allocator's block,
 * and a check word keyed per process, so free() tells the shim's blocks from
 * blocks it never handed out (those go to the allocator as they are).
 *
 * The freed mark. A plain block of ours given back to the allocator below
 * loses its header to the allocator's free-list words (glibc keeps 16 bytes
 * there), so a second free of it would reach glibc 16 bytes into one of its
 * chunks, which it does not recognise as a double free and may crash on.
 * The block's first word gets a mark just before it goes back; glibc leaves
 * it alone except in chunks it files in its large bins (1 KiB and up),
 * hands out again, or fills under MALLOC_PERTURB_.
 *
 * The thread cache. Plain blocks of up to RF_HEAP_CACHE_MAX bytes that a
 * thread frees are kept, in a list per size class of 16 bytes, for its next
 * malloc of the same class, up to RF_HEAP_CACHE_BYTES in all classes of a
 * thread; past that, and when the thread ends, they go to the allocator
 * below. Bounded in bytes rather than per class, so that a thread that frees
 * a batch of one size (the messages of a delivery report) keeps the batch for
 * the allocations that follow it. Every such block is
 * asked of the allocator at its class's capacity (which is the chunk glibc
 * would have rounded the request to anyway), so any block of a class serves
 * any request of it. A cached block keeps its header with offset 0 (not
 * taken for a live block of ours: freeing it again is a double free), its
 * word linking the list. Only its thread touches a cache, under the heap's
 * guard (rf_heap.h): the operations here take no lock and no atomic.
 *
 * The bootstrap arena serves allocations made while the real functions are
 * resolved (dlsym may allocate); free() recognises its pointers.
 *
 * Knows nothing of preloading: the interposers use it, and the unit tests.
 */
#ifndef RF_HEAP_BLOCK_H
#define RF_HEAP_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "rf_shm.h"

#define RF_HEAP_HDR 16
#define RF_HEAP_IDS RF_SHM_HEAP_IDS
_Static_assert((RF_HEAP_IDS & (RF_HEAP_IDS - 1)) == 0, "heap ids: a power of two");
/* Requests above these fail with ENOMEM (no allocator can serve them anyway). */
#define RF_HEAP_SIZE_MAX ((UINT64_C(1) << 47) - 1)
#define RF_HEAP_ALIGN_MAX (UINT64_C(1) << 30)
/* Static arena serving allocations made while the real functions are resolved. */
#define RF_HEAP_BOOT_SIZE (64 * 1024)

/* Offset bit: the block was mapped with mmap (a call made inside the allocator below). */
#define RF_HEAP_MAPPED 1u

struct rf_heap_hdr {
	uint64_t word;   /* size asked for (low 48 bits), heap id (high 16 bits); in a
			  * cache, the next cached block */
	uint32_t offset; /* from the allocator's block to the caller's pointer: 16, or more;
			  * | RF_HEAP_MAPPED; 0 once freed */
	uint32_t check;  /* rf_heap_check_of(): this header, at this address, in this process */
};
_Static_assert(sizeof(struct rf_heap_hdr) == RF_HEAP_HDR, "header size");

extern uint32_t rf_heap_key;
extern unsigned char rf_heap_boot[RF_HEAP_BOOT_SIZE] __attribute__((visibility("hidden")));

/* Pick the per-process key of checks and marks (AT_RANDOM); idempotent. */
void rf_heap_key_init(void);

/* ---- the header ------------------------------------------------------------------ */

static inline uint32_t rf_heap_check_of(const struct rf_heap_hdr *h, uint32_t offset)
{
	/*
	 * Keyed per process, and by the header's own address: a copy elsewhere
	 * fails. The size and heap id are left out (free() pays for every
	 * operation here): a stale header of a freed block is overwritten by the
	 * allocator's own free-list words, and the key alone makes a foreign
	 * block's 16 bytes pass by chance once in 2^32.
	 */
	return rf_heap_key ^ offset ^ (uint32_t)((uintptr_t)h >> 4);
}

/*
 * Write the header for a caller's pointer offset bytes into base (offset may
 * carry RF_HEAP_MAPPED); returns that pointer.
 */
static inline void *rf_heap_hdr_init(void *base, size_t offset, size_t size, uint32_t gid)
{
	struct rf_heap_hdr *h =
		(struct rf_heap_hdr *)((char *)base + (offset & ~(size_t)RF_HEAP_MAPPED)) - 1;

	h->word = (uint64_t)size | (uint64_t)gid << 48;
	h->offset = (uint32_t)offset;
	h->check = rf_heap_check_of(h, (uint32_t)offset);
	return h + 1;
}

/*
 * The header of p when p is a block the shim handed out, else NULL. The
 * 16 bytes before p must be readable (the caller knows when they may not be).
 */
static inline struct rf_heap_hdr *rf_heap_hdr_of(const void *p)
{
	struct rf_heap_hdr *h = (struct rf_heap_hdr *)p - 1;
	uint64_t word;
	uint32_t offset;

	if (((uintptr_t)p & 15) != 0)
		return NULL;
	word = h->word;
	offset = h->offset;
	if (h->check != rf_heap_check_of(h, offset) || offset < RF_HEAP_HDR ||
	    (word >> 48) >= RF_HEAP_IDS)
		return NULL;
	return h;
}

/*
 * rf_heap_hdr_of for free()'s common path, where every pointer is glibc's
 * or the shim's and so 16-aligned with readable bytes before it: the header
 * of a plain block of ours (offset RF_HEAP_HDR: not aligned further, not
 * mapped), else NULL (rf_heap_hdr_of then decides). No alignment test; the
 * heap id is not range-checked (the readers mask it: rf_heap_hdr_gid).
 */
static inline struct rf_heap_hdr *rf_heap_hdr_plain(const void *p)
{
	struct rf_heap_hdr *h = (struct rf_heap_hdr *)p - 1;

	if (h->offset != RF_HEAP_HDR || h->check != rf_heap_check_of(h, RF_HEAP_HDR))
		return NULL;
	return h;
}

static inline size_t rf_heap_hdr_size(const struct rf_heap_hdr *h)
{
	return (size_t)(h->word & ((UINT64_C(1) << 48) - 1));
}

static inline uint32_t rf_heap_hdr_gid(const struct rf_heap_hdr *h)
{
	return (uint32_t)(h->word >> 48) & (RF_HEAP_IDS - 1);
}

/* The allocator's block behind a header. */
static inline void *rf_heap_hdr_base(const struct rf_heap_hdr *h)
{
	return (char *)(h + 1) - (h->offset & ~RF_HEAP_MAPPED);
}

/* ---- the freed mark ---------------------------------------------------------------- */

/*
 * Whether p is a plain block of ours that was freed and whose header is
 * still there: its offset is 0, its check the one it had (a thread cache
 * holds it, or the allocator below took it back without writing there).
 * Same reading rules as rf_heap_hdr_of.
 */
static inline int rf_heap_hdr_freed(const void *p)
{
	const struct rf_heap_hdr *h = (const struct rf_heap_hdr *)p - 1;

	return ((uintptr_t)p & 15) == 0 && h->offset == 0 &&
	       h->check == rf_heap_check_of(h, RF_HEAP_HDR);
}

/* The mark of a block at p: keyed per process and by address, as the check. */
static inline uint64_t rf_heap_freed_word(const void *p)
{
	return ((uint64_t)rf_heap_key << 32 | rf_heap_key) ^ ((uintptr_t)p >> 4) ^
	       UINT64_C(0x4652454544424c4b); /* "FREEDBLK" */
}

/*
 * p, a plain block of ours (at least 8 bytes of it are usable), goes back
 * to the allocator below: no longer taken for ours (offset 0, as in a
 * thread cache) and marked.
 */
static inline void rf_heap_mark_freed(void *p)
{
	((struct rf_heap_hdr *)p - 1)->offset = 0;
	*(uint64_t *)p = rf_heap_freed_word(p);
}

/* Whether p, whose header is gone, bears the freed mark. */
static inline int rf_heap_marked_freed(const void *p)
{
	return ((uintptr_t)p & 15) == 0 && *(const uint64_t *)p == rf_heap_freed_word(p);
}

/* ---- the thread cache ---------------------------------------------------------------- */

#define RF_HEAP_CACHE_MAX 1024
#define RF_HEAP_CACHE_BYTES (1024 * 1024)
#define RF_HEAP_CACHE_CLASSES ((RF_HEAP_CACHE_MAX + 39) / 16 + 1)

static inline unsigned rf_heap_cache_class(size_t n)
{
	return (unsigned)((n + 39) >> 4);
}

/* Bytes asked of the allocator below for a block of class c, header included. */
static inline size_t rf_heap_cache_capacity(unsigned c)
{
	return (size_t)c * 16 - 8;
}

/* What to ask of the allocator below for a plain block of n bytes. */
static inline size_t rf_heap_hdr_request(size_t n)
{
	return n <= RF_HEAP_CACHE_MAX ? rf_heap_cache_capacity(rf_heap_cache_class(n))
				      : n + RF_HEAP_HDR;
}

/* One thread's cache. */
struct rf_heap_cache {
	struct rf_heap_hdr *list[RF_HEAP_CACHE_CLASSES]; /* headers = allocator blocks */
	uint32_t bytes; /* kept, as asked of the allocator; read by figures (atomic) */
	uint32_t room;  /* RF_HEAP_CACHE_BYTES, or 0 for a thread that may not cache */
};

/* A cached block of class c (its header, at the allocator's block), or NULL. */
static inline struct rf_heap_hdr *rf_heap_cache_pop(struct rf_heap_cache *cache, unsigned c)
{
	struct rf_heap_hdr *h = cache->list[c];

	if (h != NULL) {
		cache->list[c] = (struct rf_heap_hdr *)(uintptr_t)h->word;
		__atomic_store_n(&cache->bytes, cache->bytes - (uint32_t)rf_heap_cache_capacity(c),
				 __ATOMIC_RELAXED);
	}
	return h;
}

/* Keep the plain block of header h in class c: 1, or 0 when the cache is full. */
static inline int rf_heap_cache_push(struct rf_heap_cache *cache, unsigned c, struct rf_heap_hdr *h)
{
	uint32_t bytes = cache->bytes + (uint32_t)rf_heap_cache_capacity(c);

	if (bytes > cache->room)
		return 0;
	h->word = (uint64_t)(uintptr_t)cache->list[c];
	h->offset = 0;
	cache->list[c] = h;
	__atomic_store_n(&cache->bytes, bytes, __ATOMIC_RELAXED);
	return 1;
}

/* How cached blocks go back to the allocator below (its free). */
void rf_heap_cache_setup(void (*release)(void *base));

/*
 * Give every cached block back to the allocator below, marked freed; with
 * never, the cache takes no block from now on. Its thread, under the guard.
 */
void rf_heap_cache_drain(struct rf_heap_cache *cache, int never);

/* Start a new thread's cache: empty, or never caching. */
void rf_heap_cache_init(struct rf_heap_cache *cache, int never);

/* Bytes the cache keeps (asked of the allocator below); any thread, relaxed. */
uint64_t rf_heap_cache_bytes(const struct rf_heap_cache *cache);

/* ---- the bootstrap arena ------------------------------------------------------------ */

/* size bytes, 16-aligned (align up to 4096), zeroed, never reused; NULL when full. */
void *rf_heap_boot_alloc(size_t size, size_t align);

static inline int rf_heap_boot_owns(const void *p)
{
	return (uintptr_t)p - (uintptr_t)rf_heap_boot < RF_HEAP_BOOT_SIZE;
}

/* Bytes of a block of the arena. */
size_t rf_heap_boot_size(const void *p);

#endif /* RF_HEAP_BLOCK_H */
