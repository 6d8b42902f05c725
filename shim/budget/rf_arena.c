/*
 * rf_arena.c - the arena that holds copied payloads (rf_arena.h).
 */
#include "rf_arena.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "rf_time.h"

enum rf_arena_chunk_kind {
	RF_CHUNK_FREE = 0,      /* in the pool */
	RF_CHUNK_OPEN = 1,      /* a cursor carves from it */
	RF_CHUNK_CLOSED = 2,    /* no cursor: back to the pool when drained */
	RF_CHUNK_SPAN = 3,      /* first chunk of a multi-chunk record */
	RF_CHUNK_SPANNED = 4,   /* later chunk of such a span */
	RF_CHUNK_RETURNING = 5, /* free, its pages being given back: not to be taken */
	RF_CHUNK_KIND = 0x3f,
	RF_CHUNK_RESIDENT = 0x40, /* flag: handed out since its pages were last given back */
	RF_CHUNK_POOLED = 0x80,   /* flag: on the pool stack (at most once) */
};

static unsigned rf_arena_kind(const struct rf_arena *arena, uint32_t c)
{
	return arena->kind[c] & RF_CHUNK_KIND;
}

/* Set a chunk's kind, keeping its flags. */
static void rf_arena_set_kind(struct rf_arena *arena, uint32_t c, unsigned kind)
{
	arena->kind[c] = (uint8_t)((arena->kind[c] & ~RF_CHUNK_KIND) | kind);
}

/* A chunk about to be written: its pages will be resident. */
static void rf_arena_hand_out(struct rf_arena *arena, uint32_t c, unsigned kind)
{
	arena->kind[c] = (uint8_t)((arena->kind[c] & RF_CHUNK_POOLED) | RF_CHUNK_RESIDENT | kind);
}

/* Milliseconds of the coarse monotonic clock: when a chunk joined the pool. */
static uint32_t rf_arena_now_ms(void)
{
	return (uint32_t)(rf_clock_ns(CLOCK_MONOTONIC_COARSE) / 1000000);
}

#define RF_ARENA_CHUNK_MIN ((size_t)4 * 1024)
#define RF_ARENA_CHUNK_MAX ((size_t)4 * 1024 * 1024)
#define RF_ARENA_CHUNKS_TARGET 256

size_t rf_arena_chunk_size(size_t size)
{
	size_t chunk = RF_ARENA_CHUNK_MIN;

	/*
	 * About 256 chunks. Larger chunks waste less at their tails (a record
	 * that does not fit closes the chunk: 8 KiB records in 16 KiB chunks
	 * would fill only half of each) but pin more when one record in them
	 * lives long; 256 keeps both to a few percent for the message sizes of
	 * Kafka (up to 1 MiB by default, a 256 KiB chunk for the default 64 MiB).
	 */
	while (chunk < RF_ARENA_CHUNK_MAX && size / (chunk * 2) >= RF_ARENA_CHUNKS_TARGET)
		chunk *= 2;
	return chunk;
}

size_t rf_arena_size_round(size_t size)
{
	size_t chunk = rf_arena_chunk_size(size);

	return (size + chunk - 1) / chunk * chunk;
}

static void *rf_arena_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static size_t rf_arena_table_size(size_t nchunks)
{
	return nchunks * ((3 + RF_ARENA_LIVE_STRIDE) * sizeof(uint32_t) + sizeof(uint8_t));
}

int rf_arena_init(struct rf_arena *arena, size_t size)
{
	size_t chunk = rf_arena_chunk_size(size);
	size_t bytes = rf_arena_size_round(size);
	size_t nchunks = bytes / chunk;
	unsigned char *meta;

	memset(arena, 0, sizeof(*arena));
	if (size == 0 || nchunks > UINT32_MAX - 1)
		return -EINVAL;
	arena->base = rf_arena_map(bytes);
	meta = rf_arena_map(rf_arena_table_size(nchunks));
	if (arena->base == NULL || meta == NULL) {
		int err = -errno;
		if (arena->base != NULL)
			munmap(arena->base, bytes);
		if (meta != NULL)
			munmap(meta, rf_arena_table_size(nchunks));
		memset(arena, 0, sizeof(*arena));
		return err;
	}
	arena->size = bytes;
	arena->chunk = chunk;
	while (((size_t)1 << arena->chunk_shift) < chunk)
		arena->chunk_shift++;
	arena->nchunks = (uint32_t)nchunks;
	arena->live = (uint32_t *)meta;
	arena->span = arena->live + nchunks * RF_ARENA_LIVE_STRIDE;
	arena->pool = arena->span + nchunks;
	arena->freed_ms = arena->pool + nchunks;
	arena->kind = (uint8_t *)(arena->freed_ms + nchunks);
	arena->free_chunks = arena->nchunks;
	return 0;
}

void rf_arena_destroy(struct rf_arena *arena)
{
	if (arena->base != NULL) {
		munmap(arena->base, arena->size);
		munmap(arena->live, rf_arena_table_size(arena->nchunks));
	}
	memset(arena, 0, sizeof(*arena));
}

static unsigned char *rf_arena_chunk_base(const struct rf_arena *arena, uint32_t c)
{
	return arena->base + ((size_t)c << arena->chunk_shift);
}

/* Lock held: a chunk, or span, whose live count reached zero joins the pool. */
void rf_arena_reclaim(struct rf_arena *arena, uint32_t c)
{
	uint32_t n = 1;

	if (c >= arena->nchunks)
		return;
	if (rf_arena_kind(arena, c) == RF_CHUNK_SPAN) {
		n = arena->span[c];
		arena->span[c] = 0;
	}
	for (uint32_t i = 0; i < n; i++) {
		rf_arena_set_kind(arena, c + i, RF_CHUNK_FREE);
		arena->freed_ms[c + i] = rf_arena_now_ms();
		if (!(arena->kind[c + i] & RF_CHUNK_POOLED)) {
			arena->kind[c + i] |= RF_CHUNK_POOLED;
			arena->pool[arena->pooled++] = c + i;
		}
	}
	arena->free_chunks += n;
}

/* Whether every record carved from the cursor's chunk has been released. */
static int rf_arena_cursor_drained(const struct rf_arena *arena, const struct rf_arena_cursor *cur)
{
	return __atomic_load_n(rf_arena_live(arena, cur->chunk), __ATOMIC_ACQUIRE) ==
	       RF_ARENA_OPEN_BIAS - cur->carved;
}

/* Lock held: pay back the open bias; the chunk is then closed. */
void rf_arena_cursor_close(struct rf_arena *arena, struct rf_arena_cursor *cur)
{
	uint32_t c = cur->chunk, payback = RF_ARENA_OPEN_BIAS - cur->carved;

	if (c == RF_ARENA_NONE)
		return;
	cur->chunk = RF_ARENA_NONE;
	cur->used = 0;
	cur->carved = 0;
	rf_arena_set_kind(arena, c, RF_CHUNK_CLOSED);
	if (__atomic_sub_fetch(rf_arena_live(arena, c), payback, __ATOMIC_ACQ_REL) == 0)
		rf_arena_reclaim(arena, c);
}

/* Lock held: a free chunk, last freed first; else the next unpooled one in address order. */
static uint32_t rf_arena_take_one(struct rf_arena *arena)
{
	while (arena->pooled > 0) {
		uint32_t c = arena->pool[--arena->pooled];
		arena->kind[c] &= (uint8_t)~RF_CHUNK_POOLED;
		if (rf_arena_kind(arena, c) == RF_CHUNK_FREE) /* a span may have taken it since */
			return c;
	}
	for (uint32_t scanned = 0; scanned < arena->nchunks; scanned++) {
		uint32_t c = (arena->cursor + scanned) % arena->nchunks;
		if (rf_arena_kind(arena, c) == RF_CHUNK_FREE) {
			arena->cursor = c + 1;
			return c;
		}
	}
	return RF_ARENA_NONE;
}

/* Lock held: the first run of n free chunks from the scan cursor, in address order. */
static uint32_t rf_arena_find_span(struct rf_arena *arena, uint32_t n)
{
	uint32_t start = arena->cursor < arena->nchunks ? arena->cursor : 0;

	if (arena->free_chunks < n)
		return RF_ARENA_NONE;
	for (uint32_t scanned = 0, i = start; scanned < arena->nchunks;) {
		uint32_t run = 0;

		if (i + n > arena->nchunks) { /* a span cannot wrap: go round */
			scanned += arena->nchunks - i;
			i = 0;
			continue;
		}
		while (run < n && rf_arena_kind(arena, i + run) == RF_CHUNK_FREE)
			run++;
		if (run == n)
			return i;
		scanned += run + 1;
		i += run + 1;
		if (i >= arena->nchunks)
			i = 0;
	}
	return RF_ARENA_NONE;
}

void *rf_arena_refill(struct rf_arena *arena, struct rf_arena_cursor *cur, size_t len)
{
	size_t rs = rf_arena_record_size(len);
	uint32_t c, n;

	if (arena->base == NULL || len > UINT32_MAX || rs > arena->size)
		return NULL;
	if (rs <= arena->chunk) {
		/* Every record released: no one else touches the chunk, rewind in place. */
		if (cur->chunk != RF_ARENA_NONE && rf_arena_cursor_drained(arena, cur)) {
			__atomic_store_n(rf_arena_live(arena, cur->chunk), RF_ARENA_OPEN_BIAS,
					 __ATOMIC_RELEASE);
			cur->used = 0;
			cur->carved = 0;
		} else {
			c = rf_arena_take_one(arena);
			if (c == RF_ARENA_NONE)
				return NULL; /* keep the open chunk: its tail may serve smaller records */
			rf_arena_cursor_close(arena, cur);
			rf_arena_hand_out(arena, c, RF_CHUNK_OPEN);
			arena->free_chunks--;
			__atomic_store_n(rf_arena_live(arena, c), RF_ARENA_OPEN_BIAS,
					 __ATOMIC_RELEASE);
			cur->chunk = c;
			cur->used = 0;
			cur->carved = 0;
		}
		return rf_arena_carve(arena, cur, len);
	}
	n = (uint32_t)((rs + arena->chunk - 1) >> arena->chunk_shift);
	if (cur->chunk != RF_ARENA_NONE && rf_arena_cursor_drained(arena, cur))
		/* An empty open chunk must not stand in a span's way. */
		rf_arena_cursor_close(arena, cur);
	c = rf_arena_find_span(arena, n);
	if (c == RF_ARENA_NONE)
		return NULL;
	rf_arena_hand_out(arena, c, RF_CHUNK_SPAN);
	arena->span[c] = n;
	for (uint32_t i = 1; i < n; i++)
		rf_arena_hand_out(arena, c + i, RF_CHUNK_SPANNED);
	arena->free_chunks -= n;
	arena->cursor = c + n;
	__atomic_store_n(rf_arena_live(arena, c), 1, __ATOMIC_RELEASE);
	return rf_arena_record_init(rf_arena_chunk_base(arena, c), len);
}

uint32_t rf_arena_chunks_in_use(const struct rf_arena *arena)
{
	return arena->nchunks - arena->free_chunks;
}

uint32_t rf_arena_idle_take(struct rf_arena *arena, uint32_t idle_ms, uint32_t *chunks,
			    uint32_t max)
{
	uint32_t now = rf_arena_now_ms(), n = 0;

	/* From the bottom of the pool: the longest free first. */
	for (uint32_t i = 0; i < arena->pooled && n < max; i++) {
		uint32_t c = arena->pool[i];

		if (arena->kind[c] == (RF_CHUNK_POOLED | RF_CHUNK_RESIDENT | RF_CHUNK_FREE) &&
		    now - arena->freed_ms[c] >= idle_ms) {
			rf_arena_set_kind(arena, c, RF_CHUNK_RETURNING);
			chunks[n++] = c;
		}
	}
	return n;
}

void rf_arena_idle_give(struct rf_arena *arena, const uint32_t *chunks, uint32_t n)
{
	int saved = errno;

	for (uint32_t i = 0; i < n; i++)
		madvise(rf_arena_chunk_base(arena, chunks[i]), arena->chunk, MADV_DONTNEED);
	errno = saved;
}

void rf_arena_idle_done(struct rf_arena *arena, const uint32_t *chunks, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint32_t c = chunks[i];

		arena->kind[c] &= (uint8_t)~RF_CHUNK_RESIDENT;
		rf_arena_set_kind(arena, c, RF_CHUNK_FREE);
		/* Dropped from the pool by a refill that met it returning: back in. */
		if (!(arena->kind[c] & RF_CHUNK_POOLED)) {
			arena->kind[c] |= RF_CHUNK_POOLED;
			arena->pool[arena->pooled++] = c;
		}
	}
}

uint64_t rf_arena_resident_bytes(const struct rf_arena *arena)
{
	uint64_t resident = 0;

	for (uint32_t c = 0; c < arena->nchunks; c++)
		resident += (arena->kind[c] & RF_CHUNK_RESIDENT) != 0;
	return resident * arena->chunk;
}

int rf_arena_check(const struct rf_arena *arena, const struct rf_arena_cursor *const *cursors,
		   int ncursors)
{
	uint32_t free_chunks = 0, open = 0;

	for (uint32_t c = 0; c < arena->nchunks; c++) {
		uint32_t live = *rf_arena_live(arena, c);
		int owned = 0;

		for (int i = 0; i < ncursors; i++)
			owned += cursors[i]->chunk == c;
		switch (rf_arena_kind(arena, c)) {
		case RF_CHUNK_FREE:
			free_chunks++;
			if (live != 0 || owned) {
				printf("# chunk %u is free with live %u, owned %d\n", c, live,
				       owned);
				return -EINVAL;
			}
			break;
		case RF_CHUNK_OPEN:
			open++;
			for (int i = 0; i < ncursors; i++)
				if (cursors[i]->chunk == c &&
				    live + cursors[i]->carved < RF_ARENA_OPEN_BIAS) {
					printf("# chunk %u: live %u below the bias less %u "
					       "carved\n",
					       c, live, cursors[i]->carved);
					return -EINVAL;
				}
			if (owned != 1) {
				printf("# chunk %u is open, owned by %d cursors\n", c, owned);
				return -EINVAL;
			}
			break;
		case RF_CHUNK_CLOSED:
			if (live == 0 || owned) {
				printf("# chunk %u is closed with live %u, owned %d\n", c, live,
				       owned);
				return -EINVAL;
			}
			break;
		case RF_CHUNK_SPAN:
			if (live != 1 || arena->span[c] < 2 ||
			    c + arena->span[c] > arena->nchunks) {
				printf("# span at chunk %u: live %u, span %u\n", c, live,
				       arena->span[c]);
				return -EINVAL;
			}
			for (uint32_t i = 1; i < arena->span[c]; i++)
				if (rf_arena_kind(arena, c + i) != RF_CHUNK_SPANNED) {
					printf("# span at chunk %u: chunk %u is not spanned\n", c,
					       c + i);
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
			printf("# chunk %u has kind %u\n", c, rf_arena_kind(arena, c));
			return -EINVAL;
		}
	}
	uint32_t with_chunk = 0;
	for (int i = 0; i < ncursors; i++)
		with_chunk += cursors[i]->chunk != RF_ARENA_NONE;
	if (free_chunks != arena->free_chunks || open != with_chunk) {
		printf("# free %u/%u, open %u for %u cursors\n", free_chunks, arena->free_chunks,
		       open, with_chunk);
		return -EINVAL;
	}
	return 0;
}
