/*
 * rf_stats.h - the process-local counters behind the segment's stats section.
 *
 * Relaxed atomic adds on process-local memory; the publisher copies them into
 * the segment under its sequence lock. Not for the malloc hot path.
 */
#ifndef RF_STATS_H
#define RF_STATS_H

#include <stdint.h>

#include "rf_shm.h"

/* Add n to a counter (or a gauge that only grows). */
void rf_stats_add(enum rf_stat stat, uint64_t n);

/* Copy every counter into out[RF_STAT__COUNT]. */
void rf_stats_snapshot(uint64_t *out);

/* Zero every counter: a fork child starts its own figures. */
void rf_stats_reset(void);

#endif /* RF_STATS_H */
