/*
 * hook_alloc.c - the allocator interposers.
 *
 * librdkafka frees an arena payload with free() (rd_free is an inline free(),
 * called through the PLT of librdkafka.so.1), so free() must recognise arena
 * addresses: one load and one compare, no lock and no shared atomic write on
 * this path; only arena payloads go on to take the budget's lock.
 * realloc() and malloc_usable_size() on an arena payload are answered too, so
 * that nothing the arena handed out can reach the real allocator. That check
 * comes first in each of them.
 *
 * Everything else is heap accounting (rf_heap.h, docs/heap.md): each block
 * is asked of the allocator below 16 bytes larger (up to its size class's
 * capacity up to 1 KiB: rf_heap_hdr_request; more for aligned blocks)
 * and carries the shim's header (rf_heap_block.h) in front of the caller's
 * pointer. Each interposer: guard, real call, header, one count into the
 * core. malloc and free first try the thread cache (rf_heap_block.h): a hit
 * makes no call at all.
 *
 * Modes, decided once when the real functions are first needed:
 *   ACCOUNT  the shim's malloc, free, calloc, realloc and malloc_usable_size
 *            are the ones in effect: headers and counts;
 *   PASS     another object defines them first (an allocator preloaded
 *            before the shim, a program with its own malloc): every call
 *            goes to the next definition untouched; nothing is counted and
 *            the budget copies nothing into the arena (its payloads would
 *            reach that allocator's free);
 * and while this thread resolves the real functions (dlsym may allocate)
 * allocations come from the bootstrap arena (rf_heap_block.h), which free()
 * recognises.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>

#include "rf_budget.h"
#include "rf_heap.h"
#include "rf_real.h"
#include "hook_alloc.h"
#include "rf_log.h"

enum rf_alloc_mode {
	RF_ALLOC_UNRESOLVED = 0,
	RF_ALLOC_ACCOUNT = 1,
	RF_ALLOC_PASS = 2,
	RF_ALLOC_PROBED = 3, /* ACCOUNT, with an allocator below that is not glibc: the
			      * fast paths step aside, the slow ones probe (rf_alloc_hdr_of) */
};

static struct {
	int mode;  /* atomic: enum rf_alloc_mode, stored once after the pointers */
	int probe; /* the allocator below is not glibc: a foreign page-aligned pointer
		    * may have nothing mapped before it, look before reading there */
	size_t page;
	rf_real_malloc_fn malloc;
	rf_real_free_fn free;
	rf_real_calloc_fn calloc;
	rf_real_realloc_fn realloc;
	rf_real_malloc_usable_size_fn usable;
	rf_real_reallocarray_fn reallocarray;
	rf_real_posix_memalign_fn posix_memalign;
	rf_real_aligned_alloc_fn aligned_alloc;
	rf_real_memalign_fn memalign;
	rf_real_valloc_fn valloc;
	rf_real_pvalloc_fn pvalloc;
} rf_alloc;

static int rf_alloc_first(void);

static inline int rf_alloc_mode(void)
{
	return __atomic_load_n(&rf_alloc.mode, __ATOMIC_ACQUIRE);
}

/* Whether the object of fn is glibc. */
static int rf_alloc_from_libc(rf_real_malloc_fn fn)
{
	Dl_info info;
	void *addr;

	memcpy(&addr, &fn, sizeof(addr)); /* a function address is an address on ELF targets */
	return dladdr(addr, &info) != 0 && info.dli_fname != NULL &&
	       strstr(info.dli_fname, "/libc.so") != NULL;
}

/*
 * In ACCOUNT mode, let this thread take the common paths from now on
 * (rf_heap.h, RF_HEAP_SLOW); never while it holds the guard.
 */
static inline void rf_alloc_thread_fast(int mode)
{
	if (mode == RF_ALLOC_ACCOUNT && rf_heap_tls.state == RF_HEAP_SLOW)
		rf_heap_tls.state = 0;
}

/*
 * Resolve the real functions and pick the mode, once. A thread already
 * resolving (dlsym called malloc) gets RF_ALLOC_UNRESOLVED: use the arena.
 */
static int rf_alloc_resolve(void)
{
	int mode = rf_alloc_mode(), saved;

	if (mode != RF_ALLOC_UNRESOLVED || rf_heap_tls.resolving) {
		rf_alloc_thread_fast(mode);
		return mode == RF_ALLOC_PROBED ? RF_ALLOC_ACCOUNT : mode;
	}
	saved = errno;
	rf_heap_tls.resolving = 1;
	rf_heap_key_init();
	rf_alloc.page = getauxval(AT_PAGESZ) ? getauxval(AT_PAGESZ) : 4096;
	rf_alloc.malloc = RF_REAL(malloc);
	rf_alloc.free = RF_REAL(free);
	rf_alloc.calloc = RF_REAL(calloc);
	rf_alloc.realloc = RF_REAL(realloc);
	rf_alloc.usable = RF_REAL(malloc_usable_size);
	rf_alloc.reallocarray = RF_REAL(reallocarray);
	rf_alloc.posix_memalign = RF_REAL(posix_memalign);
	rf_alloc.aligned_alloc = RF_REAL(aligned_alloc);
	rf_alloc.memalign = RF_REAL(memalign);
	rf_alloc.valloc = RF_REAL(valloc);
	rf_alloc.pvalloc = RF_REAL(pvalloc);
	if (rf_alloc.malloc != NULL && rf_alloc.free != NULL && rf_alloc.calloc != NULL &&
	    rf_alloc.realloc != NULL && rf_alloc.usable != NULL && rf_alloc_first()) {
		rf_alloc.probe = !rf_alloc_from_libc(rf_alloc.malloc);
		mode = rf_alloc.probe ? RF_ALLOC_PROBED : RF_ALLOC_ACCOUNT;
	} else {
		mode = RF_ALLOC_PASS;
	}
	if (mode == RF_ALLOC_ACCOUNT)
		rf_heap_cache_setup(rf_alloc.free);
	__atomic_store_n(&rf_alloc.mode, mode, __ATOMIC_RELEASE);
	rf_heap_tls.resolving = 0;
	rf_alloc_thread_fast(mode);
	errno = saved;
	return mode == RF_ALLOC_PROBED ? RF_ALLOC_ACCOUNT : mode;
}

int rf_alloc_setup(void)
{
	return rf_alloc_resolve() == RF_ALLOC_ACCOUNT;
}

/* The header of p, or NULL when p is not a block of ours (or may not be safely read). */
static inline struct rf_heap_hdr *rf_alloc_hdr_of(void *p)
{
	if (__builtin_expect(rf_alloc.probe && ((uintptr_t)p & (rf_alloc.page - 1)) == 0, 0)) {
		unsigned char vec;
		int saved = errno, mapped;

		/* mincore fails with ENOMEM on an unmapped page. */
		mapped = mincore((char *)p - rf_alloc.page, 1, &vec) == 0;
		errno = saved;
		if (!mapped)
			return NULL;
	}
	return rf_heap_hdr_of(p);
}

/*
 * Header and count for a block the allocator below just returned: base,
 * with the caller's pointer offset bytes in. The counts are signal-atomic
 * (rf_heap.h): a handler that allocates at any point here counts as usual.
 */
static inline __attribute__((always_inline)) void *rf_alloc_account(void *base, size_t offset,
								    size_t n)
{
	struct rf_heap_counters *b = rf_heap_tls.counters;
	uint32_t gid = rf_heap_tls.gid;
	void *p =
		rf_heap_hdr_init(base, offset, n, gid, rf_heap_counters_ok(b) ? b->cache.owned : 0);

	rf_heap_note_alloc(n, gid);
	return p;
}

/* Free what was deferred while the guard was held (signal handlers' frees). */
static __attribute__((noinline)) void rf_alloc_drain(void)
{
	void *p;

	while ((p = __atomic_exchange_n(&rf_heap_tls.deferred, NULL, __ATOMIC_RELAXED)) != NULL) {
		while (p != NULL) {
			struct rf_heap_hdr *h = (struct rf_heap_hdr *)p - 1;
			void *next = (void *)(uintptr_t)h->word;

			if (rf_heap_enter()) {
				void *base = rf_heap_hdr_base(h);

				if (h->offset == RF_HEAP_HDR)
					rf_heap_mark_freed(p);
				rf_alloc.free(base);
				rf_heap_leave();
			}
			p = next;
		}
	}
}

/* Leave the guard taken around a call into the allocator below. */
static inline __attribute__((always_inline)) void rf_alloc_leave(void)
{
	rf_heap_leave();
	if (__builtin_expect(rf_heap_tls.deferred != NULL, 0))
		rf_alloc_drain();
}

static size_t rf_alloc_mapped_len(size_t n, uint32_t offset)
{
	return (n + (offset & ~RF_HEAP_MAPPED) + rf_alloc.page - 1) & ~(rf_alloc.page - 1);
}

/*
 * A block for a call made while this thread is inside the allocator below
 * (a signal handler that allocates; the allocator calling malloc): mapped
 * with mmap, which takes no user-space lock. Alignment up to a page.
 */
static __attribute__((noinline)) void *rf_alloc_mapped(size_t n, size_t align)
{
	uint32_t offset = (uint32_t)(align > RF_HEAP_HDR ? align : RF_HEAP_HDR) | RF_HEAP_MAPPED;
	int saved = errno;
	void *base;

	if (align > rf_alloc.page || n > RF_HEAP_SIZE_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	base = mmap(NULL, rf_alloc_mapped_len(n, offset), PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		errno = ENOMEM;
		return NULL;
	}
	errno = saved;
	return rf_alloc_account(base, offset, n);
}

/*
 * A counted block of n bytes (ACCOUNT mode): aligned to align when that is
 * more than 16, zeroed with zero. NULL with errno ENOMEM on failure.
 */
static void *rf_alloc_block(size_t n, size_t align, int zero)
{
	size_t offset = RF_HEAP_HDR;
	void *base;

	if (n > RF_HEAP_SIZE_MAX || align > RF_HEAP_ALIGN_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	if (!rf_heap_enter())
		return rf_alloc_mapped(n, align); /* mmap gives zeroes */
	if (align > RF_HEAP_HDR) {
		/* Header before the aligned pointer, 32 to align + 16 bytes in: never
		 * at 16, where the block would pass for a plain one of its size
		 * (which the thread cache keeps by that size). */
		base = rf_alloc.malloc(n + align + RF_HEAP_HDR);
		if (base != NULL)
			offset = (((uintptr_t)base + 2 * RF_HEAP_HDR + align - 1) &
				  ~(uintptr_t)(align - 1)) -
				 (uintptr_t)base;
	} else if (zero) {
		base = rf_alloc.calloc(1, rf_heap_hdr_request(n));
	} else {
		base = rf_alloc.malloc(rf_heap_hdr_request(n));
	}
	rf_alloc_leave();
	return base != NULL ? rf_alloc_account(base, offset, n) : NULL;
}

/* A mapped block of ours (counted already): unmapped. */
static __attribute__((noinline)) void rf_alloc_unmap(struct rf_heap_hdr *h, size_t size,
						     uint32_t offset)
{
	int saved = errno;

	munmap(rf_heap_hdr_base(h), rf_alloc_mapped_len(size, offset));
	errno = saved;
}

/* Inside the allocator below on this thread: freed later, from rf_alloc_leave. */
static __attribute__((noinline)) void rf_alloc_defer(void *p, struct rf_heap_hdr *h)
{
	void *next = __atomic_exchange_n(&rf_heap_tls.deferred, p, __ATOMIC_RELAXED);

	h->word = (uint64_t)(uintptr_t)next;
}

/*
 * Free a block of ours: counted now; given back now, or after the guard is
 * left. The rare cases are calls of their own, so that the common one needs
 * few registers (free() is the hottest path the shim has).
 */
static inline __attribute__((always_inline)) void rf_alloc_free_ours(void *p, struct rf_heap_hdr *h)
{
	uint32_t offset = h->offset;
	size_t size = rf_heap_hdr_size(h);

	rf_heap_note_free(size, rf_heap_hdr_gid(h));
	if (__builtin_expect(offset & RF_HEAP_MAPPED, 0)) {
		rf_alloc_unmap(h, size, offset);
		return;
	}
	if (__builtin_expect(!rf_heap_enter(), 0)) {
		rf_alloc_defer(p, h);
		return;
	}
	if (offset == RF_HEAP_HDR)
		rf_heap_mark_freed(p);
	rf_alloc.free((char *)p - offset);
	rf_alloc_leave();
}

static __attribute__((noinline)) void rf_alloc_free_ours_slow(void *p, struct rf_heap_hdr *h)
{
	rf_alloc_free_ours(p, h);
}

/* A plain block of ours, counted, that the thread cache does not keep: to the allocator below. */
static __attribute__((noinline)) void rf_alloc_free_below(void *base)
{
	rf_heap_hold();
	rf_heap_mark_freed((char *)base + RF_HEAP_HDR);
	rf_alloc.free(base);
	rf_heap_release();
	if (__builtin_expect(rf_heap_tls.deferred != NULL, 0))
		rf_alloc_drain();
}

/* The common free, past its counts, when they called for a flush first. */
static __attribute__((noinline)) void rf_alloc_flush_free(struct rf_heap_counters *b, void *base)
{
	rf_heap_flush(b);
	rf_alloc_free_below(base);
}

/* The common free, past its counts, when the thread cache was full: grown if it may. */
static __attribute__((noinline)) void rf_alloc_free_full(struct rf_heap_counters *b, unsigned c,
							 struct rf_heap_hdr *h)
{
	int kept;

	rf_heap_hold();
	kept = rf_heap_cache_keep(&b->cache, c, h);
	rf_heap_release();
	if (!kept)
		rf_alloc_free_below(h); /* drains what was deferred meanwhile */
	else if (__builtin_expect(rf_heap_tls.deferred != NULL, 0))
		rf_alloc_drain();
}

/*
 * The common free, of a small plain block that another thread's cache owns
 * (rf_heap_block.h, the return path): counted here, then into the outbox
 * for that cache; kept here, or given below, when this thread sends nothing.
 */
static __attribute__((noinline)) void rf_alloc_free_other(struct rf_heap_counters *b,
							  struct rf_heap_hdr *h, uint32_t owner)
{
	void *base = h; /* a plain block: its header is at the allocator's block */
	size_t size = rf_heap_hdr_size(h);
	unsigned c = rf_heap_cache_class(size);
	int kept;

	if (rf_heap_count_free(b, size, rf_heap_hdr_gid(h))) {
		rf_alloc_flush_free(b, base);
		return;
	}
	rf_heap_hold();
	kept = rf_heap_cache_send(&b->cache, owner, c, h) || rf_heap_cache_push(&b->cache, c, h) ||
	       rf_heap_cache_keep(&b->cache, c, h);
	rf_heap_release();
	if (!kept)
		rf_alloc_free_below(base); /* drains what was deferred meanwhile */
	else if (__builtin_expect(rf_heap_tls.deferred != NULL, 0))
		rf_alloc_drain();
}

/*
 * rf_alloc_free_ours for the common case (the caller found the thread's
 * state 0: ACCOUNT mode, guard free; and a plain block: rf_heap_hdr_plain),
 * written so that nothing but the real call stays in the way: every other
 * case is a tail call.
 */
static inline __attribute__((always_inline)) void rf_alloc_free_fast(void *p, struct rf_heap_hdr *h)
{
	struct rf_heap_counters *b = rf_heap_tls.counters;
	void *base = (char *)p - RF_HEAP_HDR;
	uint64_t word = h->word;
	size_t size;
	unsigned c;
	int kept;

	if (__builtin_expect(!rf_heap_counters_ok(b), 0)) {
		rf_alloc_free_ours_slow(p, h);
		return;
	}
	/* rf_heap_hdr_size and rf_heap_hdr_owner, with one test. */
	if (word & RF_HEAP_WORD_OWNED) {
		uint32_t owner = (uint32_t)(word >> 16) & 0xffff;

		if (__builtin_expect(owner != b->cache.id, 0)) {
			rf_alloc_free_other(b, h, owner);
			return;
		}
		size = word & 0xffff;
	} else {
		size = word & (RF_HEAP_WORD_OWNED - 1);
	}
	c = rf_heap_cache_class(size);
	if (rf_heap_count_free(b, size, rf_heap_hdr_gid(h))) {
		rf_alloc_flush_free(b, base);
		return;
	}
	if (__builtin_expect(size > RF_HEAP_CACHE_MAX, 0)) {
		rf_alloc_free_below(base);
		return;
	}
	/* Into the thread cache, unless its list is full: judged under the guard,
	 * since a handler that frees in between may fill it. Cached, the block is
	 * no longer taken for one of ours: freeing it again is a double free
	 * (rf_alloc_double_free). */
	rf_heap_hold();
	kept = rf_heap_cache_push(&b->cache, c, h);
	rf_heap_release();
	if (__builtin_expect(!kept, 0))
		rf_alloc_free_full(b, c, h);
	else if (__builtin_expect(rf_heap_tls.deferred != NULL, 0))
		rf_alloc_drain();
}

/*
 * p was freed already: it sits in a thread cache, or bears the freed mark.
 * glibc reports a double free it catches the same way; handing p on would
 * give it a pointer 16 bytes into one of its chunks, which it would not.
 */
static __attribute__((noinline, noreturn)) void rf_alloc_double_free(const char *call, void *p)
{
	rf_log("%s(): double free detected (block %p, freed before)", call, p);
	abort();
}

/* Whether p, which has no live header of ours, was a plain block of ours, freed. */
static inline int rf_alloc_freed_before(const void *p)
{
	return !rf_alloc.probe && (rf_heap_hdr_freed(p) || rf_heap_marked_freed(p));
}

/* Free a block of ours (ACCOUNT mode), or hand a foreign one to the allocator. */
static void rf_alloc_release(void *p)
{
	struct rf_heap_hdr *h = rf_alloc_hdr_of(p);

	if (h != NULL) {
		rf_alloc_free_ours(p, h);
		return;
	}
	if (rf_alloc_freed_before(p))
		rf_alloc_double_free("free", p);
	rf_heap_note_foreign();
	if (rf_heap_enter()) {
		rf_alloc.free(p);
		rf_alloc_leave();
	} /* else: inside the allocator, with nowhere to keep it: leaked */
}

/* Bytes the caller may use in p (ACCOUNT mode, p not NULL, not from the arena). */
static size_t rf_alloc_usable(void *p)
{
	struct rf_heap_hdr *h = rf_alloc_hdr_of(p);

	if (h == NULL)
		return rf_alloc.usable(p);
	if (h->offset & RF_HEAP_MAPPED)
		return rf_alloc_mapped_len(rf_heap_hdr_size(h), h->offset) -
		       (h->offset & ~RF_HEAP_MAPPED);
	return rf_alloc.usable(rf_heap_hdr_base(h)) - h->offset;
}

static void *rf_alloc_boot(size_t n, size_t align)
{
	void *p = rf_heap_boot_alloc(n, align);

	if (p == NULL)
		errno = ENOMEM;
	return p;
}

/* ---- malloc, calloc, free ------------------------------------------------------ */

static __attribute__((noinline)) void *rf_malloc_slow(size_t n)
{
	switch (rf_alloc_resolve()) {
	case RF_ALLOC_ACCOUNT:
		return rf_alloc_block(n, 0, 0);
	case RF_ALLOC_PASS:
		return rf_alloc.malloc(n);
	default:
		return rf_alloc_boot(n, 16);
	}
}

/* malloc's ends off the common path: each returns what malloc returns. */
static __attribute__((noinline)) void *rf_malloc_finish(void *base, size_t n)
{
	if (rf_heap_tls.deferred != NULL)
		rf_alloc_drain();
	return base != NULL ? rf_alloc_account(base, RF_HEAP_HDR, n) : NULL;
}

static __attribute__((noinline)) void *rf_malloc_count_slow(void *p, size_t n, uint32_t gid)
{
	rf_heap_note_slow(n, gid, 1);
	return p;
}

static __attribute__((noinline)) void *rf_malloc_flush(struct rf_heap_counters *b, void *p)
{
	rf_heap_flush(b);
	if (rf_heap_tls.deferred != NULL)
		rf_alloc_drain();
	return p;
}

/*
 * The allocator below for n bytes, the guard held around it, with header and
 * counts (rf_alloc_account, its rare ends as tail calls: few registers
 * live). b: the counters malloc found usable, or NULL to look them up after
 * the call (rf_malloc_below).
 */
static inline __attribute__((always_inline)) void *rf_malloc_glibc(struct rf_heap_counters *b,
								   size_t n)
{
	uint32_t gid;
	void *base, *p;

	rf_heap_hold();
	base = rf_alloc.malloc(rf_heap_hdr_request(n));
	rf_heap_release();
	if (__builtin_expect(rf_heap_tls.deferred != NULL || base == NULL, 0))
		return rf_malloc_finish(base, n);
	gid = rf_heap_tls.gid;
	if (b == NULL) {
		b = rf_heap_tls.counters;
		if (__builtin_expect(!rf_heap_counters_ok(b), 0))
			return rf_malloc_count_slow(rf_heap_hdr_init(base, RF_HEAP_HDR, n, gid, 0),
						    n, gid);
	}
	p = rf_heap_hdr_init(base, RF_HEAP_HDR, n, gid, b->cache.owned);
	if (rf_heap_count_alloc(b, n, gid))
		return rf_malloc_flush(b, p);
	return p;
}

/* malloc past the thread cache: the allocator below, header, counts. */
static __attribute__((noinline)) void *rf_malloc_below(size_t n)
{
	/* state 0: ACCOUNT mode and the guard free (rf_heap.h, RF_HEAP_SLOW). */
	if (__builtin_expect(rf_heap_tls.state != 0 || n > RF_HEAP_SIZE_MAX, 0))
		return rf_malloc_slow(n);
	return rf_malloc_glibc(NULL, n);
}

/*
 * rf_malloc_below after a miss in the thread cache, whose checks malloc
 * made already (state 0, n cached, b usable): the first allocations of a
 * thread's messages in flight all come this way.
 */
static __attribute__((noinline)) void *rf_malloc_missed(struct rf_heap_counters *b, size_t n)
{
	return rf_malloc_glibc(b, n);
}

static __attribute__((noinline)) void *rf_malloc_drained(void *p)
{
	rf_alloc_drain();
	return p;
}

/*
 * A block the thread cache gave, handed out for n bytes. Its check still
 * holds: the same address, and the offset it had.
 */
static inline __attribute__((always_inline)) void *rf_malloc_cached(struct rf_heap_counters *b,
								    struct rf_heap_hdr *h, size_t n)
{
	uint32_t gid = rf_heap_tls.gid;

	h->word = (uint64_t)n | b->cache.owned | (uint64_t)gid << 48;
	h->offset = RF_HEAP_HDR;
	if (rf_heap_count_alloc(b, n, gid))
		return rf_malloc_flush(b, h + 1);
	if (__builtin_expect(rf_heap_tls.deferred != NULL, 0))
		return rf_malloc_drained(h + 1);
	return h + 1;
}

/*
 * malloc after a miss in the thread cache, other threads having sent blocks
 * of this thread's back (rf_heap_block.h, the return path): take them and
 * look once more, before the allocator below.
 */
static __attribute__((noinline)) void *rf_malloc_adopt(struct rf_heap_counters *b, size_t n)
{
	struct rf_heap_hdr *h = NULL;

	rf_heap_hold();
	if (rf_heap_cache_adopt(&b->cache))
		h = rf_heap_cache_pop(&b->cache, rf_heap_cache_class(n));
	rf_heap_release();
	if (h == NULL) {
		if (rf_heap_tls.deferred != NULL)
			rf_alloc_drain();
		return rf_malloc_missed(b, n);
	}
	return rf_malloc_cached(b, h, n);
}

RF_EXPORT void *malloc(size_t n)
{
	struct rf_heap_counters *b = rf_heap_tls.counters;
	struct rf_heap_hdr *h;
	unsigned c;

	/* The thread cache first: no call on a hit. state 0 as in rf_malloc_below. */
	if (__builtin_expect(rf_heap_tls.state != 0 || n > RF_HEAP_CACHE_MAX, 0) ||
	    __builtin_expect(!rf_heap_counters_ok(b), 0))
		return rf_malloc_below(n);
	c = rf_heap_cache_class(n);
	rf_heap_hold();
	h = rf_heap_cache_pop(&b->cache, c);
	rf_heap_release();
	if (__builtin_expect(h == NULL, 0))
		return rf_heap_cache_sent(&b->cache) ? rf_malloc_adopt(b, n)
						     : rf_malloc_missed(b, n);
	return rf_malloc_cached(b, h, n);
}

RF_EXPORT void *calloc(size_t count, size_t size)
{
	size_t n;

	if (__builtin_mul_overflow(count, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	switch (rf_alloc_mode() == RF_ALLOC_ACCOUNT ? RF_ALLOC_ACCOUNT : rf_alloc_resolve()) {
	case RF_ALLOC_ACCOUNT:
		return rf_alloc_block(n, 0, 1);
	case RF_ALLOC_PASS:
		return rf_alloc.calloc(count, size);
	default:
		return rf_alloc_boot(n, 16); /* the arena is zeroes, never reused */
	}
}

static __attribute__((noinline)) void rf_free_slow(void *p)
{
	if (rf_budget_owns(p)) {
		int saved = errno;
		rf_budget_free(p);
		errno = saved;
		return;
	}
	if (p == NULL || rf_heap_boot_owns(p))
		return; /* the arena's blocks are never reused */
	switch (rf_alloc_resolve()) {
	case RF_ALLOC_ACCOUNT:
		rf_alloc_release(p);
		return;
	case RF_ALLOC_PASS:
		rf_alloc.free(p);
		return;
	default:
		return; /* freed while this thread resolves: leaked rather than recurse */
	}
}

RF_EXPORT void free(void *p)
{
	struct rf_heap_hdr *h;

	/* glibc frees NULL often (17 times per pthread_create): nothing to do. */
	if (p == NULL)
		return;
	/* Arena payloads first (the budget's one load and compare: librdkafka
	 * frees one per copied message), then ours (state 0: ACCOUNT mode, guard
	 * free). The bootstrap arena's blocks never
	 * pass for ours (rf_heap_boot_alloc leaves a zero offset before each):
	 * they are told apart on the way out. */
	if (rf_budget_owns(p)) {
		rf_budget_free(p); /* keeps errno: atomics, and a mutex at most */
		return;
	}
	if (__builtin_expect(rf_heap_tls.state != 0, 0)) {
		rf_free_slow(p);
		return;
	}
	h = rf_heap_hdr_plain(p);
	if (__builtin_expect(h == NULL, 0)) {
		/* Aligned or mapped blocks of ours, the arena's, or not ours at all. */
		rf_free_slow(p);
		return;
	}
	rf_alloc_free_fast(p, h);
}

/* ---- realloc ------------------------------------------------------------------- */

/* Move p to a new counted block of n bytes, old bytes readable in p. */
static void *rf_alloc_move(void *p, size_t old, size_t n, int ours)
{
	void *q = rf_alloc_block(n, 0, 0);

	if (q == NULL)
		return NULL; /* p stays valid, as realloc promises */
	memcpy(q, p, old < n ? old : n);
	if (ours) {
		rf_alloc_release(p);
	} else {
		rf_heap_note_foreign();
		if (rf_heap_enter()) {
			rf_alloc.free(p);
			rf_alloc_leave();
		}
	}
	return q;
}

static void *rf_alloc_resize(void *p, size_t n)
{
	struct rf_heap_hdr *h;
	size_t old;
	uint32_t old_gid;
	void *base, *q;

	if (p == NULL)
		return rf_alloc_block(n, 0, 0);
	if (rf_heap_boot_owns(p)) {
		q = rf_alloc_block(n, 0, 0);
		if (q != NULL)
			memcpy(q, p, rf_heap_boot_size(p) < n ? rf_heap_boot_size(p) : n);
		return q;
	}
	h = rf_alloc_hdr_of(p);
	if (h == NULL && rf_alloc_freed_before(p))
		rf_alloc_double_free("realloc", p);
	if (h == NULL) {
		/* Not ours: the block becomes a counted one (copied), or is freed. */
		if (n == 0) {
			rf_alloc_release(p);
			return NULL;
		}
		return rf_alloc_move(p, rf_alloc.usable(p), n, 0);
	}
	if (n == 0) {
		rf_alloc_release(p); /* glibc's realloc(p, 0): free, return NULL */
		return NULL;
	}
	old = rf_heap_hdr_size(h);
	if (n > RF_HEAP_SIZE_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	/* An aligned or mapped block keeps no alignment through realloc, and inside
	 * the allocator below it must not be called again: move the block. So
	 * does a block shrunk to the thread cache's sizes (a copy of at most
	 * 1 KiB): shrunk in place, a chunk glibc mapped would stay a page or
	 * more, then kept by the cache as a block of its new size. */
	if (h->offset != RF_HEAP_HDR || (n <= RF_HEAP_CACHE_MAX && old > RF_HEAP_CACHE_MAX) ||
	    !rf_heap_enter())
		return rf_alloc_move(p, old, n, 1);
	old_gid = rf_heap_hdr_gid(h);
	base = rf_alloc.realloc(rf_heap_hdr_base(h), rf_heap_hdr_request(n));
	rf_alloc_leave();
	if (base == NULL)
		return NULL; /* p stays valid, its header too */
	/* Counted as the old block freed and the new one allocated (docs/heap.md). */
	rf_heap_note_free(old, old_gid);
	return rf_alloc_account(base, RF_HEAP_HDR, n);
}

RF_EXPORT void *realloc(void *p, size_t size)
{
	if (rf_budget_owns(p)) {
		size_t old = rf_budget_payload_size(p);
		void *q = malloc(size);

		if (q == NULL)
			return NULL; /* p stays valid, as realloc promises */
		memcpy(q, p, old < size ? old : size);
		free(p);
		return q;
	}
	switch (rf_alloc_mode() == RF_ALLOC_ACCOUNT ? RF_ALLOC_ACCOUNT : rf_alloc_resolve()) {
	case RF_ALLOC_ACCOUNT:
		return rf_alloc_resize(p, size);
	case RF_ALLOC_PASS:
		return rf_alloc.realloc(p, size);
	default:
		if (p == NULL || rf_heap_boot_owns(p)) {
			void *q = rf_alloc_boot(size, 16);
			if (q != NULL && p != NULL)
				memcpy(q, p,
				       rf_heap_boot_size(p) < size ? rf_heap_boot_size(p) : size);
			return q;
		}
		errno = ENOMEM;
		return NULL;
	}
}

RF_EXPORT void *reallocarray(void *p, size_t count, size_t size)
{
	size_t n;

	if (rf_alloc_mode() != RF_ALLOC_ACCOUNT && rf_alloc_resolve() == RF_ALLOC_PASS)
		return rf_alloc.reallocarray(p, count, size);
	if (__builtin_mul_overflow(count, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, n);
}

/* ---- the memalign family ------------------------------------------------------ */

/* glibc's rule for memalign and aligned_alloc: a non-power of two rounds up. */
static void *rf_alloc_memalign(size_t align, size_t n)
{
	if (align > SIZE_MAX / 2 + 1) {
		errno = EINVAL;
		return NULL;
	}
	if (align & (align - 1)) {
		size_t a = 32;
		while (a < align)
			a <<= 1;
		align = a;
	}
	switch (rf_alloc_mode() == RF_ALLOC_ACCOUNT ? RF_ALLOC_ACCOUNT : rf_alloc_resolve()) {
	case RF_ALLOC_ACCOUNT:
		return rf_alloc_block(n, align, 0);
	default:
		return rf_alloc_boot(n, align);
	}
}

RF_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	int saved = errno;
	void *p;

	if (align == 0 || align % sizeof(void *) != 0 || (align & (align - 1)) != 0)
		return EINVAL;
	switch (rf_alloc_mode() == RF_ALLOC_ACCOUNT ? RF_ALLOC_ACCOUNT : rf_alloc_resolve()) {
	case RF_ALLOC_ACCOUNT:
		p = rf_alloc_block(n, align, 0);
		break;
	case RF_ALLOC_PASS:
		return rf_alloc.posix_memalign(out, align, n);
	default:
		p = rf_heap_boot_alloc(n, align);
		break;
	}
	errno = saved; /* posix_memalign reports through its result only */
	if (p == NULL)
		return ENOMEM;
	*out = p;
	return 0;
}

RF_EXPORT void *memalign(size_t align, size_t n)
{
	if (rf_alloc_mode() != RF_ALLOC_ACCOUNT && rf_alloc_resolve() == RF_ALLOC_PASS)
		return rf_alloc.memalign(align, n);
	return rf_alloc_memalign(align, n);
}

RF_EXPORT void *aligned_alloc(size_t align, size_t n)
{
	if (rf_alloc_mode() != RF_ALLOC_ACCOUNT && rf_alloc_resolve() == RF_ALLOC_PASS)
		return rf_alloc.aligned_alloc(align, n);
	return rf_alloc_memalign(align, n);
}

RF_EXPORT void *valloc(size_t n)
{
	if (rf_alloc_mode() != RF_ALLOC_ACCOUNT && rf_alloc_resolve() == RF_ALLOC_PASS)
		return rf_alloc.valloc(n);
	return rf_alloc_memalign(rf_alloc.page ? rf_alloc.page : 4096, n);
}

RF_EXPORT void *pvalloc(size_t n)
{
	size_t page, rounded;

	if (rf_alloc_mode() != RF_ALLOC_ACCOUNT && rf_alloc_resolve() == RF_ALLOC_PASS)
		return rf_alloc.pvalloc(n);
	page = rf_alloc.page ? rf_alloc.page : 4096;
	if (__builtin_add_overflow(n, page - 1, &rounded)) {
		errno = ENOMEM;
		return NULL;
	}
	rounded &= ~(page - 1);
	return rf_alloc_memalign(page, rounded ? rounded : page);
}

/* ---- malloc_usable_size -------------------------------------------------------- */

RF_EXPORT size_t malloc_usable_size(void *p)
{
	if (rf_budget_owns(p))
		return rf_budget_payload_size(p);
	if (p == NULL)
		return 0;
	if (rf_heap_boot_owns(p))
		return rf_heap_boot_size(p);
	switch (rf_alloc_mode() == RF_ALLOC_ACCOUNT ? RF_ALLOC_ACCOUNT : rf_alloc_resolve()) {
	case RF_ALLOC_ACCOUNT:
		return rf_alloc_usable(p);
	case RF_ALLOC_PASS:
		return rf_alloc.usable(p);
	default:
		return 0;
	}
}

/* ---- which definitions are in effect ----------------------------------------- */

/* The shim's own definitions, by a local name: &malloc itself would go through the GOT. */
#define RF_SELF(name, local)                                                                       \
	extern __typeof__(name) local                                                              \
		__attribute__((alias(#name), copy(name), visibility("hidden")))
RF_SELF(malloc, rf_self_malloc);
RF_SELF(free, rf_self_free);
RF_SELF(calloc, rf_self_calloc);
RF_SELF(realloc, rf_self_realloc);
RF_SELF(malloc_usable_size, rf_self_usable);

static int rf_alloc_first(void)
{
	return rf_real_is_first("malloc", (rf_real_fn)rf_self_malloc) &&
	       rf_real_is_first("free", (rf_real_fn)rf_self_free) &&
	       rf_real_is_first("calloc", (rf_real_fn)rf_self_calloc) &&
	       rf_real_is_first("realloc", (rf_real_fn)rf_self_realloc) &&
	       rf_real_is_first("malloc_usable_size", (rf_real_fn)rf_self_usable);
}
