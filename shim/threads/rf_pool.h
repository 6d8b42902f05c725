/*
 * rf_pool.h - fixed-size records over mmap, with a free list.
 *
 * The thread registry must not call malloc (the shim interposes it), so
 * its records come from here: chunks mapped with mmap on demand, up to a
 * fixed number of records, and records returned to a free list for reuse, so
 * a process that creates and joins threads forever maps no more than its
 * high-water mark. Not thread-safe: the caller serialises.
 */
#ifndef RF_POOL_H
#define RF_POOL_H

#include <stddef.h>
#include <stdint.h>

#define RF_POOL_CHUNKS_MAX 256

struct rf_pool {
	size_t size;      /* bytes per record, rounded up to 16 */
	size_t per_chunk; /* records per chunk */
	size_t max_chunks;
	size_t chunks; /* mapped so far */
	void *chunk[RF_POOL_CHUNKS_MAX];
	size_t fresh; /* records of the last chunk never handed out */
	void *free_list;
	size_t in_use;
	size_t mapped_bytes;
};

/*
 * Describe a pool of records of `size` bytes, `per_chunk` to a mapping, at
 * most `max_records` in use (rounded up to whole chunks, at most
 * RF_POOL_CHUNKS_MAX chunks). Maps nothing yet. 0 or -EINVAL.
 */
int rf_pool_init(struct rf_pool *pool, size_t size, size_t per_chunk, size_t max_records);

/* A zeroed record, or NULL when the pool is full or mmap failed. */
void *rf_pool_alloc(struct rf_pool *pool);

/* Give a record back (NULL is ignored). */
void rf_pool_free(struct rf_pool *pool, void *rec);

/* Forget every record and the free list, keeping the mappings for reuse. */
void rf_pool_reset(struct rf_pool *pool);

/* Unmap everything; the pool can be used again afterwards (empty). */
void rf_pool_release(struct rf_pool *pool);

/* Map `size` bytes of zeroes for a variable-size block (hash buckets); NULL on failure. */
void *rf_pool_map(size_t size);

/* Unmap a block from rf_pool_map. */
void rf_pool_unmap(void *ptr, size_t size);

#endif /* RF_POOL_H */
