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

#include "rp_segment.h"

/* A JSON string literal for s, quotes included; pure ASCII output. */
void rp_json_string(FILE *out, const char *s);

/*
 * s made safe for a terminal into out (always NUL-terminated): printable
 * ASCII and well-formed UTF-8 pass, every other byte becomes \xNN. With
 * max_cols > 0 the result is cut to that many columns, ending in "...".
 */
void rp_text_sanitize(const char *s, size_t max_cols, char *out, size_t out_len);

/* Worst-case rp_text_sanitize output for an n-byte string. */
#define RP_SANITIZED_MAX(n) ((n) * 4 + 4)

/* now_ns - then_ns as "850ms", "12.3s", "5m03s", "2h05m", "3d04h"; a time
 * in the future gets a "-". Any two values, no overflow. */
void rp_age_format(int64_t now_ns, int64_t then_ns, char *buf, size_t len);

/* How long before now_ns then_ns lies: 0 when not before it, at most
 * INT64_MAX. Any two values (times from a segment are untrusted), no overflow. */
int64_t rp_ns_since(int64_t now_ns, int64_t then_ns);

/* Local time "2024-05-01 12:00:03.123 CEST", or "unknown" for 0. */
void rp_time_format(int64_t realtime_ns, char *buf, size_t len);

/* Sum of the counters whose name ends in suffix ("_msgs", "_bytes"). */
uint64_t rp_stats_sum(const uint64_t *stats, const char *suffix);

/* "alive", "exited(3)", "exited", "dead". */
void rp_state_label(const struct rp_snapshot *snap, char *buf, size_t len);

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
