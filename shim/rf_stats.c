/*
 * rf_stats.c - the process-local counters.
 */
#include "rf_stats.h"

static uint64_t rf_stats_values[RF_STAT__COUNT];

void rf_stats_add(enum rf_stat stat, uint64_t n)
{
	if ((unsigned)stat < RF_STAT__COUNT)
		__atomic_fetch_add(&rf_stats_values[stat], n, __ATOMIC_RELAXED);
}

void rf_stats_snapshot(uint64_t *out)
{
	for (unsigned i = 0; i < RF_STAT__COUNT; i++)
		out[i] = __atomic_load_n(&rf_stats_values[i], __ATOMIC_RELAXED);
}

void rf_stats_reset(void)
{
	for (unsigned i = 0; i < RF_STAT__COUNT; i++)
		__atomic_store_n(&rf_stats_values[i], 0, __ATOMIC_RELAXED);
}
