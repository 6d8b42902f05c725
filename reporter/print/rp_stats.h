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

/*
 * What the produce entry points (rd_kafka_produce, producev, produceva,
 * produce_batch) accepted, as `ls` shows it: messages, and payload bytes.
 * Counters snap lacks (an older writer's) count as none.
 */
uint64_t rp_stats_produced_msgs(const struct rp_snapshot *snap);
uint64_t rp_stats_produced_bytes(const struct rp_snapshot *snap);

#endif /* RP_STATS_H */
