/*
 * test_ring.c - the pooled ring: alignment, out-of-order release, spans,
 * no overlap under random use, and the whole arena back once all is released.
 */
#include "rf_ring.h"
#include "rf_test.h"

#define MIB ((size_t)1024 * 1024)

RF_TEST(reserve_release_basics)
{
	struct rf_ring ring;
	unsigned char *p, *q;

	RF_CHECK_INT(rf_ring_init(&ring, 4 * MIB), 0);
	RF_CHECK_INT(ring.chunk, 4 * 1024);
	RF_CHECK_INT(ring.nchunks, 1024);
	p = rf_ring_reserve(&ring, 100);
	q = rf_ring_reserve(&ring, 1);
	RF_CHECK(p != NULL && q != NULL);
	RF_CHECK_INT((uintptr_t)p % 16, 0);
	RF_CHECK_INT((uintptr_t)q % 16, 0);
	RF_CHECK(q >= p + 100);
	RF_CHECK(rf_ring_contains(&ring, p) && rf_ring_contains(&ring, q + 0));
	RF_CHECK(!rf_ring_contains(&ring, ring.base + ring.size));
	RF_CHECK(!rf_ring_contains(&ring, ring.base - 1));
	RF_CHECK(!rf_ring_contains(&ring, NULL));
	RF_CHECK_INT(rf_ring_record_of(p)->len, 100);
	RF_CHECK_INT(ring.records, 2);
	RF_CHECK_INT(ring.bytes, rf_ring_record_size(100) + rf_ring_record_size(1));
	RF_CHECK_INT(rf_ring_check(&ring), 0);
	rf_ring_release(&ring, p);
	rf_ring_release(&ring, q);
	RF_CHECK_INT(ring.records, 0);
	RF_CHECK_INT(ring.bytes, 0);
	RF_CHECK_INT(rf_ring_check(&ring), 0);
	RF_CHECK(rf_ring_reserve(&ring, 4 * MIB) == NULL); /* header does not fit */
	RF_CHECK(rf_ring_reserve(&ring, 4 * MIB - 16) != NULL); /* the whole arena */
	RF_CHECK(rf_ring_reserve(&ring, 1) == NULL);
	rf_ring_destroy(&ring);
}

/* Released in the middle while the oldest is still live: the space comes back. */
RF_TEST(out_of_order_release_reuses_space)
{
	struct rf_ring ring;
	void *recs[16 * 16];
	size_t n = 0;
	void *p;

	RF_CHECK_INT(rf_ring_init(&ring, 64 * MIB), 0); /* 1024 chunks of 64 KiB */
	RF_CHECK_INT(ring.chunk, 64 * 1024);
	for (size_t i = 0; i < 16 * 16; i++) /* fill 16 chunks */
		RF_CHECK((recs[n++] = rf_ring_reserve(&ring, 4096 - 16)) != NULL);
	/* Take the other 1008 chunks with records of a whole chunk each. */
	for (size_t i = 16; i < 1024; i++)
		RF_CHECK(rf_ring_reserve(&ring, ring.chunk - 16) != NULL);
	RF_CHECK(rf_ring_reserve(&ring, 1) == NULL);
	RF_CHECK_INT(ring.free_chunks, 0);
	/* Release chunk 7's records; chunk 0 (the oldest) stays live. */
	for (size_t i = 7 * 16; i < 8 * 16; i++)
		rf_ring_release(&ring, recs[i]);
	RF_CHECK_INT(rf_ring_check(&ring), 0);
	RF_CHECK_INT(ring.free_chunks, 1);
	p = rf_ring_reserve(&ring, 4096 - 16);
	RF_CHECK(p != NULL);
	RF_CHECK((unsigned char *)p - ring.base >= (ptrdiff_t)(7 * ring.chunk) &&
		 (unsigned char *)p - ring.base < (ptrdiff_t)(8 * ring.chunk));
	/* A span of 3 chunks needs 3 contiguous free ones: not there yet. */
	RF_CHECK(rf_ring_reserve(&ring, 3 * ring.chunk - 64) == NULL);
	for (size_t i = 9 * 16; i < 12 * 16; i++)
		rf_ring_release(&ring, recs[i]);
	p = rf_ring_reserve(&ring, 3 * ring.chunk - 64);
	RF_CHECK(p != NULL);
	RF_CHECK_INT((unsigned char *)p - 16 - ring.base, 9 * ring.chunk);
	RF_CHECK_INT(rf_ring_check(&ring), 0);
	rf_ring_release(&ring, p);
	RF_CHECK_INT(rf_ring_check(&ring), 0);
	rf_ring_destroy(&ring);
}

/* xorshift: reproducible random sizes and release order. */
static uint64_t rf_rand_state = 88172645463325252ULL;

static uint64_t rf_rand(void)
{
	rf_rand_state ^= rf_rand_state << 13;
	rf_rand_state ^= rf_rand_state >> 7;
	rf_rand_state ^= rf_rand_state << 17;
	return rf_rand_state;
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

RF_TEST(random_use_never_overlaps_and_drains)
{
	enum { LIVE_MAX = 4096 };
	static struct rf_live live[LIVE_MAX];
	struct rf_ring ring;
	size_t nlive = 0, failures = 0, peak = 0;

	RF_CHECK_INT(rf_ring_init(&ring, 8 * MIB), 0);
	for (int step = 0; step < 200000; step++) {
		int release = nlive == LIVE_MAX || (nlive > 0 && rf_rand() % 100 < 48);

		if (release) {
			/* Mostly oldest-first with some out of order, as partitions behave. */
			size_t i = rf_rand() % 4 == 0 ? rf_rand() % nlive : 0;
			rf_live_verify(&live[i]);
			rf_ring_release(&ring, live[i].p);
			live[i] = live[--nlive];
		} else {
			size_t len = rf_rand() % 100 < 95 ? rf_rand() % 2048 : rf_rand() % (200 * 1024);
			unsigned char *p = rf_ring_reserve(&ring, len);

			if (p == NULL) {
				failures++;
				continue;
			}
			RF_CHECK_INT((uintptr_t)p % 16, 0);
			live[nlive] = (struct rf_live){p, len, (unsigned char)(step & 0xff)};
			memset(p, live[nlive].fill, len);
			nlive++;
		}
		if (ring.bytes > peak)
			peak = ring.bytes;
		if (step % 5000 == 0)
			RF_CHECK_INT(rf_ring_check(&ring), 0);
	}
	printf("# peak %zu bytes of %zu, %zu reservations refused\n", peak, ring.size, failures);
	while (nlive > 0) {
		rf_live_verify(&live[nlive - 1]);
		rf_ring_release(&ring, live[--nlive].p);
	}
	RF_CHECK_INT(rf_ring_check(&ring), 0);
	RF_CHECK_INT(ring.bytes, 0);
	RF_CHECK_INT(ring.free_chunks + (ring.open != RF_RING_NONE), ring.nchunks);
	RF_CHECK(rf_ring_reserve(&ring, ring.size - 16) != NULL);
	rf_ring_destroy(&ring);
}

RF_TEST(chunk_size_scales)
{
	RF_CHECK_INT(rf_ring_chunk_size(64 * MIB), 64 * 1024);
	RF_CHECK_INT(rf_ring_chunk_size(256 * 1024), 4 * 1024);
	RF_CHECK_INT(rf_ring_chunk_size(1024 * MIB), 1024 * 1024);
	RF_CHECK_INT(rf_ring_chunk_size(64ULL * 1024 * MIB), 1024 * 1024);
	RF_CHECK_INT(rf_ring_arena_size(100 * 1024 + 1), 104 * 1024);
	RF_CHECK_INT(rf_ring_record_size(0), 16);
	RF_CHECK_INT(rf_ring_record_size(1), 32);
	RF_CHECK_INT(rf_ring_record_size(16), 32);
	RF_CHECK_INT(rf_ring_record_size(17), 48);
}

RF_TEST_MAIN(RF_TEST_ENTRY(reserve_release_basics), RF_TEST_ENTRY(out_of_order_release_reuses_space),
	     RF_TEST_ENTRY(random_use_never_overlaps_and_drains), RF_TEST_ENTRY(chunk_size_scales))
