/*
 * rf_stats.h - the process-local counters behind the segment's stats section.
 *
 * Each thread counts in a block of its own: an add is a plain load and a
 * relaxed store on memory no other thread writes (no lock prefix, no shared
 * cache line), so counting costs the same on the produce path and, later,
 * the allocation path. The publisher sums the blocks. A block outlives its
 * thread and is handed to the next new thread, so totals never drop and the
 * number of blocks stays that of the most threads ever alive at once.
 * Blocks come from mmap, never from malloc (the shim interposes it).
 */
#ifndef RF_STATS_H
#define RF_STATS_H

#include <stdint.h>

#include "rf_shm.h"

/* Add n to a counter of this thread. Async-signal-safe once the thread has a block. */
void rf_stats_add(enum rf_stat stat, uint64_t n);

/* Sum of every thread's counters into out[RF_STAT__COUNT]. */
void rf_stats_snapshot(uint64_t *out);

/* Zero every counter: a fork child starts its own figures. */
void rf_stats_reset(void);

#endif /* RF_STATS_H */
