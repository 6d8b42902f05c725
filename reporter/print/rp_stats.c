/*
 * rp_stats.c - the counters of RF_STATS as the printers name them.
 */
#include "rp_stats.h"

#include <inttypes.h>
#include <pthread.h>
#include <string.h>

const struct rp_stat_info rp_stats_info[RF_STAT__COUNT] = {
#define RP_STAT_INFO(name, type, unit, help)                                                       \
	[RF_STAT_##name] = {#name, RF_STAT_TYPE_##type, RF_STAT_UNIT_##unit, help},
	RF_STATS(RP_STAT_INFO)
#undef RP_STAT_INFO
};

/* ---- Prometheus names --------------------------------------------------- */

static char rp_stats_prom_names[RF_STAT__COUNT][RP_STAT_PROM_NAME_MAX];
static pthread_once_t rp_stats_prom_once = PTHREAD_ONCE_INIT;

/* The word a name holds for its unit, and the base unit Prometheus wants. */
static const struct {
	const char *word, *base;
} rp_stat_units[] = {
	[RF_STAT_UNIT_NONE] = {NULL, NULL},
	[RF_STAT_UNIT_BYTES] = {"bytes", "bytes"},
	[RF_STAT_UNIT_NS] = {"ns", "seconds"},
};

/* name without the word (a whole "_"-separated word), then "_<base>" and "_total". */
static void rp_stat_prom_derive(const struct rp_stat_info *info, char *out, size_t len)
{
	const char *word = rp_stat_units[info->unit].word;
	size_t used = 0;
	const char *p = info->name;

	out[0] = '\0';
	while (*p) {
		const char *end = strchr(p, '_');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (word == NULL || n != strlen(word) || strncmp(p, word, n) != 0)
			used += (size_t)snprintf(out + used, used < len ? len - used : 0, "%s%.*s",
						 used ? "_" : "", (int)n, p);
		p += n + (end != NULL);
	}
	if (word != NULL)
		used += (size_t)snprintf(out + used, used < len ? len - used : 0, "_%s",
					 rp_stat_units[info->unit].base);
	if (info->type == RF_STAT_TYPE_COUNTER)
		snprintf(out + used, used < len ? len - used : 0, "_total");
}

static void rp_stats_prom_init(void)
{
	for (int i = 0; i < RF_STAT__COUNT; i++)
		rp_stat_prom_derive(&rp_stats_info[i], rp_stats_prom_names[i],
				    sizeof(rp_stats_prom_names[i]));
}

const char *rp_stat_prom_name(enum rf_stat stat)
{
	pthread_once(&rp_stats_prom_once, rp_stats_prom_init);
	return (unsigned)stat < RF_STAT__COUNT ? rp_stats_prom_names[stat] : "";
}

const char *rp_stat_unit_text(enum rf_stat_unit unit)
{
	return unit == RF_STAT_UNIT_NS ? "ns" : NULL;
}

/* a nanoseconds as seconds after sign, exactly: no trailing zero, no int64 overflow. */
static void rp_ns_as_seconds(FILE *out, const char *sign, uint64_t a)
{
	uint64_t frac = a % 1000000000;
	int digits = 9;

	fprintf(out, "%s%" PRIu64, sign, a / 1000000000);
	if (frac == 0)
		return;
	while (frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	fprintf(out, ".%0*" PRIu64, digits, frac);
}

void rp_prom_seconds(FILE *out, int64_t ns)
{
	rp_ns_as_seconds(out, ns < 0 ? "-" : "",
			 ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns);
}

void rp_stat_prom_value(FILE *out, enum rf_stat stat, uint64_t value)
{
	if (rp_stats_info[stat].unit == RF_STAT_UNIT_NS)
		rp_ns_as_seconds(out, "", value);
	else
		fprintf(out, "%" PRIu64, value);
}

/* ---- sums --------------------------------------------------------------- */

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
