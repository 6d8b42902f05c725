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
 * thread (a full cache may grow: RF_HEAP_CACHE_GROWN); past that, and when
 * the thread ends, they go to the allocator
 * below. A block that another thread allocated goes back to that thread's
 * cache instead (see "The return path" below). Bounded in bytes rather than
 * per class, so that a thread that frees a batch of one size (the messages
 * of a delivery report) keeps the batch for the allocations that follow it.
 * Every such block is asked of the allocator at its class's capacity (which
 * is the chunk glibc would have rounded the request to anyway), so any
 * block of a class serves any request of it. A cached block keeps its
 * header with offset 0 (not taken for a live block of ours: freeing it
 * again is a double free), its word linking the list. Only its thread
 * touches a cache's lists and outboxes, under the heap's guard (rf_heap.h):
 * they take no lock and no atomic. Other threads write only its remote
 * list, below.
 *
 * The return path. A producing thread allocates librdkafka's messages and a
 * poll or broker thread frees them: kept by the freeing thread, they would
 * fill its cache and never serve it, while the allocating thread's stays
 * empty. So a small plain block names its owner, the cache of the thread
 * that allocated it (RF_HEAP_WORD_OWNED, an id of RF_HEAP_OWNERS), and
 * another thread that frees it collects it in an outbox for that owner; a
 * batch of RF_HEAP_OUTBOX_MAX sends the outbox with one compare-and-swap
 * onto the owner's remote list (an atomic for a batch, never for a single
 * free). A block whose owner's box collects for another owner stays with
 * the freeing thread's cache. The owner takes the whole list with one
 * exchange when a malloc misses its cache, before it calls the allocator
 * below, and keeps what its room allows. A thread that ends first (alive 0)
 * gets nothing more: outboxes for it go to the allocator below; what
 * reaches its list in between stays there for the next thread that takes
 * its cache. Until a batch is full an outbox keeps up to RF_HEAP_OUTBOX_MAX
 * blocks.
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

/*
 * The thread cache: blocks up to this size, this many bytes a thread; a
 * full cache grows by a step at a time up to RF_HEAP_CACHE_GROWN while the
 * process's caches have grown by less than RF_HEAP_CACHE_POOL in all (as
 * tcmalloc's thread caches: up to 4 MiB each, 32 MiB in all).
 */
#define RF_HEAP_CACHE_MAX 1024
#define RF_HEAP_CACHE_BYTES (1024 * 1024)
#define RF_HEAP_CACHE_STEP (1024 * 1024)
#define RF_HEAP_CACHE_GROWN (4 * 1024 * 1024)
#define RF_HEAP_CACHE_POOL (16 * 1024 * 1024)
#define RF_HEAP_CACHE_CLASSES ((RF_HEAP_CACHE_MAX + 39) / 16 + 1)
/* The return path: caches blocks can name (ids 1 and up), blocks an outbox sends at once. */
#define RF_HEAP_OWNERS 65536
#define RF_HEAP_OUTBOX_MAX 64
/* Outboxes a thread keeps, for as many owners at once (a poll thread frees
 * the messages of all the threads that produce on its handle). */
#define RF_HEAP_OUTBOXES 8

/* Offset bit: the block was mapped with mmap (a call made inside the allocator below). */
#define RF_HEAP_MAPPED 1u

struct rf_heap_hdr {
	uint64_t word;   /* size asked for (low 47 bits), heap id (high 16 bits); with
			  * RF_HEAP_WORD_OWNED, the size in the low 16 bits and the
			  * owner in the 16 above; in a cache, the next cached block */
	uint32_t offset; /* from the allocator's block to the caller's pointer: 16, or more;
			  * | RF_HEAP_MAPPED; 0 once freed */
	uint32_t check;  /* rf_heap_check_of(): this header, at this address, in this process */
};
_Static_assert(sizeof(struct rf_heap_hdr) == RF_HEAP_HDR, "header size");

/* word: a small plain block that names its owner (sizes stay below this bit). */
#define RF_HEAP_WORD_OWNED (UINT64_C(1) << 47)
_Static_assert(RF_HEAP_SIZE_MAX < RF_HEAP_WORD_OWNED, "sizes leave the owner bit free");

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
 * carry RF_HEAP_MAPPED); returns that pointer. owned: the allocating
 * thread's RF_HEAP_WORD_OWNED | owner << 16 (struct rf_heap_cache), or 0;
 * only a plain block of a cached size takes it.
 */
static inline void *rf_heap_hdr_init(void *base, size_t offset, size_t size, uint32_t gid,
				     uint64_t owned)
{
	struct rf_heap_hdr *h =
		(struct rf_heap_hdr *)((char *)base + (offset & ~(size_t)RF_HEAP_MAPPED)) - 1;

	if (offset != RF_HEAP_HDR || size > RF_HEAP_CACHE_MAX)
		owned = 0;
	h->word = (uint64_t)size | owned | (uint64_t)gid << 48;
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
	uint64_t word = h->word;

	return (size_t)(word & (word & RF_HEAP_WORD_OWNED ? 0xffff : RF_HEAP_WORD_OWNED - 1));
}

/* The cache the block goes back to when another thread frees it; 0: none. */
static inline uint32_t rf_heap_hdr_owner(const struct rf_heap_hdr *h)
{
	uint64_t word = h->word;

	return word & RF_HEAP_WORD_OWNED ? (uint32_t)(word >> 16) & 0xffff : 0;
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
	uint32_t room;  /* RF_HEAP_CACHE_BYTES and the steps it grew by; 0: may not cache */
	uint64_t owned; /* RF_HEAP_WORD_OWNED | id << 16 while its thread caches, else 0 */
	/* Outboxes: blocks of other caches freed here, one owner to a box
	 * (owner % RF_HEAP_OUTBOXES), linked through rf_heap_link. */
	struct rf_heap_outbox {
		struct rf_heap_hdr *first, *last;
		uint32_t owner, count;
		uint32_t bytes; /* as asked of the allocator; read by figures (atomic) */
	} out[RF_HEAP_OUTBOXES];
	uint32_t id; /* the id blocks name this cache by, kept from thread to thread */
	/* Written by other threads: a line of its own. */
	struct rf_heap_hdr *remote __attribute__((aligned(64))); /* atomic: sent here */
	uint64_t remote_bytes;                                   /* atomic */
	uint32_t alive; /* atomic: its thread takes what is sent here */
};

/* The link of a block in an outbox or a remote list: its first word (ours while freed). */
static inline struct rf_heap_hdr **rf_heap_link(struct rf_heap_hdr *h)
{
	return (struct rf_heap_hdr **)(h + 1);
}

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

/*
 * Grow a full cache by RF_HEAP_CACHE_STEP: 1, or 0 when it may not (it grew
 * to RF_HEAP_CACHE_GROWN, or the pool is spent). A shared atomic, once a
 * step; a look at the pool when it is spent.
 */
int rf_heap_cache_grow(struct rf_heap_cache *cache);

/*
 * Keep the plain block of header h in class c: 1, or 0 when the cache is
 * full (no call: free()'s common path stays free of saved registers).
 */
static inline int rf_heap_cache_push(struct rf_heap_cache *cache, unsigned c, struct rf_heap_hdr *h)
{
	uint32_t bytes = cache->bytes + (uint32_t)rf_heap_cache_capacity(c);

	if (__builtin_expect(bytes > cache->room, 0))
		return 0;
	h->word = (uint64_t)(uintptr_t)cache->list[c];
	h->offset = 0;
	cache->list[c] = h;
	__atomic_store_n(&cache->bytes, bytes, __ATOMIC_RELAXED);
	return 1;
}

/*
 * Whether full caches may grow (on by default). Off while the trim gives
 * glibc's free memory back (rf_heap_trim.h): what a grown cache keeps is out
 * of the trim's reach.
 */
void rf_heap_cache_growth(int on);

/* rf_heap_cache_push, growing the cache when it is full and may grow. */
int rf_heap_cache_keep(struct rf_heap_cache *cache, unsigned c, struct rf_heap_hdr *h);

/* Send an outbox to its owner now (or to the allocator below when the owner is gone). */
void rf_heap_cache_post(struct rf_heap_cache *cache, struct rf_heap_outbox *box);

/* Send every outbox. */
void rf_heap_cache_post_all(struct rf_heap_cache *cache);

/*
 * The plain block of header h, of class c, freed by this cache's thread,
 * belongs to the cache named owner (not this one): into the outbox for it.
 * 1, or 0 when this thread sends nothing (it does not cache), or when the
 * owner's box is collecting for another owner: the block then stays here,
 * as it would without the return path, rather than have a few blocks sent
 * at a time (threads that all free each other's blocks would otherwise
 * meet on the owners' lists at every other free).
 */
static inline int rf_heap_cache_send(struct rf_heap_cache *cache, uint32_t owner, unsigned c,
				     struct rf_heap_hdr *h)
{
	struct rf_heap_outbox *box = &cache->out[owner % RF_HEAP_OUTBOXES];
	uint32_t bytes = (uint32_t)rf_heap_cache_capacity(c);

	if (cache->owned == 0)
		return 0;
	if (__builtin_expect(owner != box->owner, 0)) {
		if (box->first != NULL)
			return 0;
		box->owner = owner;
	}
	h->offset = 0; /* freed: a second free is caught */
	*rf_heap_link(h) = box->first;
	if (box->first == NULL)
		box->last = h;
	box->first = h;
	__atomic_store_n(&box->bytes, box->bytes + bytes, __ATOMIC_RELAXED);
	if (++box->count >= RF_HEAP_OUTBOX_MAX)
		rf_heap_cache_post(cache, box);
	return 1;
}

/*
 * Take what other threads sent to this cache: into its lists as its room
 * allows, the rest to the allocator below. Whether anything came. Its
 * thread, under the guard.
 */
int rf_heap_cache_adopt(struct rf_heap_cache *cache);

/* Whether other threads sent blocks that rf_heap_cache_adopt would take. */
static inline int rf_heap_cache_sent(const struct rf_heap_cache *cache)
{
	return __atomic_load_n(&cache->remote, __ATOMIC_RELAXED) != NULL;
}

/* How cached blocks go back to the allocator below (its free). */
void rf_heap_cache_setup(void (*release)(void *base));

/*
 * Give every block the cache keeps back to the allocator below, marked
 * freed, with those sent to it; send its outbox. With never, the cache takes
 * no block from now on. Its thread, under the guard.
 */
void rf_heap_cache_drain(struct rf_heap_cache *cache, int never);

/*
 * Its thread ends: nothing more is sent to the cache, and it is drained.
 * Under the guard.
 */
void rf_heap_cache_end(struct rf_heap_cache *cache);

/*
 * Start a new thread's cache (zeroed memory at first): empty, or never
 * caching. A cache taken over from an ended thread keeps its id and what
 * was sent to it since.
 */
void rf_heap_cache_init(struct rf_heap_cache *cache, int never);

/*
 * Bytes the cache keeps, with its outbox and its remote list (as asked of
 * the allocator below); any thread, relaxed.
 */
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
