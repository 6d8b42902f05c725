/*
 * rf_pool.c - fixed-size records over mmap, with a free list.
 */
#include "rf_pool.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

int rf_pool_init(struct rf_pool *pool, size_t size, size_t per_chunk, size_t max_records)
{
	if (size == 0 || per_chunk == 0 || max_records == 0)
		return -EINVAL;
	memset(pool, 0, sizeof(*pool));
	pool->size = (size + 15) & ~(size_t)15;
	pool->per_chunk = per_chunk;
	pool->max_chunks = (max_records + per_chunk - 1) / per_chunk;
	if (pool->max_chunks > RF_POOL_CHUNKS_MAX)
		pool->max_chunks = RF_POOL_CHUNKS_MAX;
	return 0;
}

void *rf_pool_map(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void rf_pool_unmap(void *ptr, size_t size)
{
	if (ptr != NULL)
		munmap(ptr, size);
}

void *rf_pool_alloc(struct rf_pool *pool)
{
	void *rec;

	if (pool->free_list != NULL) {
		rec = pool->free_list;
		memcpy(&pool->free_list, rec, sizeof(void *));
	} else {
		if (pool->fresh == 0) {
			void *chunk;

			if (pool->chunks >= pool->max_chunks)
				return NULL;
			chunk = rf_pool_map(pool->size * pool->per_chunk);
			if (chunk == NULL)
				return NULL;
			pool->chunk[pool->chunks++] = chunk;
			pool->mapped_bytes += pool->size * pool->per_chunk;
			pool->fresh = pool->per_chunk;
		}
		rec = (char *)pool->chunk[pool->chunks - 1] +
		      (pool->per_chunk - pool->fresh) * pool->size;
		pool->fresh--;
	}
	memset(rec, 0, pool->size);
	pool->in_use++;
	return rec;
}

void rf_pool_free(struct rf_pool *pool, void *rec)
{
	if (rec == NULL)
		return;
	/* No poisoning: rf_pool_alloc zeroes the record for its next user, and
	 * the owner clears what a stale reader checks (thread creation pays). */
	memcpy(rec, &pool->free_list, sizeof(void *));
	pool->free_list = rec;
	pool->in_use--;
}

void rf_pool_reset(struct rf_pool *pool)
{
	pool->free_list = NULL;
	pool->in_use = 0;
	/* Every record of every chunk becomes free again. */
	for (size_t c = 0; c < pool->chunks; c++)
		for (size_t i = 0; i < pool->per_chunk; i++) {
			if (c == pool->chunks - 1 && i >= pool->per_chunk - pool->fresh)
				break;
			void *rec = (char *)pool->chunk[c] + i * pool->size;
			memcpy(rec, &pool->free_list, sizeof(void *));
			pool->free_list = rec;
		}
}

void rf_pool_release(struct rf_pool *pool)
{
	for (size_t c = 0; c < pool->chunks; c++)
		munmap(pool->chunk[c], pool->size * pool->per_chunk);
	pool->chunks = 0;
	pool->fresh = 0;
	pool->free_list = NULL;
	pool->in_use = 0;
	pool->mapped_bytes = 0;
}
