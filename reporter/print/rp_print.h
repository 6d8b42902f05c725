/*
 * rp_print.h - what the reporter writes: human text, JSON, Prometheus.
 *
 * Every printer walks RF_STATS and RF_CONFIG, so a counter or setting added
 * to rf_shm.h appears everywhere without a change here. Strings from a
 * segment are untrusted: text output makes them terminal-safe, JSON escapes
 * them completely.
 */
#ifndef RP_PRINT_H
#define RP_PRINT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rp_snapshot.h"

/* Sum of the counters whose name ends in suffix ("_msgs", "_bytes"). */
uint64_t rp_stats_sum(const uint64_t *stats, const char *suffix);

/* `stat`: one process, for people. now_ns is CLOCK_REALTIME, for ages. */
void rp_stat_print_text(FILE *out, const struct rp_snapshot *snap, int64_t now_ns);

/* `stat --json`: one process as a JSON object (no trailing newline). */
void rp_stat_print_json(FILE *out, const struct rp_snapshot *snap);

/* `stat --prometheus`: every metric once, one sample per snapshot. */
void rp_stat_print_prometheus(FILE *out, const struct rp_snapshot *snaps, size_t count);

/* `ls`: header, a row per readable segment, a row per unreadable one.
 * width is the line width to fit the command into; 0 means no limit. */
void rp_ls_print_header(FILE *out);
void rp_ls_print_row(FILE *out, const struct rp_snapshot *snap, int64_t now_ns, size_t width);
void rp_ls_print_error(FILE *out, pid_t pid, const struct rp_failure *fail);

/* `ls --json`: one array element (no separator), readable or not. */
void rp_ls_print_json_row(FILE *out, const struct rp_snapshot *snap);
void rp_ls_print_json_error(FILE *out, pid_t pid, const char *path, const struct rp_failure *fail);

#endif /* RP_PRINT_H */
