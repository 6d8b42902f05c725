/*
 * rf_heap_trim.h - giving the allocator's free memory back after a burst
 * (RINGFENCE_HEAP_TRIM, docs/heap.md).
 *
 * glibc keeps what is freed in its arenas (one per thread, up to eight per
 * core) for the next allocation, so a process's resident memory stays near
 * its peak long after its live heap has fallen. malloc_trim(0) gives the
 * free pages back, holding each arena's lock in turn while it walks it.
 *
 * The rule. "The rest" is resident memory that live heap and the budget's
 * arena do not explain: code, stacks, the allocator's free memory. A trim is
 * due when the rest has stayed more than RF_HEAP_TRIM_SLACK plus half of
 * what they explain above its floor for RF_HEAP_TRIM_HOLD_NS. The floor is
 * the lowest rest seen since the last trim (or ever), and a trim sets it to
 * the rest it left. So a busy process whose memory is in use is never
 * trimmed, and one whose rest is not the allocator's (a Go runtime, mapped
 * files) trims at most once per slack of growth.
 */
#ifndef RF_HEAP_TRIM_H
#define RF_HEAP_TRIM_H

#include <stdbool.h>
#include <stdint.h>

#define RF_HEAP_TRIM_SLACK ((uint64_t)8 << 20)
#define RF_HEAP_TRIM_HOLD_NS ((int64_t)1000000000)

struct rf_heap_trim {
	uint64_t floor;      /* the lowest rest since the last trim; UINT64_MAX: none seen */
	int64_t above_since; /* when the rest rose past the threshold; 0: it is below */
	uint64_t trims;      /* figures: trims made */
	uint64_t trimmed;    /* resident bytes they gave back */
	uint64_t longest_ns; /* the longest trim */
};

#define RF_HEAP_TRIM_INIT                                                                          \
	{                                                                                          \
		UINT64_MAX, 0, 0, 0, 0                                                             \
	}

/*
 * One look at resident memory and the bytes live heap and the arena
 * explain, at now_ns (monotonic): whether to trim now.
 */
bool rf_heap_trim_due(struct rf_heap_trim *t, uint64_t rss, uint64_t explained, int64_t now_ns);

/* A trim took ns and left rss_after of rss_before resident. */
void rf_heap_trim_done(struct rf_heap_trim *t, uint64_t rss_before, uint64_t rss_after,
		       uint64_t explained, uint64_t ns);

/*
 * The publisher's look (rf_heap_publish): trims with malloc_trim(0) when due
 * and the process's resident memory can be read.
 */
void rf_heap_trim_look(struct rf_heap_trim *t, uint64_t explained, int64_t now_ns);

#endif /* RF_HEAP_TRIM_H */
