/*
 * rf_stats.h - the process-local counters behind the segment's stats section.
 *
 * Each thread counts in a block of its own (rf_perthread.h): an add is a
 * plain load and a relaxed store on memory no other thread writes (no lock
 * prefix, no shared cache line), so the produce path counts several times a
 * message at little cost. The publisher sums the blocks. A block outlives
 * its thread and is handed to the next new thread, so totals never drop.
 */
#ifndef RF_STATS_H
#define RF_STATS_H

#include <stdint.h>

#include "rf_shm.h"

/* This thread's counters (its block's), or NULL until its first add. */
extern __thread uint64_t *rf_stats_tls
	__attribute__((tls_model("initial-exec"), visibility("hidden")));

/* The first add of a thread: takes its block. */
void rf_stats_add_slow(enum rf_stat stat, uint64_t n);

/*
 * Add n to a counter of this thread: inline, as the produce path counts
 * several times per message. Async-signal-safe once the thread has a block.
 */
static inline void rf_stats_add(enum rf_stat stat, uint64_t n)
{
	uint64_t *v = rf_stats_tls;

	if (__builtin_expect(v != NULL && (unsigned)stat < RF_STAT__COUNT, 1))
		__atomic_store_n(&v[stat], v[stat] + n, __ATOMIC_RELAXED);
	else
		rf_stats_add_slow(stat, n);
}

/*
 * Several adds in a row: this thread's counters, loaded once, or NULL
 * before the thread's first rf_stats_add (which takes its block).
 */
static inline uint64_t *rf_stats_mine(void)
{
	return rf_stats_tls;
}

/* Add n to a counter of v, what rf_stats_mine returned (not NULL). */
static inline void rf_stats_add_to(uint64_t *v, enum rf_stat stat, uint64_t n)
{
	__atomic_store_n(&v[stat], v[stat] + n, __ATOMIC_RELAXED);
}

/* Sum of every thread's counters into out[RF_STAT__COUNT]. */
void rf_stats_snapshot(uint64_t *out);

/* Zero every counter: a fork child starts its own figures. */
void rf_stats_reset(void);

#endif /* RF_STATS_H */
