/*
 * test_ring.c - the pooled ring: alignment, out-of-order release, spans,
 * cursors, no overlap under random use (also from several threads), and
 * the whole arena back once all is released.
 */
#include <pthread.h>

#include "rf_ring.h"
#include "rf_test.h"

#define MIB ((size_t)1024 * 1024)

/* What rf_budget does: the lock-free carve, else a refill under the lock. */
static pthread_mutex_t rf_lock = PTHREAD_MUTEX_INITIALIZER;

static void *rf_reserve(struct rf_ring *ring, struct rf_ring_cursor *cur, size_t len)
{
	void *p = rf_ring_carve(ring, cur, len);

	if (p == NULL) {
		pthread_mutex_lock(&rf_lock);
		p = rf_ring_refill(ring, cur, len);
		pthread_mutex_unlock(&rf_lock);
	}
	return p;
}

static void rf_release(struct rf_ring *ring, void *p)
{
	uint32_t drained = rf_ring_release(ring, p);

	if (drained != RF_RING_NONE) {
		pthread_mutex_lock(&rf_lock);
		rf_ring_reclaim(ring, drained);
		pthread_mutex_unlock(&rf_lock);
	}
}

static void rf_close(struct rf_ring *ring, struct rf_ring_cursor *cur)
{
	pthread_mutex_lock(&rf_lock);
	rf_ring_cursor_close(ring, cur);
	pthread_mutex_unlock(&rf_lock);
}

RF_TEST(reserve_release_basics)
{
	struct rf_ring ring;
	struct rf_ring_cursor cur = RF_RING_CURSOR_INIT;
	const struct rf_ring_cursor *curs[] = {&cur};
	unsigned char *p, *q;

	RF_CHECK_INT(rf_ring_init(&ring, 1 * MIB), 0);
	RF_CHECK_INT(ring.chunk, 4 * 1024);
	RF_CHECK_INT(ring.nchunks, 256);
	RF_CHECK(rf_ring_carve(&ring, &cur, 100) == NULL); /* no chunk yet */
	p = rf_reserve(&ring, &cur, 100);
	q = rf_reserve(&ring, &cur, 1);
	RF_CHECK(p != NULL && q != NULL);
	RF_CHECK_INT((uintptr_t)p % 16, 0);
	RF_CHECK_INT((uintptr_t)q % 16, 0);
	RF_CHECK(q >= p + 100);
	RF_CHECK(rf_ring_contains(&ring, p) && rf_ring_contains(&ring, q));
	RF_CHECK(!rf_ring_contains(&ring, ring.base + ring.size));
	RF_CHECK(!rf_ring_contains(&ring, ring.base - 1));
	RF_CHECK(!rf_ring_contains(&ring, NULL));
	RF_CHECK_INT(rf_ring_record_of(p)->len, 100);
	RF_CHECK_INT(rf_ring_chunks_in_use(&ring), 1);
	RF_CHECK_INT(cur.carved, 2);
	RF_CHECK_INT(rf_ring_check(&ring, curs, 1), 0);
	rf_release(&ring, p);
	rf_release(&ring, q);
	RF_CHECK_INT(ring.live[cur.chunk], RF_RING_OPEN_BIAS - 2); /* both released */
	RF_CHECK_INT(rf_ring_check(&ring, curs, 1), 0);
	/* Drained open chunk: the next refill rewinds it instead of taking another. */
	p = rf_reserve(&ring, &cur, 4000);
	q = rf_reserve(&ring, &cur, 4000);
	RF_CHECK(p != NULL && q != NULL);
	rf_release(&ring, p);
	rf_release(&ring, q);
	RF_CHECK(rf_reserve(&ring, &cur, 1 * MIB) == NULL); /* header does not fit */
	p = rf_reserve(&ring, &cur, 1 * MIB - 16);         /* the whole arena */
	RF_CHECK(p != NULL);
	RF_CHECK(rf_reserve(&ring, &cur, 1) == NULL);
	rf_release(&ring, p);
	rf_close(&ring, &cur);
	RF_CHECK_INT(ring.free_chunks, ring.nchunks);
	RF_CHECK_INT(rf_ring_check(&ring, curs, 1), 0);
	rf_ring_destroy(&ring);
}

/* Released in the middle while the oldest is still live: the space comes back. */
RF_TEST(out_of_order_release_reuses_space)
{
	struct rf_ring ring;
	struct rf_ring_cursor cur = RF_RING_CURSOR_INIT;
	const struct rf_ring_cursor *curs[] = {&cur};
	void *recs[16 * 16];
	size_t n = 0;
	void *p;

	RF_CHECK_INT(rf_ring_init(&ring, 16 * MIB), 0); /* 256 chunks of 64 KiB */
	RF_CHECK_INT(ring.chunk, 64 * 1024);
	for (size_t i = 0; i < 16 * 16; i++) /* 16 chunks, 16 records each */
		RF_CHECK((recs[n++] = rf_reserve(&ring, &cur, 4096 - 16)) != NULL);
	/* The other 240 chunks, one record of a whole chunk each. */
	for (size_t i = 16; i < 256; i++)
		RF_CHECK(rf_reserve(&ring, &cur, ring.chunk - 16) != NULL);
	RF_CHECK(rf_reserve(&ring, &cur, 1) == NULL);
	/* Release chunk 7's records; chunk 0 (the oldest) stays live. */
	for (size_t i = 7 * 16; i < 8 * 16; i++)
		rf_release(&ring, recs[i]);
	RF_CHECK_INT(rf_ring_check(&ring, curs, 1), 0);
	RF_CHECK_INT(ring.free_chunks, 1);
	p = rf_reserve(&ring, &cur, 4096 - 16);
	RF_CHECK(p != NULL);
	RF_CHECK((unsigned char *)p - ring.base >= (ptrdiff_t)(7 * ring.chunk) &&
		 (unsigned char *)p - ring.base < (ptrdiff_t)(8 * ring.chunk));
	/* A span of 3 chunks needs 3 contiguous free ones: not there yet. */
	RF_CHECK(rf_reserve(&ring, &cur, 3 * ring.chunk - 64) == NULL);
	for (size_t i = 9 * 16; i < 12 * 16; i++)
		rf_release(&ring, recs[i]);
	p = rf_reserve(&ring, &cur, 3 * ring.chunk - 64);
	RF_CHECK(p != NULL);
	RF_CHECK_INT((unsigned char *)p - 16 - ring.base, 9 * ring.chunk);
	RF_CHECK_INT(rf_ring_check(&ring, curs, 1), 0);
	rf_release(&ring, p);
	RF_CHECK_INT(rf_ring_check(&ring, curs, 1), 0);
	rf_ring_destroy(&ring);
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
	struct rf_ring *ring;
	struct rf_ring_cursor cur;
	uint64_t seed;
	size_t refused;
	int steps;
};

/* Random reserve/release, mostly oldest-first with some out of order, as partitions behave. */
static void *rf_worker_run(void *arg)
{
	enum { LIVE_MAX = 2048 };
	struct rf_worker *w = arg;
	struct rf_live *live = calloc(LIVE_MAX, sizeof(*live));
	size_t nlive = 0;

	for (int step = 0; step < w->steps; step++) {
		int release = nlive == LIVE_MAX || (nlive > 0 && rf_rand(&w->seed) % 100 < 48);

		if (release) {
			size_t i = rf_rand(&w->seed) % 4 == 0 ? rf_rand(&w->seed) % nlive : 0;
			rf_live_verify(&live[i]);
			rf_release(w->ring, live[i].p);
			live[i] = live[--nlive];
		} else {
			size_t len = rf_rand(&w->seed) % 100 < 95 ? rf_rand(&w->seed) % 2048
								   : rf_rand(&w->seed) % (200 * 1024);
			unsigned char *p = rf_reserve(w->ring, &w->cur, len);

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
		rf_release(w->ring, live[--nlive].p);
	}
	free(live);
	return NULL;
}

static void rf_random_use(int nthreads, int steps)
{
	struct rf_ring ring;
	struct rf_worker w[4];
	pthread_t tid[4];
	const struct rf_ring_cursor *curs[4];

	RF_CHECK_INT(rf_ring_init(&ring, 8 * MIB), 0);
	for (int i = 0; i < nthreads; i++) {
		w[i] = (struct rf_worker){&ring, RF_RING_CURSOR_INIT, 88172645463325252ULL + (uint64_t)i,
					  0, steps};
		curs[i] = &w[i].cur;
		pthread_create(&tid[i], NULL, rf_worker_run, &w[i]);
	}
	for (int i = 0; i < nthreads; i++) {
		pthread_join(tid[i], NULL);
		printf("# thread %d: %zu reservations refused\n", i, w[i].refused);
	}
	RF_CHECK_INT(rf_ring_check(&ring, curs, nthreads), 0);
	for (int i = 0; i < nthreads; i++)
		rf_close(&ring, &w[i].cur);
	RF_CHECK_INT(ring.free_chunks, ring.nchunks);
	RF_CHECK(rf_reserve(&ring, &w[0].cur, ring.size - 16) != NULL);
	rf_ring_destroy(&ring);
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
	RF_CHECK_INT(rf_ring_chunk_size(64 * MIB), 256 * 1024);
	RF_CHECK_INT(rf_ring_chunk_size(16 * MIB), 64 * 1024);
	RF_CHECK_INT(rf_ring_chunk_size(256 * 1024), 4 * 1024);
	RF_CHECK_INT(rf_ring_chunk_size(1024 * MIB), 4 * MIB);
	RF_CHECK_INT(rf_ring_chunk_size(64ULL * 1024 * MIB), 4 * MIB);
	RF_CHECK_INT(rf_ring_arena_size(100 * 1024 + 1), 104 * 1024);
	RF_CHECK_INT(rf_ring_record_size(0), 16);
	RF_CHECK_INT(rf_ring_record_size(1), 32);
	RF_CHECK_INT(rf_ring_record_size(16), 32);
	RF_CHECK_INT(rf_ring_record_size(17), 48);
}

RF_TEST_MAIN(RF_TEST_ENTRY(reserve_release_basics), RF_TEST_ENTRY(out_of_order_release_reuses_space),
	     RF_TEST_ENTRY(random_use_never_overlaps_and_drains),
	     RF_TEST_ENTRY(threads_share_the_ring), RF_TEST_ENTRY(chunk_size_scales))
