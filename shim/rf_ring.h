/*
 * rf_ring.h - the pooled ring buffer that holds copied payloads.
 *
 * One arena, cut into equal chunks (a power of two). Records are carved by
 * bumping a pointer through the "open" chunk; when it is full the next free
 * chunk after it, in ring order, is opened. A chunk goes back to the pool as
 * soon as its last record is released, whatever its age, so records
 * released out of order (partitions, brokers and retries complete
 * independently) give space back without waiting for the oldest one. A
 * record larger than a chunk takes a span of contiguous free chunks.
 *
 * Fragmentation bound. Space is lost in three ways only:
 *   - alignment: at most 15 bytes per record, plus its 16-byte header;
 *   - the tail of a chunk closed because the next record did not fit:
 *     less than that record's size, and less than one chunk;
 *   - chunks pinned by a live record: a chunk returns to the pool only when
 *     all of its records are released, so in the worst case (one long-lived
 *     small record per chunk) the ring holds one record per chunk.
 * Hence at any time: arena bytes not reusable <= chunk size x (chunks with
 * at least one live record) - live bytes. With records released roughly in
 * the order they were made, that is at most two chunks (the open one and
 * the one draining). And liveness: once every record is released, the whole
 * arena is free again, so any record up to the arena size fits.
 *
 * Not thread-safe: the caller (rf_budget) serialises every call except
 * rf_ring_contains, which reads only what rf_ring_init wrote.
 */
#ifndef RF_RING_H
#define RF_RING_H

#include <stddef.h>
#include <stdint.h>

/* Header before every payload; payloads are 16-byte aligned. */
struct rf_ring_record {
	uint32_t len;    /* payload bytes */
	uint32_t state;  /* owned by rf_budget: who may release the record */
	uint64_t tag;    /* owned by rf_budget: what to credit on release */
};

#define RF_RING_ALIGN 16
#define RF_RING_NONE UINT32_MAX

struct rf_ring {
	unsigned char *base;
	size_t size;        /* arena bytes, a multiple of chunk */
	size_t chunk;       /* bytes per chunk, a power of two */
	unsigned chunk_shift;
	uint32_t nchunks;
	uint8_t *kind;      /* per chunk: enum rf_ring_chunk_kind */
	uint32_t *live;     /* per chunk: live records starting in it */
	uint32_t *span;     /* per span start: chunks in the span */
	uint32_t open;      /* the chunk records are carved from, or RF_RING_NONE */
	size_t open_used;   /* bytes carved from the open chunk */
	uint32_t cursor;    /* where the search for a free chunk starts */
	uint32_t free_chunks;
	size_t bytes;       /* bytes of live records, headers and padding included */
	size_t records;     /* live records */
};

/*
 * The chunk size rf_ring_init picks for an arena of size bytes: a power of
 * two from 4 KiB to 1 MiB giving about 1024 chunks (64 KiB for 64 MiB).
 */
size_t rf_ring_chunk_size(size_t size);

/* size rounded up to a whole number of chunks. */
size_t rf_ring_arena_size(size_t size);

/*
 * Map an arena of rf_ring_arena_size(size) bytes and its chunk table with
 * mmap (no malloc: the shim interposes it). Pages are touched only when
 * records are written. 0 or a negative errno.
 */
int rf_ring_init(struct rf_ring *ring, size_t size);

/* Unmap; for tests. */
void rf_ring_destroy(struct rf_ring *ring);

/* Arena bytes a record of len payload bytes takes, header and padding included. */
size_t rf_ring_record_size(size_t len);

/*
 * Carve a record for len payload bytes; its state and tag are zero.
 * Returns the payload (16-byte aligned) or NULL when no space is free now
 * (or len exceeds the arena).
 */
void *rf_ring_reserve(struct rf_ring *ring, size_t len);

/* The header of a payload returned by rf_ring_reserve. */
static inline struct rf_ring_record *rf_ring_record_of(void *payload)
{
	return (struct rf_ring_record *)payload - 1;
}

/* Give a record's space back: O(1) unless a whole span is freed. */
void rf_ring_release(struct rf_ring *ring, void *payload);

/* Whether p points into the arena: two loads and a compare, lock-free. */
static inline int rf_ring_contains(const struct rf_ring *ring, const void *p)
{
	return (uintptr_t)p - (uintptr_t)ring->base < ring->size;
}

/* Check every invariant (tests): 0, or -EINVAL after printing what broke. */
int rf_ring_check(const struct rf_ring *ring);

#endif /* RF_RING_H */
