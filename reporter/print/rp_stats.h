/*
 * rp_stats.h - the counters of RF_STATS as the printers name them: the name
 * (the JSON key and the Prometheus name), the type and the help, declared
 * once in rf_shm.h, so a counter added there appears in every printer.
 */
#ifndef RP_STATS_H
#define RP_STATS_H

#include <stdint.h>

#include "rf_shm.h"
#include "rp_snapshot.h"

struct rp_stat_info {
	const char *name;
	enum rf_stat_type type;
	const char *help;
};

/* Indexed by enum rf_stat. */
extern const struct rp_stat_info rp_stats_info[RF_STAT__COUNT];

/* Sum of the counters snap has whose name ends in suffix ("_msgs", "_bytes"). */
uint64_t rp_stats_sum(const struct rp_snapshot *snap, const char *suffix);

#endif /* RP_STATS_H */
