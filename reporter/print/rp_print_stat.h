/*
 * rp_print_stat.h - `stat`: one process's header, configuration and
 * counters, then its handles (rp_print_handles.h), for people and for
 * programs (JSON); for Prometheus, rp_print_prom.h.
 *
 * Every printer walks RF_STATS and RF_CONFIG, so a counter or setting added
 * to rf_shm.h appears everywhere without a change here.
 */
#ifndef RP_PRINT_STAT_H
#define RP_PRINT_STAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rp_snapshot.h"

/* `stat`: one process, for people. now_ns is CLOCK_REALTIME, for ages. */
void rp_stat_print_text(FILE *out, const struct rp_snapshot *snap, int64_t now_ns);

/* `stat --json`: one process as a JSON object (no trailing newline). */
void rp_stat_print_json(FILE *out, const struct rp_snapshot *snap);

/*
 * How the process ended, as JSON members (no braces): exit_status,
 * exit_signal, exit_recorded_by ("process", "parent" or null), exit_time_ns
 * and state_note (rp_end_note, or null), separated by between. `stat --json`
 * and `ls --json` share them.
 */
void rp_stat_print_end_json(FILE *out, const struct rp_snapshot *snap, const char *between);

#endif /* RP_PRINT_STAT_H */
