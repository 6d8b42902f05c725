/*
 * rf_heap.h - heap accounting: what the allocator interposers count, per
 * thread and per thread group, and what the publisher sums (docs/heap.md).
 *
 * Blocks. Every block the shim hands out starts RF_HEAP_HDR bytes after a
 * block of the allocator below (or further on, for aligned requests); the
 * header in between holds the size the caller asked for, the heap id of the
 * allocating thread's group, the distance back to the allocator's block, and
 * a check word keyed per process, so free() tells the shim's blocks from
 * blocks it never handed out (those go to the allocator as they are).
 *
 * The thread cache (below, with struct rf_heap_block): freed plain blocks of
 * up to 1 KiB stay with the thread that freed them, a few per size class,
 * for its next malloc of that class; they go to the allocator below when a
 * list is full and when the thread ends.
 *
 * Counting. Each thread adds to a block of counters of its own (a plain load
 * and a relaxed store per counter: no lock prefix, no shared cache line); the
 * publisher sums the blocks. A thread's net change is also added to one
 * shared estimate each time it has moved by RF_HEAP_FLUSH bytes: that
 * estimate gives the peak and drives the soft limit without a per-call
 * atomic. A block outlives its thread and goes to the next new thread.
 * Blocks come from mmap, never from malloc.
 *
 * Re-entry. Each count on the hot path is one read-modify-write instruction
 * on the thread's own block (x86-64 `add` to memory, no lock prefix): a
 * signal handler that allocates on the same thread lands before or after
 * it, never inside, so nothing is lost. The per-thread guard (rf_heap_enter
 * / rf_heap_leave) is held across every call into the allocator below and
 * across taking the thread's first block: a call that finds it held (a
 * signal handler interrupting the allocator, which may hold its own lock;
 * the allocator calling malloc) must not call the allocator again. The
 * interposers then map such blocks with mmap and defer such frees until
 * the guard is left (hook_alloc.c), and counts go to shared atomics
 * (rf_heap_note_nested): no lock, no per-thread set-up, no recursion.
 *
 * Knows nothing of preloading: hook_alloc.c calls it, and the unit tests.
 */
#ifndef RF_HEAP_H
#define RF_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "rf_shm.h"

#define RF_HEAP_HDR 16
#define RF_HEAP_IDS RF_SHM_HEAP_IDS
/* Net bytes a thread counts before it updates the shared estimate. */
#define RF_HEAP_FLUSH ((int64_t)64 * 1024)
/* Requests above these fail with ENOMEM (no allocator can serve them anyway). */
#define RF_HEAP_SIZE_MAX ((UINT64_C(1) << 47) - 1)
#define RF_HEAP_ALIGN_MAX (UINT64_C(1) << 30)
/* Static arena serving allocations made while the real functions are resolved. */
#define RF_HEAP_BOOT_SIZE (64 * 1024)

/* Offset bit: the block was mapped with mmap (a call made inside the allocator below). */
#define RF_HEAP_MAPPED 1u

struct rf_heap_hdr {
	uint64_t word;   /* size asked for (low 48 bits), heap id (high 16 bits) */
	uint32_t offset; /* from the allocator's block to the caller's pointer: 16, or more;
			  * | RF_HEAP_MAPPED */
	uint32_t check;  /* rf_heap_check_of(): this header, at this address, in this process */
};
_Static_assert(sizeof(struct rf_heap_hdr) == RF_HEAP_HDR, "header size");

/*
 * The thread cache: plain blocks of up to RF_HEAP_CACHE_MAX bytes that the
 * thread frees are kept, up to RF_HEAP_CACHE_DEPTH per size class of 16
 * bytes, for its next malloc of the same class, and go to the allocator
 * below when the list is full and when the thread ends. Every such block is
 * asked of the allocator at its class's capacity (which is the chunk glibc
 * would have rounded the request to anyway), so any block of a class serves
 * any request of it.
 */
#define RF_HEAP_CACHE_MAX 1024
#define RF_HEAP_CACHE_DEPTH 8
#define RF_HEAP_CACHE_NEVER 0xff /* cached[] of a block whose thread may not cache */
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

/* One thread's counters. Only the owner writes; anyone reads (relaxed). */
struct rf_heap_block {
	uint64_t allocs, frees, bytes;
	int64_t drift;              /* owner only: net bytes not yet in the shared estimate */
	struct rf_heap_block *next; /* every block ever made; set before the block is linked */
	uint32_t free;              /* its thread ended: the next new thread may take it */
	uint32_t reserved;
	/* Owner only, under the guard: the thread cache's lists (allocator blocks,
	 * linked through the header's word) and their lengths. */
	void *cache[RF_HEAP_CACHE_CLASSES];
	uint8_t cached[RF_HEAP_CACHE_CLASSES];
	int64_t live[RF_HEAP_IDS];  /* net bytes by heap id: + allocated here, - freed here */
};

struct rf_heap_tls {
	struct rf_heap_block *block; /* NULL: none yet; RF_HEAP_BLOCK_GONE: thread ending */
	uint32_t gid;                /* heap id of this thread's group; 0: none */
	uint32_t state;              /* RF_HEAP_HELD | RF_HEAP_SLOW; 0: the common paths apply */
	uint32_t resolving;          /* this thread resolves the real functions */
	void *deferred;              /* blocks freed while the guard was held, to free after */
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

#define RF_HEAP_BLOCK_GONE ((struct rf_heap_block *)1)

extern __thread struct rf_heap_tls rf_heap_tls __attribute__((tls_model("initial-exec")));
extern uint32_t rf_heap_key;
extern unsigned char rf_heap_boot[RF_HEAP_BOOT_SIZE] __attribute__((visibility("hidden")));

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

/* ---- headers ---------------------------------------------------------------- */

static inline uint32_t rf_heap_check_of(const struct rf_heap_hdr *h, uint64_t word,
					uint32_t offset)
{
	/*
	 * Keyed per process, and by the header's own address: a copy elsewhere
	 * fails. The size and heap id are left out (free() pays for every
	 * operation here): a stale header of a freed block is overwritten by the
	 * allocator's own free-list words, and the key alone makes a foreign
	 * block's 16 bytes pass by chance once in 2^32.
	 */
	(void)word;
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
	uint64_t word = (uint64_t)size | (uint64_t)gid << 48;

	h->word = word;
	h->offset = (uint32_t)offset;
	h->check = rf_heap_check_of(h, word, (uint32_t)offset);
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
	if (h->check != rf_heap_check_of(h, word, offset) || offset < RF_HEAP_HDR ||
	    (word >> 48) >= RF_HEAP_IDS)
		return NULL;
	return h;
}

/* What to ask of the allocator below for a plain block of n bytes. */
static inline size_t rf_heap_hdr_request(size_t n)
{
	return n <= RF_HEAP_CACHE_MAX ? rf_heap_cache_capacity(rf_heap_cache_class(n))
				      : n + RF_HEAP_HDR;
}

/*
 * rf_heap_hdr_of for free()'s common path, in ACCOUNT mode, where every
 * pointer is glibc's or the shim's and so 16-aligned with readable bytes
 * before it: the header of a plain block of ours (offset RF_HEAP_HDR: not
 * aligned further, not mapped), else NULL (rf_heap_hdr_of then decides).
 * No alignment test; the heap id is not range-checked (the readers mask it:
 * rf_heap_hdr_gid).
 */
static inline struct rf_heap_hdr *rf_heap_hdr_plain(const void *p)
{
	struct rf_heap_hdr *h = (struct rf_heap_hdr *)p - 1;

	if (h->offset != RF_HEAP_HDR || h->check != rf_heap_check_of(h, 0, RF_HEAP_HDR))
		return NULL;
	return h;
}

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
	       h->check == rf_heap_check_of(h, 0, RF_HEAP_HDR);
}

/*
 * The freed mark. A plain block of ours given back to the allocator below
 * loses its header to the allocator's free-list words (glibc keeps 16 bytes
 * there), so a second free of it would reach glibc 16 bytes into one of its
 * chunks, which it does not recognise as a double free and may crash on.
 * The block's first word gets this mark just before it goes back; glibc
 * leaves it alone except in chunks it files in its large bins (1 KiB and
 * up), hands out again, or fills under MALLOC_PERTURB_. Keyed per process
 * and by address, as the check.
 */
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

_Static_assert((RF_HEAP_IDS & (RF_HEAP_IDS - 1)) == 0, "heap ids: a power of two");

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

/* ---- counting ---------------------------------------------------------------- */

/* The slow paths: a count without a block (takes one), the flush into the estimate. */
void rf_heap_note_slow(size_t size, uint32_t gid, int alloc);
void rf_heap_flush(struct rf_heap_block *b);

/* Count outside any per-thread block (guard held, thread ending): shared atomics, no lock. */
void rf_heap_note_nested(size_t size, uint32_t gid, int alloc);

#if defined(__x86_64__)
/* One instruction, no lock prefix: signal-atomic on this thread, plain for others. */
#define RF_HEAP_ADD(field, n) __asm__ volatile("addq %1, %0" : "+m"(field) : "er"((int64_t)(n)))
#else
/* Elsewhere an atomic add keeps the same promise, at the price of a locked operation. */
#define RF_HEAP_ADD(field, n) __atomic_fetch_add(&(field), (n), __ATOMIC_RELAXED)
#endif

/* Whether b is a thread's own block (else count through rf_heap_note_slow). */
static inline int rf_heap_block_ok(const struct rf_heap_block *b)
{
	return (uintptr_t)b > (uintptr_t)RF_HEAP_BLOCK_GONE;
}

/*
 * Count an allocation, or a free, of size bytes for heap id gid into the
 * thread's own block b; true when b's drift calls for rf_heap_flush(b). The
 * interposers' common paths call these directly and flush off their path.
 */
static inline __attribute__((always_inline)) int rf_heap_count_alloc(struct rf_heap_block *b,
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

static inline __attribute__((always_inline)) int rf_heap_count_free(struct rf_heap_block *b,
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
	struct rf_heap_block *b = rf_heap_tls.block;

	if (__builtin_expect(!rf_heap_block_ok(b), 0))
		rf_heap_note_slow(size, gid, 1);
	else if (rf_heap_count_alloc(b, size, gid))
		rf_heap_flush(b);
}

/* A block of size bytes allocated for heap id gid was freed. Async-signal-safe. */
static inline void rf_heap_note_free(size_t size, uint32_t gid)
{
	struct rf_heap_block *b = rf_heap_tls.block;

	if (__builtin_expect(!rf_heap_block_ok(b), 0))
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

/* How a thread's cached blocks go back to the allocator below when it ends. */
void rf_heap_cache_setup(void (*release)(void *base));

/*
 * Turn the thread cache off (RINGFENCE_HEAP_CACHE=0): threads that take
 * their counter block from now on never cache, and the calling thread gives
 * its cached blocks back. Call at start-up, before other threads run.
 */
void rf_heap_cache_off(void);

/* Pick the per-process header key (AT_RANDOM); idempotent. */
void rf_heap_key_init(void);

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
 * Write the heap figures into a publication: the heap stats, and each
 * published thread group's heap_live_bytes by its heap_id. Call after the
 * thread sections are written. Publisher only.
 */
void rf_heap_publish(struct rf_shm_layout *shm);

/*
 * After fork, in the child (one thread): counts start at zero, live bytes
 * are kept (the child holds a copy of every block), the peak restarts at
 * the live figure, and pressure is judged again.
 */
void rf_heap_fork_child(void);

/* ---- the bootstrap arena ------------------------------------------------------ */

/* size bytes, 16-aligned (align up to 4096), zeroed, never reused; NULL when full. */
void *rf_heap_boot_alloc(size_t size, size_t align);

static inline int rf_heap_boot_owns(const void *p)
{
	return (uintptr_t)p - (uintptr_t)rf_heap_boot < RF_HEAP_BOOT_SIZE;
}

/* Bytes of a block of the arena. */
size_t rf_heap_boot_size(const void *p);

#endif /* RF_HEAP_H */
