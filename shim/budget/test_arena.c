/*
 * test_arena.c - the arena: alignment, out-of-order release, spans,
 * cursors, no overlap under random use (also from several threads), the
 * whole arena back once all is released, and idle chunks' pages given back.
 */
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rf_arena.h"
#include "rf_test.h"

#define MIB ((size_t)1024 * 1024)

/* What rf_budget does: the lock-free carve, else a refill under the lock. */
static pthread_mutex_t rf_lock = PTHREAD_MUTEX_INITIALIZER;

static void *rf_reserve(struct rf_arena *arena, struct rf_arena_cursor *cur, size_t len)
{
	void *p = rf_arena_carve(arena, cur, len);

	if (p == NULL) {
		pthread_mutex_lock(&rf_lock);
		p = rf_arena_refill(arena, cur, len);
		pthread_mutex_unlock(&rf_lock);
	}
	return p;
}

static void rf_release(struct rf_arena *arena, void *p)
{
	uint32_t drained = rf_arena_release(arena, p);

	if (drained != RF_ARENA_NONE) {
		pthread_mutex_lock(&rf_lock);
		rf_arena_reclaim(arena, drained);
		pthread_mutex_unlock(&rf_lock);
	}
}

static void rf_close(struct rf_arena *arena, struct rf_arena_cursor *cur)
{
	pthread_mutex_lock(&rf_lock);
	rf_arena_cursor_close(arena, cur);
	pthread_mutex_unlock(&rf_lock);
}

RF_TEST(reserve_release_basics)
{
	struct rf_arena arena;
	struct rf_arena_cursor cur = RF_ARENA_CURSOR_INIT;
	const struct rf_arena_cursor *curs[] = {&cur};
	unsigned char *p, *q;

	RF_CHECK_INT(rf_arena_init(&arena, 1 * MIB), 0);
	RF_CHECK_INT(arena.chunk, 4 * 1024);
	RF_CHECK_INT(arena.nchunks, 256);
	RF_CHECK(rf_arena_carve(&arena, &cur, 100) == NULL); /* no chunk yet */
	p = rf_reserve(&arena, &cur, 100);
	q = rf_reserve(&arena, &cur, 1);
	RF_CHECK(p != NULL && q != NULL);
	RF_CHECK_INT((uintptr_t)p % 16, 0);
	RF_CHECK_INT((uintptr_t)q % 16, 0);
	RF_CHECK(q >= p + 100);
	RF_CHECK(rf_arena_contains(&arena, p) && rf_arena_contains(&arena, q));
	RF_CHECK(!rf_arena_contains(&arena, arena.base + arena.size));
	RF_CHECK(!rf_arena_contains(&arena, arena.base - 1));
	RF_CHECK(!rf_arena_contains(&arena, NULL));
	RF_CHECK_INT(rf_arena_record_of(p)->len, 100);
	RF_CHECK_INT(rf_arena_chunks_in_use(&arena), 1);
	RF_CHECK_INT(cur.carved, 2);
	RF_CHECK_INT(rf_arena_check(&arena, curs, 1), 0);
	rf_release(&arena, p);
	rf_release(&arena, q);
	RF_CHECK_INT(*rf_arena_live(&arena, cur.chunk), RF_ARENA_OPEN_BIAS - 2); /* both released */
	RF_CHECK_INT(rf_arena_check(&arena, curs, 1), 0);
	/* Drained open chunk: the next refill rewinds it instead of taking another. */
	p = rf_reserve(&arena, &cur, 4000);
	q = rf_reserve(&arena, &cur, 4000);
	RF_CHECK(p != NULL && q != NULL);
	rf_release(&arena, p);
	rf_release(&arena, q);
	RF_CHECK(rf_reserve(&arena, &cur, 1 * MIB) == NULL); /* header does not fit */
	p = rf_reserve(&arena, &cur, 1 * MIB - 16);          /* the whole arena */
	RF_CHECK(p != NULL);
	RF_CHECK(rf_reserve(&arena, &cur, 1) == NULL);
	rf_release(&arena, p);
	rf_close(&arena, &cur);
	RF_CHECK_INT(arena.free_chunks, arena.nchunks);
	RF_CHECK_INT(rf_arena_check(&arena, curs, 1), 0);
	rf_arena_destroy(&arena);
}

/* Released in the middle while the oldest is still live: the space comes back. */
RF_TEST(out_of_order_release_reuses_space)
{
	struct rf_arena arena;
	struct rf_arena_cursor cur = RF_ARENA_CURSOR_INIT;
	const struct rf_arena_cursor *curs[] = {&cur};
	void *recs[16 * 16];
	size_t n = 0;
	void *p;

	RF_CHECK_INT(rf_arena_init(&arena, 16 * MIB), 0); /* 256 chunks of 64 KiB */
	RF_CHECK_INT(arena.chunk, 64 * 1024);
	for (size_t i = 0; i < 16 * 16; i++) /* 16 chunks, 16 records each */
		RF_CHECK((recs[n++] = rf_reserve(&arena, &cur, 4096 - 16)) != NULL);
	/* The other 240 chunks, one record of a whole chunk each. */
	for (size_t i = 16; i < 256; i++)
		RF_CHECK(rf_reserve(&arena, &cur, arena.chunk - 16) != NULL);
	RF_CHECK(rf_reserve(&arena, &cur, 1) == NULL);
	/* Release chunk 7's records; chunk 0 (the oldest) stays live. */
	for (size_t i = 7 * 16; i < 8 * 16; i++)
		rf_release(&arena, recs[i]);
	RF_CHECK_INT(rf_arena_check(&arena, curs, 1), 0);
	RF_CHECK_INT(arena.free_chunks, 1);
	p = rf_reserve(&arena, &cur, 4096 - 16);
	RF_CHECK(p != NULL);
	RF_CHECK((unsigned char *)p - arena.base >= (ptrdiff_t)(7 * arena.chunk) &&
		 (unsigned char *)p - arena.base < (ptrdiff_t)(8 * arena.chunk));
	/* A span of 3 chunks needs 3 contiguous free ones: not there yet. */
	RF_CHECK(rf_reserve(&arena, &cur, 3 * arena.chunk - 64) == NULL);
	for (size_t i = 9 * 16; i < 12 * 16; i++)
		rf_release(&arena, recs[i]);
	p = rf_reserve(&arena, &cur, 3 * arena.chunk - 64);
	RF_CHECK(p != NULL);
	RF_CHECK_INT((unsigned char *)p - 16 - arena.base, 9 * arena.chunk);
	RF_CHECK_INT(rf_arena_check(&arena, curs, 1), 0);
	rf_release(&arena, p);
	RF_CHECK_INT(rf_arena_check(&arena, curs, 1), 0);
	rf_arena_destroy(&arena);
}

/* xorshift: reproducible random sizes and release order, one state per thread. */
static uint64_t rf_rand(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

struct rf_live {
	unsigned char *p;
	size_t len;
	unsigned char fill;
};

static void rf_live_verify(const struct rf_live *l)
{
	for (size_t i = 0; i < l->len; i++)
		if (l->p[i] != l->fill) {
			printf("# record at %p byte %zu overwritten\n", (void *)l->p, i);
			exit(1);
		}
}

struct rf_worker {
	struct rf_arena *arena;
	struct rf_arena_cursor cur;
	uint64_t seed;
	size_t refused;
	int steps;
};

/* Random reserve/release, mostly oldest-first with some out of order, as partitions behave. */
static void *rf_worker_run(void *arg)
{
	enum {
		LIVE_MAX = 2048
	};
	struct rf_worker *w = arg;
	struct rf_live *live = calloc(LIVE_MAX, sizeof(*live));
	size_t nlive = 0;

	for (int step = 0; step < w->steps; step++) {
		int release = nlive == LIVE_MAX || (nlive > 0 && rf_rand(&w->seed) % 100 < 48);

		if (release) {
			size_t i = rf_rand(&w->seed) % 4 == 0 ? rf_rand(&w->seed) % nlive : 0;
			rf_live_verify(&live[i]);
			rf_release(w->arena, live[i].p);
			live[i] = live[--nlive];
		} else {
			size_t len = rf_rand(&w->seed) % 100 < 95
					     ? rf_rand(&w->seed) % 2048
					     : rf_rand(&w->seed) % (200 * 1024);
			unsigned char *p = rf_reserve(w->arena, &w->cur, len);

			if (p == NULL) {
				w->refused++;
				continue;
			}
			if ((uintptr_t)p % 16 != 0)
				exit(1);
			live[nlive] = (struct rf_live){p, len, (unsigned char)(step & 0xff)};
			memset(p, live[nlive].fill, len);
			nlive++;
		}
	}
	while (nlive > 0) {
		rf_live_verify(&live[nlive - 1]);
		rf_release(w->arena, live[--nlive].p);
	}
	free(live);
	return NULL;
}

static void rf_random_use(int nthreads, int steps)
{
	struct rf_arena arena;
	struct rf_worker w[4];
	pthread_t tid[4];
	const struct rf_arena_cursor *curs[4];

	RF_CHECK_INT(rf_arena_init(&arena, 8 * MIB), 0);
	for (int i = 0; i < nthreads; i++) {
		w[i] = (struct rf_worker){&arena, RF_ARENA_CURSOR_INIT,
					  88172645463325252ULL + (uint64_t)i, 0, steps};
		curs[i] = &w[i].cur;
		pthread_create(&tid[i], NULL, rf_worker_run, &w[i]);
	}
	for (int i = 0; i < nthreads; i++) {
		pthread_join(tid[i], NULL);
		printf("# thread %d: %zu reservations refused\n", i, w[i].refused);
	}
	RF_CHECK_INT(rf_arena_check(&arena, curs, nthreads), 0);
	for (int i = 0; i < nthreads; i++)
		rf_close(&arena, &w[i].cur);
	RF_CHECK_INT(arena.free_chunks, arena.nchunks);
	RF_CHECK(rf_reserve(&arena, &w[0].cur, arena.size - 16) != NULL);
	rf_arena_destroy(&arena);
}

RF_TEST(random_use_never_overlaps_and_drains)
{
	rf_random_use(1, 200000);
}

RF_TEST(threads_share_the_ring)
{
	rf_random_use(4, 100000);
}

RF_TEST(chunk_size_scales)
{
	RF_CHECK_INT(rf_arena_chunk_size(64 * MIB), 256 * 1024);
	RF_CHECK_INT(rf_arena_chunk_size(16 * MIB), 64 * 1024);
	RF_CHECK_INT(rf_arena_chunk_size(256 * 1024), 4 * 1024);
	RF_CHECK_INT(rf_arena_chunk_size(1024 * MIB), 4 * MIB);
	RF_CHECK_INT(rf_arena_chunk_size(64ULL * 1024 * MIB), 4 * MIB);
	RF_CHECK_INT(rf_arena_size_round(100 * 1024 + 1), 104 * 1024);
	RF_CHECK_INT(rf_arena_record_size(0), 16);
	RF_CHECK_INT(rf_arena_record_size(1), 32);
	RF_CHECK_INT(rf_arena_record_size(16), 32);
	RF_CHECK_INT(rf_arena_record_size(17), 48);
}

/* Resident 4 KiB pages of chunk c, by mincore. */
static size_t rf_chunk_resident_pages(const struct rf_arena *arena, uint32_t c)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n = arena->chunk / page, resident = 0;
	unsigned char vec[64];

	if (n > sizeof(vec) || mincore(arena->base + (size_t)c * arena->chunk, arena->chunk, vec))
		return SIZE_MAX;
	for (size_t i = 0; i < n; i++)
		resident += vec[i] & 1;
	return resident;
}

static uint32_t rf_chunk_of(const struct rf_arena *arena, const void *p)
{
	return (uint32_t)(((const unsigned char *)p - arena->base) / arena->chunk);
}

RF_TEST(idle_chunks_give_pages_back)
{
	struct rf_arena arena;
	struct rf_arena_cursor cur = RF_ARENA_CURSOR_INIT, other = RF_ARENA_CURSOR_INIT;
	const struct rf_arena_cursor *curs[] = {&cur, &other};
	uint32_t taken[16];
	unsigned char *recs[8], *p;

	RF_CHECK_INT(rf_arena_init(&arena, 4 * MIB), 0); /* 256 chunks of 16 KiB */
	RF_CHECK_INT(arena.chunk, 16 * 1024);
	RF_CHECK_INT(rf_arena_resident_bytes(&arena), 0);
	for (int i = 0; i < 8; i++) { /* one whole-chunk record each, written */
		recs[i] = rf_reserve(&arena, &cur, arena.chunk - 16);
		RF_CHECK(recs[i] != NULL);
		memset(recs[i], 0xab, arena.chunk - 16);
		RF_CHECK_INT(rf_chunk_resident_pages(&arena, rf_chunk_of(&arena, recs[i])), 4);
	}
	RF_CHECK_INT(rf_arena_resident_bytes(&arena), 8 * arena.chunk);
	/* Nothing free yet, then nothing free long enough. */
	RF_CHECK_INT(rf_arena_idle_take(&arena, 0, taken, 16), 0);
	for (int i = 0; i < 8; i++)
		rf_release(&arena, recs[i]);
	rf_close(&arena, &cur);
	RF_CHECK_INT(rf_arena_idle_take(&arena, 60 * 1000, taken, 16), 0);
	/* Taken, batch by batch: the longest free first. */
	RF_CHECK_INT(rf_arena_idle_take(&arena, 0, taken, 3), 3);
	RF_CHECK_INT(rf_arena_idle_take(&arena, 0, taken + 3, 16), 5);
	RF_CHECK_INT(taken[0], rf_chunk_of(&arena, recs[0]));
	/* While they are being given back no refill takes them. */
	p = rf_reserve(&arena, &other, 100);
	RF_CHECK(p != NULL);
	for (int i = 0; i < 8; i++)
		RF_CHECK(rf_chunk_of(&arena, p) != taken[i]);
	rf_arena_idle_give(&arena, taken, 8);
	rf_arena_idle_done(&arena, taken, 8);
	for (int i = 0; i < 8; i++)
		RF_CHECK_INT(rf_chunk_resident_pages(&arena, taken[i]), 0);
	RF_CHECK_INT(rf_arena_resident_bytes(&arena), arena.chunk); /* other's chunk */
	RF_CHECK_INT(rf_arena_check(&arena, curs, 2), 0);
	RF_CHECK_INT(rf_arena_idle_take(&arena, 0, taken, 16), 0); /* none resident and free */
	/* Handed out again: last freed first, written and read as any chunk. */
	for (int i = 0; i < 8; i++) {
		recs[i] = rf_reserve(&arena, &cur, arena.chunk - 16);
		RF_CHECK(recs[i] != NULL);
		memset(recs[i], i, arena.chunk - 16);
	}
	RF_CHECK_INT(rf_arena_resident_bytes(&arena), 9 * arena.chunk);
	for (int i = 0; i < 8; i++) {
		int reused = 0;

		for (int j = 0; j < 8; j++)
			reused |= rf_chunk_of(&arena, recs[i]) == taken[j];
		RF_CHECK(reused);
		RF_CHECK(recs[i][0] == i && recs[i][arena.chunk - 17] == i);
		rf_release(&arena, recs[i]);
	}
	rf_release(&arena, p);
	rf_close(&arena, &cur);
	rf_close(&arena, &other);
	RF_CHECK_INT(rf_arena_check(&arena, curs, 2), 0);
	RF_CHECK_INT(arena.free_chunks, arena.nchunks);
	rf_arena_destroy(&arena);
}

/* A refill that meets a chunk being given back drops it from the pool; done puts it back. */
RF_TEST(idle_chunk_met_by_refill_returns_to_pool)
{
	struct rf_arena arena;
	struct rf_arena_cursor cur = RF_ARENA_CURSOR_INIT;
	const struct rf_arena_cursor *curs[] = {&cur};
	uint32_t taken[1];
	void *p;

	RF_CHECK_INT(rf_arena_init(&arena, 1 * MIB), 0); /* 256 chunks of 4 KiB */
	for (uint32_t i = 0; i < arena.nchunks; i++)
		RF_CHECK(rf_reserve(&arena, &cur, arena.chunk - 16) != NULL);
	p = rf_reserve(&arena, &cur, 1);
	RF_CHECK(p == NULL); /* full */
	p = arena.base + 16; /* chunk 0's record */
	rf_release(&arena, p);
	RF_CHECK_INT(rf_arena_idle_take(&arena, 0, taken, 1), 1);
	RF_CHECK_INT(taken[0], 0);
	RF_CHECK(rf_reserve(&arena, &cur, 1) == NULL); /* the only free chunk is being given back */
	rf_arena_idle_give(&arena, taken, 1);
	rf_arena_idle_done(&arena, taken, 1);
	p = rf_reserve(&arena, &cur, 1);
	RF_CHECK(p != NULL && rf_chunk_of(&arena, p) == 0);
	RF_CHECK_INT(rf_arena_check(&arena, curs, 1), 0);
	rf_arena_destroy(&arena);
}

RF_TEST_MAIN(RF_TEST_ENTRY(reserve_release_basics),
	     RF_TEST_ENTRY(out_of_order_release_reuses_space),
	     RF_TEST_ENTRY(random_use_never_overlaps_and_drains),
	     RF_TEST_ENTRY(threads_share_the_ring), RF_TEST_ENTRY(chunk_size_scales),
	     RF_TEST_ENTRY(idle_chunks_give_pages_back),
	     RF_TEST_ENTRY(idle_chunk_met_by_refill_returns_to_pool))
