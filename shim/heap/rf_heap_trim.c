/*
 * rf_heap_trim.c - giving the allocator's free memory back (rf_heap_trim.h).
 */
#include "rf_heap_trim.h"

#include <errno.h>
#include <malloc.h>
#include <time.h>

#include "rf_proc.h"
#include "rf_time.h"

static uint64_t rf_heap_trim_rest(uint64_t rss, uint64_t explained)
{
	return rss > explained ? rss - explained : 0;
}

bool rf_heap_trim_due(struct rf_heap_trim *t, uint64_t rss, uint64_t explained, int64_t now_ns)
{
	uint64_t rest = rf_heap_trim_rest(rss, explained);

	if (rest < t->floor)
		t->floor = rest;
	if (rest - t->floor <= RF_HEAP_TRIM_SLACK + explained / 2) {
		t->above_since = 0;
		return false;
	}
	if (t->above_since == 0) {
		t->above_since = now_ns;
		return false;
	}
	return now_ns - t->above_since >= RF_HEAP_TRIM_HOLD_NS;
}

void rf_heap_trim_done(struct rf_heap_trim *t, uint64_t rss_before, uint64_t rss_after,
		       uint64_t explained, uint64_t ns)
{
	t->trims++;
	t->trimmed += rss_before > rss_after ? rss_before - rss_after : 0;
	if (ns > t->longest_ns)
		t->longest_ns = ns;
	/* What the trim could not give back is not the allocator's to give. */
	t->floor = rf_heap_trim_rest(rss_after, explained);
	t->above_since = 0;
}

void rf_heap_trim_look(struct rf_heap_trim *t, uint64_t explained, int64_t now_ns)
{
	uint64_t vm, before, after;
	int64_t start;
	int saved = errno;

	if (rf_proc_self_memory(&vm, &before) == 0 &&
	    rf_heap_trim_due(t, before, explained, now_ns)) {
		start = rf_clock_ns(CLOCK_MONOTONIC);
		malloc_trim(0);
		after = before;
		rf_proc_self_memory(&vm, &after);
		rf_heap_trim_done(t, before, after, explained,
				  (uint64_t)(rf_clock_ns(CLOCK_MONOTONIC) - start));
	}
	errno = saved;
}
