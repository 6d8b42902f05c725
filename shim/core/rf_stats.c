/*
 * rf_stats.c - per-thread counters, summed when published.
 *
 * Ordering: a block is linked into the list (release) before its thread
 * writes it; readers walk the list with acquire loads and read counters with
 * relaxed loads, so a sum may miss the very latest adds of a running thread
 * but never sees a torn or foreign value. Blocks are never unlinked.
 */
#include "rf_stats.h"

#include <stddef.h>

#include "rf_perthread.h"

struct rf_stats_block {
	struct rf_perthread_hdr hdr;
	uint64_t v[RF_STAT__COUNT];
};

/* A block outlives its thread and goes to the next one: totals never drop. */
static struct rf_perthread rf_stats_blocks = RF_PERTHREAD_INIT(struct rf_stats_block, NULL);
static uint64_t rf_stats_orphans[RF_STAT__COUNT]; /* atomic: adds from threads without a block */

__thread uint64_t *rf_stats_tls;
static __thread int rf_tls_registering __attribute__((tls_model("initial-exec")));

void rf_stats_add_slow(enum rf_stat stat, uint64_t n)
{
	struct rf_stats_block *b = NULL;

	if ((unsigned)stat >= RF_STAT__COUNT)
		return;
	if (rf_stats_tls == NULL) {
		/* Registration may itself count (or allocate): such adds go to the orphans. */
		if (!rf_tls_registering) {
			rf_tls_registering = 1;
			b = rf_perthread_take(&rf_stats_blocks);
			if (b != NULL)
				rf_stats_tls = b->v;
			rf_tls_registering = 0;
		}
		if (b == NULL) {
			__atomic_fetch_add(&rf_stats_orphans[stat], n, __ATOMIC_RELAXED);
			return;
		}
	}
	__atomic_store_n(&rf_stats_tls[stat], rf_stats_tls[stat] + n, __ATOMIC_RELAXED);
}

void rf_stats_snapshot(uint64_t *out)
{
	for (unsigned i = 0; i < RF_STAT__COUNT; i++)
		out[i] = __atomic_load_n(&rf_stats_orphans[i], __ATOMIC_RELAXED);
	for (struct rf_stats_block *b = rf_perthread_first(&rf_stats_blocks); b != NULL;
	     b = rf_perthread_next(b))
		for (unsigned i = 0; i < RF_STAT__COUNT; i++)
			out[i] += __atomic_load_n(&b->v[i], __ATOMIC_RELAXED);
}

void rf_stats_reset(void)
{
	/* In a fork child: the only thread left is this one; the others' blocks are free. */
	struct rf_stats_block *mine =
		rf_stats_tls != NULL ? (struct rf_stats_block *)((char *)rf_stats_tls -
								 offsetof(struct rf_stats_block, v))
				     : NULL;

	rf_perthread_fork_child(&rf_stats_blocks, mine);
	for (struct rf_stats_block *b = rf_perthread_first(&rf_stats_blocks); b != NULL;
	     b = rf_perthread_next(b))
		for (unsigned i = 0; i < RF_STAT__COUNT; i++)
			__atomic_store_n(&b->v[i], 0, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < RF_STAT__COUNT; i++)
		__atomic_store_n(&rf_stats_orphans[i], 0, __ATOMIC_RELAXED);
}
