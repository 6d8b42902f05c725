/*
 * rf_arena.h - the arena that holds copied payloads: one mapping cut into
 * equal chunks, carved by per-thread bump cursors, free chunks pooled.
 *
 * The chunks are a power of two in size. Records are carved by bumping a
 * pointer through an "open" chunk; when it is full another free chunk is
 * opened: the last one freed, or the next one in address order (wrapping
 * round). A chunk goes back to the pool as
 * soon as its last record is released, whatever its age, so records
 * released out of order (partitions, brokers and retries complete
 * independently) give space back without waiting for the oldest one. A
 * record larger than a chunk takes a span of contiguous free chunks.
 *
 * Fragmentation bound. Space is lost in four ways only:
 *   - alignment: at most 15 bytes per record, plus its 16-byte header;
 *   - the tail of a chunk closed because the next record did not fit:
 *     less than that record's size, and less than one chunk;
 *   - chunks pinned by a live record: a chunk returns to the pool only when
 *     all of its records are released, so in the worst case (one long-lived
 *     small record per chunk) the arena holds one record per chunk.
 *   - open chunks: each producing thread holds one chunk open.
 * Hence at any time: arena bytes not reusable <= chunk size x (chunks with
 * at least one live record + producing threads) - live bytes. With records
 * released roughly in the order they were made, that is a few chunks per
 * producing thread (the open one and those draining). And liveness: once
 * every record is released and the cursors closed, the whole arena is free
 * again, so any record up to the arena size fits.
 *
 * Concurrency. Each producing thread carves from an open chunk of its own
 * (struct rf_arena_cursor, kept by the caller in thread-local storage): no
 * lock and no shared write per record. A chunk is opened with a live count
 * of RF_ARENA_OPEN_BIAS, which the owner pays back when it closes the chunk
 * (less what it carved); each release takes one off. So the count never
 * reaches zero while the chunk is open, carving needs no atomic, and whoever
 * drops it to zero (the last release, or the owner closing a drained chunk)
 * alone returns the chunk to the pool. The pool itself, refills and spans are under a lock the caller provides around
 * rf_arena_refill and rf_arena_reclaim. Free chunks are reused last-freed
 * first, so the pages in use stay few and already faulted in.
 */
#ifndef RF_ARENA_H
#define RF_ARENA_H

#include <stddef.h>
#include <stdint.h>

/* Header before every payload; payloads are 16-byte aligned. */
struct rf_arena_record {
	uint32_t len;   /* payload bytes */
	uint32_t state; /* owned by rf_budget: who may release the record (atomic) */
	uint64_t tag;   /* owned by rf_budget: what to credit on release */
};

#define RF_ARENA_ALIGN 16
#define RF_ARENA_NONE UINT32_MAX

/* A thread's open chunk: only its thread reads or writes it. */
struct rf_arena_cursor {
	uint32_t chunk;  /* RF_ARENA_NONE when the thread holds none */
	uint32_t used;   /* bytes carved from it */
	uint32_t carved; /* records carved from it since it was opened or rewound */
};

#define RF_ARENA_CURSOR_INIT                                                                       \
	{                                                                                          \
		RF_ARENA_NONE, 0, 0                                                                \
	}

/* Above any record count a chunk can hold (a record takes at least 16 bytes). */
#define RF_ARENA_OPEN_BIAS (UINT32_C(1) << 30)

struct rf_arena {
	unsigned char *base;
	size_t size;  /* arena bytes, a multiple of chunk */
	size_t chunk; /* bytes per chunk, a power of two */
	unsigned chunk_shift;
	uint32_t nchunks;
	uint8_t *kind;      /* per chunk: enum rf_arena_chunk_kind (under the lock) */
	uint32_t *live;     /* per chunk (rf_arena_live): live records, + BIAS - carved while
			     * open (atomic) */
	uint32_t *span;     /* per span start: chunks in the span (under the lock) */
	uint32_t *pool;     /* stack of free chunks, last freed on top (under the lock) */
	uint32_t *freed_ms; /* per chunk: when it last joined the pool (under the lock) */
	uint32_t pooled;    /* entries on the stack */
	uint32_t cursor;    /* where the scan for unpooled free chunks resumes */
	uint32_t free_chunks;
};

/*
 * A chunk's live count, alone in its cache line: the threads that release
 * records of different chunks (each producer carves its own) do not share
 * one line for them.
 */
#define RF_ARENA_LIVE_STRIDE 16 /* counts of 4 bytes a line of 64 */

static inline uint32_t *rf_arena_live(const struct rf_arena *arena, uint32_t c)
{
	return &arena->live[(size_t)c * RF_ARENA_LIVE_STRIDE];
}

/*
 * The chunk size rf_arena_init picks for an arena of size bytes: a power of
 * two from 4 KiB to 4 MiB giving about 256 chunks (256 KiB for 64 MiB).
 */
size_t rf_arena_chunk_size(size_t size);

/* size rounded up to a whole number of chunks. */
size_t rf_arena_size_round(size_t size);

/*
 * Map an arena of rf_arena_size_round(size) bytes and its chunk table with
 * mmap (no malloc: the shim interposes it). Pages are touched only when
 * records are written. 0 or a negative errno.
 */
int rf_arena_init(struct rf_arena *arena, size_t size);

/* Unmap; for tests. */
void rf_arena_destroy(struct rf_arena *arena);

/* Arena bytes a record of len payload bytes takes, header and padding included. */
static inline size_t rf_arena_record_size(size_t len)
{
	return (sizeof(struct rf_arena_record) + len + RF_ARENA_ALIGN - 1) &
	       ~(size_t)(RF_ARENA_ALIGN - 1);
}

/* Write a fresh record's header at at; its payload follows. */
static inline void *rf_arena_record_init(unsigned char *at, size_t len)
{
	struct rf_arena_record *rec = (void *)at;

	rec->len = (uint32_t)len;
	__atomic_store_n(&rec->state, 0, __ATOMIC_RELAXED);
	rec->tag = 0;
	return rec + 1;
}

/*
 * Carve a record for len payload bytes from the cursor's open chunk,
 * without a lock: inline, once per copied message. NULL when the chunk lacks
 * room (or there is none, or len needs a span): call rf_arena_refill under
 * the lock.
 */
static inline void *rf_arena_carve(struct rf_arena *arena, struct rf_arena_cursor *cur, size_t len)
{
	size_t rs = rf_arena_record_size(len);
	unsigned char *at;

	if (cur->chunk == RF_ARENA_NONE || len > UINT32_MAX || cur->used + rs > arena->chunk)
		return NULL;
	at = arena->base + ((size_t)cur->chunk << arena->chunk_shift) + cur->used;
	cur->used += (uint32_t)rs;
	cur->carved++; /* the open bias already counts it: see RF_ARENA_OPEN_BIAS */
	return rf_arena_record_init(at, len);
}

/*
 * Under the caller's lock: give the cursor a chunk with room for len bytes
 * (its own again when drained, else a free one) and carve from it, or take a
 * span of free chunks for a record larger than a chunk. NULL when no space
 * is free now (or len exceeds the arena).
 */
void *rf_arena_refill(struct rf_arena *arena, struct rf_arena_cursor *cur, size_t len);

/*
 * Under the caller's lock: the cursor's thread is done with its open chunk
 * (thread exit). The chunk goes back to the pool once drained.
 */
void rf_arena_cursor_close(struct rf_arena *arena, struct rf_arena_cursor *cur);

/* The header of a payload returned by rf_arena_carve or rf_arena_refill. */
static inline struct rf_arena_record *rf_arena_record_of(void *payload)
{
	return (struct rf_arena_record *)payload - 1;
}

/*
 * Give a record's space back, without a lock. Returns the index of a chunk
 * that the release drained (call rf_arena_reclaim on it under the lock), or
 * RF_ARENA_NONE.
 */
static inline uint32_t rf_arena_release(struct rf_arena *arena, void *payload)
{
	unsigned char *rec = (unsigned char *)rf_arena_record_of(payload);
	uint32_t c = (uint32_t)((size_t)(rec - arena->base) >> arena->chunk_shift);

	return __atomic_sub_fetch(rf_arena_live(arena, c), 1, __ATOMIC_ACQ_REL) == 0
		       ? c
		       : RF_ARENA_NONE;
}

/* Under the caller's lock: a drained chunk (or span) goes back to the pool. */
void rf_arena_reclaim(struct rf_arena *arena, uint32_t chunk);

/* Whether p points into the arena: two loads and a compare, lock-free. */
static inline int rf_arena_contains(const struct rf_arena *arena, const void *p)
{
	return (uintptr_t)p - (uintptr_t)arena->base < arena->size;
}

/* Chunks not in the pool: open, holding records, or spanned (figures). */
uint32_t rf_arena_chunks_in_use(const struct rf_arena *arena);

/*
 * Giving idle memory back. A chunk that stayed in the pool for idle_ms has
 * its pages given back to the kernel (madvise), so that resident memory
 * follows the load; a busy arena reuses its chunks long before (last freed
 * first) and never pays for it. In three steps, so that the system calls
 * run outside the caller's lock:
 *   rf_arena_idle_take  under the lock: up to max chunks free for idle_ms
 *                       and resident, the longest free first, marked so that
 *                       no refill takes them; returns how many
 *   rf_arena_idle_give  without the lock: their pages go back
 *   rf_arena_idle_done  under the lock: free again, not resident
 * A chunk given back is handed out again as any other; its pages come back
 * zeroed at their first touch.
 */
uint32_t rf_arena_idle_take(struct rf_arena *arena, uint32_t idle_ms, uint32_t *chunks,
			    uint32_t max);
void rf_arena_idle_give(struct rf_arena *arena, const uint32_t *chunks, uint32_t n);
void rf_arena_idle_done(struct rf_arena *arena, const uint32_t *chunks, uint32_t n);

/* Under the lock: bytes of the chunks handed out since their pages were last given back. */
uint64_t rf_arena_resident_bytes(const struct rf_arena *arena);

/* Check every invariant (tests, quiescent arena): 0, or -EINVAL after printing what broke. */
int rf_arena_check(const struct rf_arena *arena, const struct rf_arena_cursor *const *cursors,
		   int ncursors);

#endif /* RF_ARENA_H */
