/*
 * rf_publish.c - one publication of every concern's figures (rf_publish.h).
 *
 * Every figure reaches the segment one way: the per-thread counters are
 * summed into the publication, each concern's publisher adds its gauges and
 * writes its sections (rf_publication, core/rf_segment.h), and the
 * publication is written under the sequence lock. The order matters: the
 * budget's publisher reads the heap's live bytes (the heap's growth while
 * threads wait for budget), the heap's publisher leaves live bytes by heap id
 * for the thread groups, and the trim weighs resident memory against live
 * heap and the budget's arena.
 */
#include "rf_publish.h"

#include "rf_budget.h"
#include "rf_heap.h"
#include "rf_thread_shim.h"

/* In this order: the heap's figures first, for the budget and the thread groups. */
static const rf_publisher_fn rf_publishers[] = {
	rf_heap_publish,        /* shim/heap/rf_heap.c */
	rf_budget_publish,      /* shim/budget/rf_budget.c */
	rf_thread_shim_publish, /* shim/preload/rf_thread_shim.c, over shim/threads/ */
	rf_heap_trim_publish,   /* shim/heap/rf_heap.c, rf_heap_trim.c */
};

void rf_publish(struct rf_segment *seg, const struct rf_shm_config *config, bool exiting,
		bool status_known, int status)
{
	/* Publications are serialised by the caller: one is enough. */
	static struct rf_publication pub;

	if (seg->shm == NULL)
		return;
	rf_publication_begin(&pub, seg, config, exiting);
	for (size_t i = 0; i < sizeof(rf_publishers) / sizeof(rf_publishers[0]); i++)
		rf_publishers[i](&pub);
	if (exiting)
		rf_segment_mark_exited(seg, status_known, status_known ? status : 0);
	rf_publication_end(&pub);
}
