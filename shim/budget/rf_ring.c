/*
 * rf_ring.c - the pooled ring buffer that holds copied payloads.
 */
#include "rf_ring.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

enum rf_ring_chunk_kind {
	RF_CHUNK_FREE = 0,    /* in the pool */
	RF_CHUNK_OPEN = 1,    /* a cursor carves from it */
	RF_CHUNK_CLOSED = 2,  /* no cursor: back to the pool when drained */
	RF_CHUNK_SPAN = 3,    /* first chunk of a multi-chunk record */
	RF_CHUNK_SPANNED = 4, /* later chunk of such a span */
	RF_CHUNK_KIND = 0x7f,
	RF_CHUNK_POOLED = 0x80, /* flag: on the pool stack (at most once) */
};

static unsigned rf_ring_kind(const struct rf_ring *ring, uint32_t c)
{
	return ring->kind[c] & RF_CHUNK_KIND;
}

/* Set a chunk's kind, keeping its pooled flag. */
static void rf_ring_set_kind(struct rf_ring *ring, uint32_t c, unsigned kind)
{
	ring->kind[c] = (uint8_t)((ring->kind[c] & RF_CHUNK_POOLED) | kind);
}

#define RF_RING_CHUNK_MIN ((size_t)4 * 1024)
#define RF_RING_CHUNK_MAX ((size_t)4 * 1024 * 1024)
#define RF_RING_CHUNKS_TARGET 256

size_t rf_ring_chunk_size(size_t size)
{
	size_t chunk = RF_RING_CHUNK_MIN;

	/*
	 * About 256 chunks. Larger chunks waste less at their tails (a record
	 * that does not fit closes the chunk: 8 KiB records in 16 KiB chunks
	 * would fill only half of each) but pin more when one record in them
	 * lives long; 256 keeps both to a few percent for the message sizes of
	 * Kafka (up to 1 MiB by default, a 256 KiB chunk for the default 64 MiB).
	 */
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
	return (sizeof(struct rf_ring_record) + len + RF_RING_ALIGN - 1) &
	       ~(size_t)(RF_RING_ALIGN - 1);
}

static void *rf_ring_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static size_t rf_ring_table_size(size_t nchunks)
{
	return nchunks * (3 * sizeof(uint32_t) + sizeof(uint8_t));
}

int rf_ring_init(struct rf_ring *ring, size_t size)
{
	size_t chunk = rf_ring_chunk_size(size);
	size_t arena = rf_ring_arena_size(size);
	size_t nchunks = arena / chunk;
	unsigned char *meta;

	memset(ring, 0, sizeof(*ring));
	if (size == 0 || nchunks > UINT32_MAX - 1)
		return -EINVAL;
	ring->base = rf_ring_map(arena);
	meta = rf_ring_map(rf_ring_table_size(nchunks));
	if (ring->base == NULL || meta == NULL) {
		int err = -errno;
		if (ring->base != NULL)
			munmap(ring->base, arena);
		if (meta != NULL)
			munmap(meta, rf_ring_table_size(nchunks));
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
	ring->pool = ring->span + nchunks;
	ring->kind = (uint8_t *)(ring->pool + nchunks);
	ring->free_chunks = ring->nchunks;
	return 0;
}

void rf_ring_destroy(struct rf_ring *ring)
{
	if (ring->base != NULL) {
		munmap(ring->base, ring->size);
		munmap(ring->live, rf_ring_table_size(ring->nchunks));
	}
	memset(ring, 0, sizeof(*ring));
}

static unsigned char *rf_ring_chunk_base(const struct rf_ring *ring, uint32_t c)
{
	return ring->base + ((size_t)c << ring->chunk_shift);
}

static void *rf_ring_write_header(unsigned char *at, size_t len)
{
	struct rf_ring_record *rec = (void *)at;

	rec->len = (uint32_t)len;
	__atomic_store_n(&rec->state, 0, __ATOMIC_RELAXED);
	rec->tag = 0;
	return rec + 1;
}

void *rf_ring_carve(struct rf_ring *ring, struct rf_ring_cursor *cur, size_t len)
{
	size_t rs = rf_ring_record_size(len);
	unsigned char *at;

	if (cur->chunk == RF_RING_NONE || len > UINT32_MAX || cur->used + rs > ring->chunk)
		return NULL;
	at = rf_ring_chunk_base(ring, cur->chunk) + cur->used;
	cur->used += (uint32_t)rs;
	cur->carved++; /* the open bias already counts it: see RF_RING_OPEN_BIAS */
	return rf_ring_write_header(at, len);
}

/* Lock held: a chunk, or span, whose live count reached zero joins the pool. */
void rf_ring_reclaim(struct rf_ring *ring, uint32_t c)
{
	uint32_t n = 1;

	if (c >= ring->nchunks)
		return;
	if (rf_ring_kind(ring, c) == RF_CHUNK_SPAN) {
		n = ring->span[c];
		ring->span[c] = 0;
	}
	for (uint32_t i = 0; i < n; i++) {
		rf_ring_set_kind(ring, c + i, RF_CHUNK_FREE);
		if (!(ring->kind[c + i] & RF_CHUNK_POOLED)) {
			ring->kind[c + i] |= RF_CHUNK_POOLED;
			ring->pool[ring->pooled++] = c + i;
		}
	}
	ring->free_chunks += n;
}

/* Whether every record carved from the cursor's chunk has been released. */
static int rf_ring_cursor_drained(const struct rf_ring *ring, const struct rf_ring_cursor *cur)
{
	return __atomic_load_n(&ring->live[cur->chunk], __ATOMIC_ACQUIRE) ==
	       RF_RING_OPEN_BIAS - cur->carved;
}

/* Lock held: pay back the open bias; the chunk is then closed. */
void rf_ring_cursor_close(struct rf_ring *ring, struct rf_ring_cursor *cur)
{
	uint32_t c = cur->chunk, payback = RF_RING_OPEN_BIAS - cur->carved;

	if (c == RF_RING_NONE)
		return;
	cur->chunk = RF_RING_NONE;
	cur->used = 0;
	cur->carved = 0;
	rf_ring_set_kind(ring, c, RF_CHUNK_CLOSED);
	if (__atomic_sub_fetch(&ring->live[c], payback, __ATOMIC_ACQ_REL) == 0)
		rf_ring_reclaim(ring, c);
}

/* Lock held: a free chunk, last freed first; else the next unpooled one in ring order. */
static uint32_t rf_ring_take_one(struct rf_ring *ring)
{
	while (ring->pooled > 0) {
		uint32_t c = ring->pool[--ring->pooled];
		ring->kind[c] &= (uint8_t)~RF_CHUNK_POOLED;
		if (rf_ring_kind(ring, c) == RF_CHUNK_FREE) /* a span may have taken it since */
			return c;
	}
	for (uint32_t scanned = 0; scanned < ring->nchunks; scanned++) {
		uint32_t c = (ring->cursor + scanned) % ring->nchunks;
		if (rf_ring_kind(ring, c) == RF_CHUNK_FREE) {
			ring->cursor = c + 1;
			return c;
		}
	}
	return RF_RING_NONE;
}

/* Lock held: the first run of n free chunks from the scan cursor, in ring order. */
static uint32_t rf_ring_find_span(struct rf_ring *ring, uint32_t n)
{
	uint32_t start = ring->cursor < ring->nchunks ? ring->cursor : 0;

	if (ring->free_chunks < n)
		return RF_RING_NONE;
	for (uint32_t scanned = 0, i = start; scanned < ring->nchunks;) {
		uint32_t run = 0;

		if (i + n > ring->nchunks) { /* a span cannot wrap: go round */
			scanned += ring->nchunks - i;
			i = 0;
			continue;
		}
		while (run < n && rf_ring_kind(ring, i + run) == RF_CHUNK_FREE)
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

void *rf_ring_refill(struct rf_ring *ring, struct rf_ring_cursor *cur, size_t len)
{
	size_t rs = rf_ring_record_size(len);
	uint32_t c, n;

	if (ring->base == NULL || len > UINT32_MAX || rs > ring->size)
		return NULL;
	if (rs <= ring->chunk) {
		/* Every record released: no one else touches the chunk, rewind in place. */
		if (cur->chunk != RF_RING_NONE && rf_ring_cursor_drained(ring, cur)) {
			__atomic_store_n(&ring->live[cur->chunk], RF_RING_OPEN_BIAS, __ATOMIC_RELEASE);
			cur->used = 0;
			cur->carved = 0;
		} else {
			c = rf_ring_take_one(ring);
			if (c == RF_RING_NONE)
				return NULL; /* keep the open chunk: its tail may serve smaller records */
			rf_ring_cursor_close(ring, cur);
			rf_ring_set_kind(ring, c, RF_CHUNK_OPEN);
			ring->free_chunks--;
			__atomic_store_n(&ring->live[c], RF_RING_OPEN_BIAS, __ATOMIC_RELEASE);
			cur->chunk = c;
			cur->used = 0;
			cur->carved = 0;
		}
		return rf_ring_carve(ring, cur, len);
	}
	n = (uint32_t)((rs + ring->chunk - 1) >> ring->chunk_shift);
	if (cur->chunk != RF_RING_NONE && rf_ring_cursor_drained(ring, cur))
		rf_ring_cursor_close(ring, cur); /* an empty open chunk must not stand in a span's way */
	c = rf_ring_find_span(ring, n);
	if (c == RF_RING_NONE)
		return NULL;
	rf_ring_set_kind(ring, c, RF_CHUNK_SPAN);
	ring->span[c] = n;
	for (uint32_t i = 1; i < n; i++)
		rf_ring_set_kind(ring, c + i, RF_CHUNK_SPANNED);
	ring->free_chunks -= n;
	ring->cursor = c + n;
	__atomic_store_n(&ring->live[c], 1, __ATOMIC_RELEASE);
	return rf_ring_write_header(rf_ring_chunk_base(ring, c), len);
}

uint32_t rf_ring_release(struct rf_ring *ring, void *payload)
{
	unsigned char *rec = (unsigned char *)rf_ring_record_of(payload);
	uint32_t c = (uint32_t)((size_t)(rec - ring->base) >> ring->chunk_shift);

	return __atomic_sub_fetch(&ring->live[c], 1, __ATOMIC_ACQ_REL) == 0 ? c : RF_RING_NONE;
}

uint32_t rf_ring_chunks_in_use(const struct rf_ring *ring)
{
	return ring->nchunks - ring->free_chunks;
}

int rf_ring_check(const struct rf_ring *ring, const struct rf_ring_cursor *const *cursors,
		  int ncursors)
{
	uint32_t free_chunks = 0, open = 0;

	for (uint32_t c = 0; c < ring->nchunks; c++) {
		uint32_t live = ring->live[c];
		int owned = 0;

		for (int i = 0; i < ncursors; i++)
			owned += cursors[i]->chunk == c;
		switch (rf_ring_kind(ring, c)) {
		case RF_CHUNK_FREE:
			free_chunks++;
			if (live != 0 || owned) {
				printf("# chunk %u is free with live %u, owned %d\n", c, live, owned);
				return -EINVAL;
			}
			break;
		case RF_CHUNK_OPEN:
			open++;
			for (int i = 0; i < ncursors; i++)
				if (cursors[i]->chunk == c &&
				    live + cursors[i]->carved < RF_RING_OPEN_BIAS) {
					printf("# chunk %u: live %u below the bias less %u carved\n", c,
					       live, cursors[i]->carved);
					return -EINVAL;
				}
			if (owned != 1) {
				printf("# chunk %u is open, owned by %d cursors\n", c, owned);
				return -EINVAL;
			}
			break;
		case RF_CHUNK_CLOSED:
			if (live == 0 || owned) {
				printf("# chunk %u is closed with live %u, owned %d\n", c, live, owned);
				return -EINVAL;
			}
			break;
		case RF_CHUNK_SPAN:
			if (live != 1 || ring->span[c] < 2 || c + ring->span[c] > ring->nchunks) {
				printf("# span at chunk %u: live %u, span %u\n", c, live, ring->span[c]);
				return -EINVAL;
			}
			for (uint32_t i = 1; i < ring->span[c]; i++)
				if (rf_ring_kind(ring, c + i) != RF_CHUNK_SPANNED) {
					printf("# span at chunk %u: chunk %u is not spanned\n", c, c + i);
					return -EINVAL;
				}
			break;
		case RF_CHUNK_SPANNED:
			if (live != 0) {
				printf("# spanned chunk %u has live %u\n", c, live);
				return -EINVAL;
			}
			break;
		default:
			printf("# chunk %u has kind %u\n", c, rf_ring_kind(ring, c));
			return -EINVAL;
		}
	}
	uint32_t with_chunk = 0;
	for (int i = 0; i < ncursors; i++)
		with_chunk += cursors[i]->chunk != RF_RING_NONE;
	if (free_chunks != ring->free_chunks || open != with_chunk) {
		printf("# free %u/%u, open %u for %u cursors\n", free_chunks, ring->free_chunks, open,
		       with_chunk);
		return -EINVAL;
	}
	return 0;
}
