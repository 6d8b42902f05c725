/*
 * rf_ring.c - the pooled ring buffer that holds copied payloads.
 */
#include "rf_ring.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

enum rf_ring_chunk_kind {
	RF_CHUNK_FREE = 0,   /* in the pool */
	RF_CHUNK_OPEN = 1,   /* records are being carved from it */
	RF_CHUNK_CLOSED = 2, /* full: back to the pool when live drops to 0 */
	RF_CHUNK_SPAN = 3,   /* first chunk of a multi-chunk record */
	RF_CHUNK_SPANNED = 4, /* later chunk of such a span */
};

#define RF_RING_CHUNK_MIN ((size_t)4 * 1024)
#define RF_RING_CHUNK_MAX ((size_t)1024 * 1024)
#define RF_RING_CHUNKS_TARGET 1024

size_t rf_ring_chunk_size(size_t size)
{
	size_t chunk = RF_RING_CHUNK_MIN;

	/* About 1024 chunks: fine enough that pinning wastes little, few enough to scan. */
	while (chunk < RF_RING_CHUNK_MAX && size / (chunk * 2) >= RF_RING_CHUNKS_TARGET)
		chunk *= 2;
	return chunk;
}

size_t rf_ring_arena_size(size_t size)
{
	size_t chunk = rf_ring_chunk_size(size);

	return (size + chunk - 1) / chunk * chunk;
}

size_t rf_ring_record_size(size_t len)
{
	return (sizeof(struct rf_ring_record) + len + RF_RING_ALIGN - 1) & ~(size_t)(RF_RING_ALIGN - 1);
}

static void *rf_ring_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int rf_ring_init(struct rf_ring *ring, size_t size)
{
	size_t chunk = rf_ring_chunk_size(size);
	size_t arena = rf_ring_arena_size(size);
	size_t nchunks = arena / chunk;
	size_t table = nchunks * (sizeof(uint8_t) + 2 * sizeof(uint32_t));
	unsigned char *meta;

	memset(ring, 0, sizeof(*ring));
	if (size == 0 || nchunks > UINT32_MAX - 1)
		return -EINVAL;
	ring->base = rf_ring_map(arena);
	meta = rf_ring_map(table);
	if (ring->base == NULL || meta == NULL) {
		int err = -errno;
		if (ring->base != NULL)
			munmap(ring->base, arena);
		if (meta != NULL)
			munmap(meta, table);
		memset(ring, 0, sizeof(*ring));
		return err;
	}
	ring->size = arena;
	ring->chunk = chunk;
	while (((size_t)1 << ring->chunk_shift) < chunk)
		ring->chunk_shift++;
	ring->nchunks = (uint32_t)nchunks;
	ring->live = (uint32_t *)meta;
	ring->span = ring->live + nchunks;
	ring->kind = (uint8_t *)(ring->span + nchunks);
	ring->open = RF_RING_NONE;
	ring->free_chunks = ring->nchunks;
	return 0;
}

void rf_ring_destroy(struct rf_ring *ring)
{
	if (ring->base != NULL) {
		munmap(ring->base, ring->size);
		munmap(ring->live, (size_t)ring->nchunks * (sizeof(uint8_t) + 2 * sizeof(uint32_t)));
	}
	memset(ring, 0, sizeof(*ring));
}

/*
 * First run of n free chunks at or after the cursor, in ring order (a span
 * cannot wrap past the end of the arena). RF_RING_NONE when there is none.
 */
static uint32_t rf_ring_find_free(struct rf_ring *ring, uint32_t n)
{
	uint32_t start = ring->cursor < ring->nchunks ? ring->cursor : 0;

	if (ring->free_chunks < n)
		return RF_RING_NONE;
	for (uint32_t scanned = 0, i = start; scanned < ring->nchunks;) {
		uint32_t run = 0;

		if (i + n > ring->nchunks) { /* no room before the end: wrap */
			scanned += ring->nchunks - i;
			i = 0;
			continue;
		}
		while (run < n && ring->kind[i + run] == RF_CHUNK_FREE)
			run++;
		if (run == n)
			return i;
		scanned += run + 1;
		i += run + 1;
		if (i >= ring->nchunks)
			i = 0;
	}
	return RF_RING_NONE;
}

/* A chunk whose last record is gone goes back to the pool; the open one rewinds. */
static void rf_ring_chunk_drained(struct rf_ring *ring, uint32_t c)
{
	if (ring->kind[c] == RF_CHUNK_OPEN) {
		ring->open_used = 0;
	} else if (ring->kind[c] == RF_CHUNK_CLOSED) {
		ring->kind[c] = RF_CHUNK_FREE;
		ring->free_chunks++;
	}
}

static void rf_ring_close_open(struct rf_ring *ring)
{
	uint32_t c = ring->open;

	if (c == RF_RING_NONE)
		return;
	ring->open = RF_RING_NONE;
	ring->kind[c] = RF_CHUNK_CLOSED;
	if (ring->live[c] == 0)
		rf_ring_chunk_drained(ring, c);
}

static void *rf_ring_carve(struct rf_ring *ring, uint32_t c, size_t offset, size_t rs, size_t len)
{
	struct rf_ring_record *rec = (void *)(ring->base + ((size_t)c << ring->chunk_shift) + offset);

	rec->len = (uint32_t)len;
	rec->state = 0;
	rec->tag = 0;
	ring->live[c]++;
	ring->bytes += rs;
	ring->records++;
	return rec + 1;
}

void *rf_ring_reserve(struct rf_ring *ring, size_t len)
{
	size_t rs = rf_ring_record_size(len);
	uint32_t c, n;

	if (ring->base == NULL || len > UINT32_MAX || rs > ring->size)
		return NULL;
	if (rs <= ring->chunk) {
		if (ring->open != RF_RING_NONE && ring->open_used + rs <= ring->chunk) {
			void *p = rf_ring_carve(ring, ring->open, ring->open_used, rs, len);
			ring->open_used += rs;
			return p;
		}
		c = rf_ring_find_free(ring, 1);
		if (c == RF_RING_NONE)
			return NULL; /* keep the open chunk: its tail may still serve smaller records */
		rf_ring_close_open(ring);
		ring->kind[c] = RF_CHUNK_OPEN;
		ring->free_chunks--;
		ring->open = c;
		ring->open_used = rs;
		ring->cursor = c + 1;
		return rf_ring_carve(ring, c, 0, rs, len);
	}
	n = (uint32_t)((rs + ring->chunk - 1) >> ring->chunk_shift);
	if (ring->open != RF_RING_NONE && ring->live[ring->open] == 0) {
		/* An empty open chunk must not stand in a span's way. */
		ring->kind[ring->open] = RF_CHUNK_FREE;
		ring->free_chunks++;
		ring->open = RF_RING_NONE;
		ring->open_used = 0;
	}
	c = rf_ring_find_free(ring, n);
	if (c == RF_RING_NONE)
		return NULL;
	ring->kind[c] = RF_CHUNK_SPAN;
	ring->span[c] = n;
	for (uint32_t i = 1; i < n; i++)
		ring->kind[c + i] = RF_CHUNK_SPANNED;
	ring->free_chunks -= n;
	ring->cursor = c + n;
	return rf_ring_carve(ring, c, 0, rs, len);
}

void rf_ring_release(struct rf_ring *ring, void *payload)
{
	struct rf_ring_record *rec = rf_ring_record_of(payload);
	uint32_t c = (uint32_t)(((unsigned char *)rec - ring->base) >> ring->chunk_shift);

	ring->bytes -= rf_ring_record_size(rec->len);
	ring->records--;
	if (--ring->live[c] != 0)
		return;
	if (ring->kind[c] == RF_CHUNK_SPAN) {
		uint32_t n = ring->span[c];
		for (uint32_t i = 0; i < n; i++)
			ring->kind[c + i] = RF_CHUNK_FREE;
		ring->span[c] = 0;
		ring->free_chunks += n;
		return;
	}
	rf_ring_chunk_drained(ring, c);
}

int rf_ring_check(const struct rf_ring *ring)
{
	uint32_t free_chunks = 0, open = 0;
	uint64_t records = 0;

	for (uint32_t c = 0; c < ring->nchunks; c++) {
		switch (ring->kind[c]) {
		case RF_CHUNK_FREE:
			free_chunks++;
			if (ring->live[c] != 0) {
				printf("# chunk %u is free with %u live records\n", c, ring->live[c]);
				return -EINVAL;
			}
			break;
		case RF_CHUNK_OPEN:
			open++;
			if (c != ring->open) {
				printf("# chunk %u is open but the ring's open chunk is %u\n", c, ring->open);
				return -EINVAL;
			}
			break;
		case RF_CHUNK_CLOSED:
			if (ring->live[c] == 0) {
				printf("# chunk %u is closed and empty, not back in the pool\n", c);
				return -EINVAL;
			}
			break;
		case RF_CHUNK_SPAN:
			if (ring->live[c] != 1 || ring->span[c] < 2 || c + ring->span[c] > ring->nchunks) {
				printf("# span at chunk %u: live %u, span %u\n", c, ring->live[c], ring->span[c]);
				return -EINVAL;
			}
			for (uint32_t i = 1; i < ring->span[c]; i++)
				if (ring->kind[c + i] != RF_CHUNK_SPANNED) {
					printf("# span at chunk %u: chunk %u is not spanned\n", c, c + i);
					return -EINVAL;
				}
			break;
		case RF_CHUNK_SPANNED:
			break;
		default:
			printf("# chunk %u has kind %u\n", c, ring->kind[c]);
			return -EINVAL;
		}
		records += ring->live[c];
	}
	if (free_chunks != ring->free_chunks || open > 1 || records != ring->records ||
	    ring->bytes > ring->size) {
		printf("# free %u/%u open %u records %llu/%zu bytes %zu\n", free_chunks,
		       ring->free_chunks, open, (unsigned long long)records, ring->records, ring->bytes);
		return -EINVAL;
	}
	return 0;
}
