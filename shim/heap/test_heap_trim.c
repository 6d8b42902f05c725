/*
 * test_heap_trim.c - when a trim is due: only after resident memory stayed
 * well above what live heap and the arena explain for a while, never for
 * memory in use, at most once per slack of growth of memory trimming cannot
 * give back; and a real trim gives glibc's free memory back.
 */
#include <malloc.h>
#include <stdlib.h>

#include "rf_heap_trim.h"
#include "rf_proc.h"
#include "rf_test.h"

#define MIB ((uint64_t)1 << 20)
#define SEC ((int64_t)1000000000)

RF_TEST(due_after_the_rest_stays_high)
{
	struct rf_heap_trim t = RF_HEAP_TRIM_INIT;

	/* Idle: 10 MiB resident, 2 explained; the floor is the rest, 8 MiB. */
	RF_CHECK(!rf_heap_trim_due(&t, 10 * MIB, 2 * MIB, 1 * SEC));
	RF_CHECK_INT(t.floor, 8 * MIB);
	/* A burst in use: resident follows what is explained, never due. */
	for (int64_t s = 2; s < 10; s++)
		RF_CHECK(!rf_heap_trim_due(&t, 90 * MIB, 80 * MIB, s * SEC));
	/* After it: 60 MiB resident, 4 explained, rest 56 above an 8 MiB floor. */
	RF_CHECK(!rf_heap_trim_due(&t, 60 * MIB, 4 * MIB, 10 * SEC));
	RF_CHECK(!rf_heap_trim_due(&t, 60 * MIB, 4 * MIB, 10 * SEC + SEC / 2));
	RF_CHECK(rf_heap_trim_due(&t, 60 * MIB, 4 * MIB, 11 * SEC));
	rf_heap_trim_done(&t, 60 * MIB, 14 * MIB, 4 * MIB, 3000);
	RF_CHECK_INT(t.trims, 1);
	RF_CHECK_INT(t.trimmed, 46 * MIB);
	RF_CHECK_INT(t.longest_ns, 3000);
	RF_CHECK_INT(t.floor, 10 * MIB);
	RF_CHECK(!rf_heap_trim_due(&t, 14 * MIB, 4 * MIB, 20 * SEC));
}

RF_TEST(a_dip_restarts_the_hold)
{
	struct rf_heap_trim t = RF_HEAP_TRIM_INIT;

	RF_CHECK(!rf_heap_trim_due(&t, 10 * MIB, 0, 0));
	RF_CHECK(!rf_heap_trim_due(&t, 40 * MIB, 0, 1 * SEC));
	RF_CHECK(!rf_heap_trim_due(&t, 40 * MIB, 30 * MIB, 1 * SEC + SEC / 2)); /* in use again */
	RF_CHECK(!rf_heap_trim_due(&t, 40 * MIB, 0, 2 * SEC));
	RF_CHECK(!rf_heap_trim_due(&t, 40 * MIB, 0, 2 * SEC + SEC / 2));
	RF_CHECK(rf_heap_trim_due(&t, 40 * MIB, 0, 3 * SEC));
}

RF_TEST(memory_a_trim_cannot_give_back_is_trimmed_once)
{
	struct rf_heap_trim t = RF_HEAP_TRIM_INIT;

	RF_CHECK(!rf_heap_trim_due(&t, 10 * MIB, 0, 0));
	/* 100 MiB of mappings that are not the allocator's (a Go heap, files). */
	RF_CHECK(!rf_heap_trim_due(&t, 110 * MIB, 0, 1 * SEC));
	RF_CHECK(rf_heap_trim_due(&t, 110 * MIB, 0, 2 * SEC));
	rf_heap_trim_done(&t, 110 * MIB, 110 * MIB, 0, 1000);
	for (int64_t s = 3; s < 100; s++)
		RF_CHECK(!rf_heap_trim_due(&t, 110 * MIB, 0, s * SEC));
	/* It grows by more than the slack: once more. */
	RF_CHECK(!rf_heap_trim_due(&t, 120 * MIB, 0, 100 * SEC));
	RF_CHECK(rf_heap_trim_due(&t, 120 * MIB, 0, 101 * SEC));
	RF_CHECK_INT(t.trimmed, 0);
}

/* glibc keeps 64 MiB freed in small blocks; the look that finds it due gives it back. */
RF_TEST(a_look_trims_glibc)
{
	struct rf_heap_trim t = RF_HEAP_TRIM_INIT;
	enum {
		N = 64 * 1024,
		SIZE = 1000
	};
	static void *blocks[N];
	uint64_t vm, rss0, rss1;

	if (RF_TEST_SANITIZED_HEAP)
		RF_SKIP("a sanitizer's allocator, not glibc's, serves malloc");

	/* Small blocks: from the main arena's heap, not mmap. */
	RF_CHECK_INT(rf_proc_self_memory(&vm, &rss0), 0);
	rf_heap_trim_look(&t, 0, 0);
	for (int i = 0; i < N; i++) {
		blocks[i] = malloc(SIZE);
		RF_CHECK(blocks[i] != NULL);
		((volatile char *)blocks[i])[0] = 1;
		for (int j = 0; j < SIZE; j += 512)
			((volatile char *)blocks[i])[j] = 1;
	}
	/* All freed but the last: glibc cannot shrink its heap from the top. */
	for (int i = 0; i < N - 1; i++)
		free(blocks[i]);
	rf_heap_trim_look(&t, 0, 1 * SEC);
	rf_heap_trim_look(&t, 0, 2 * SEC);
	RF_CHECK_INT(rf_proc_self_memory(&vm, &rss1), 0);
	RF_CHECK_INT(t.trims, 1);
	RF_CHECK(t.trimmed >= 32 * MIB);
	RF_CHECK(rss1 < rss0 + 16 * MIB);
	RF_CHECK(t.longest_ns > 0);
	free(blocks[N - 1]);
}

RF_TEST_MAIN(RF_TEST_ENTRY(due_after_the_rest_stays_high), RF_TEST_ENTRY(a_dip_restarts_the_hold),
	     RF_TEST_ENTRY(memory_a_trim_cannot_give_back_is_trimmed_once),
	     RF_TEST_ENTRY(a_look_trims_glibc))
