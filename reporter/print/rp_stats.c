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

uint64_t rp_stats_sum(const struct rp_snapshot *snap, const char *suffix)
{
	size_t slen = strlen(suffix);
	uint64_t sum = 0;

	for (unsigned i = 0; i < snap->stats_count; i++) {
		size_t nlen = strlen(rp_stats_info[i].name);
		if (nlen >= slen && strcmp(rp_stats_info[i].name + nlen - slen, suffix) == 0)
			sum += snap->stats[i];
	}
	return sum;
}
