/*
 * rp_stats.h - the counters of RF_STATS as the printers name them: the name
 * (the JSON key), the type, the unit and the help, declared once in
 * rf_shm.h, so a counter added there appears in every printer; and the
 * Prometheus name derived from the name and the unit.
 */
#ifndef RP_STATS_H
#define RP_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rf_shm.h"
#include "rp_snapshot.h"

struct rp_stat_info {
	const char *name;
	enum rf_stat_type type;
	enum rf_stat_unit unit;
	const char *help;
};

/* Indexed by enum rf_stat. */
extern const struct rp_stat_info rp_stats_info[RF_STAT__COUNT];

/* Longest Prometheus name of a counter, NUL included. */
#define RP_STAT_PROM_NAME_MAX 80

/*
 * The Prometheus name of stat, without "ringfence_": the name with its
 * unit's word moved to the end as the base unit (Prometheus wants seconds
 * and bytes, as the last word), then "_total" for a counter:
 * budget_wait_ns → budget_wait_seconds_total, budget_bytes_peak →
 * budget_peak_bytes, heap_trim_ns_max → heap_trim_max_seconds,
 * produce_msgs → produce_msgs_total.
 */
const char *rp_stat_prom_name(enum rf_stat stat);

/*
 * The unit the text and JSON show a value of this unit in, for a help line:
 * "ns" for NS, NULL when the help says it already (bytes) or there is none.
 */
const char *rp_stat_unit_text(enum rf_stat_unit unit);

/*
 * The value of stat as Prometheus shows it: a number of things or bytes as
 * the integer it is, nanoseconds as seconds, exactly (a decimal fraction
 * without trailing zeros).
 */
void rp_stat_prom_value(FILE *out, enum rf_stat stat, uint64_t value);

/*
 * nanoseconds as seconds, exactly: "1700000000", "0.25", "-1.5"; the form
 * of every time in the Prometheus output.
 */
void rp_prom_seconds(FILE *out, int64_t ns);

/*
 * What the produce entry points (rd_kafka_produce, producev, produceva,
 * produce_batch) accepted, as `ls` shows it: messages, and payload bytes.
 * Counters snap lacks (an older writer's) count as none.
 */
uint64_t rp_stats_produced_msgs(const struct rp_snapshot *snap);
uint64_t rp_stats_produced_bytes(const struct rp_snapshot *snap);

#endif /* RP_STATS_H */
