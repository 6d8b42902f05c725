/*
 * rf_produce.c - accounting of the produce entry points.
 */
#include "rf_produce.h"

#include "rf_stats.h"

static const struct {
	enum rf_stat calls, msgs, bytes, failed;
} rf_produce_stats[RF_PRODUCE_ENTRY__COUNT] = {
	[RF_PRODUCE_ENTRY_PRODUCE] = {RF_STAT_produce_calls, RF_STAT_produce_msgs,
				      RF_STAT_produce_bytes, RF_STAT_produce_failed},
	[RF_PRODUCE_ENTRY_PRODUCEV] = {RF_STAT_producev_calls, RF_STAT_producev_msgs,
				       RF_STAT_producev_bytes, RF_STAT_producev_failed},
	[RF_PRODUCE_ENTRY_PRODUCEVA] = {RF_STAT_produceva_calls, RF_STAT_produceva_msgs,
					RF_STAT_produceva_bytes, RF_STAT_produceva_failed},
	[RF_PRODUCE_ENTRY_PRODUCE_BATCH] = {RF_STAT_produce_batch_calls,
					    RF_STAT_produce_batch_msgs,
					    RF_STAT_produce_batch_bytes,
					    RF_STAT_produce_batch_failed},
};

void rf_produce_account(enum rf_produce_entry entry, uint64_t accepted, uint64_t rejected,
			uint64_t bytes)
{
	if ((unsigned)entry >= RF_PRODUCE_ENTRY__COUNT)
		return;
	rf_stats_add(rf_produce_stats[entry].calls, 1);
	if (accepted)
		rf_stats_add(rf_produce_stats[entry].msgs, accepted);
	if (rejected)
		rf_stats_add(rf_produce_stats[entry].failed, rejected);
	if (bytes)
		rf_stats_add(rf_produce_stats[entry].bytes, bytes);
}
