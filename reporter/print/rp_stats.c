/*
 * rp_stats.c - the counters of RF_STATS as the printers name them.
 */
#include "rp_stats.h"

#include <string.h>

const struct rp_stat_info rp_stats_info[RF_STAT__COUNT] = {
#define RP_STAT_INFO(name, type, help) [RF_STAT_##name] = {#name, RF_STAT_TYPE_##type, help},
	RF_STATS(RP_STAT_INFO)
#undef RP_STAT_INFO
};

/* The entry points' counters of one kind, in RF_STATS order: messages or bytes accepted. */
static const enum rf_stat rp_stats_entry_msgs[] = {
	RF_STAT_produce_msgs,
	RF_STAT_producev_msgs,
	RF_STAT_produceva_msgs,
	RF_STAT_produce_batch_msgs,
};
static const enum rf_stat rp_stats_entry_bytes[] = {
	RF_STAT_produce_bytes,
	RF_STAT_producev_bytes,
	RF_STAT_produceva_bytes,
	RF_STAT_produce_batch_bytes,
};

static uint64_t rp_stats_entry_sum(const struct rp_snapshot *snap, const enum rf_stat *stats)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < 4; i++)
		if (rp_snapshot_has_stat(snap, stats[i]))
			sum += snap->stats[stats[i]];
	return sum;
}

uint64_t rp_stats_produced_msgs(const struct rp_snapshot *snap)
{
	return rp_stats_entry_sum(snap, rp_stats_entry_msgs);
}

uint64_t rp_stats_produced_bytes(const struct rp_snapshot *snap)
{
	return rp_stats_entry_sum(snap, rp_stats_entry_bytes);
}
