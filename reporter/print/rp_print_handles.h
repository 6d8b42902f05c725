/*
 * rp_print_handles.h - the budget's figures per librdkafka handle, and the ones
 * derived from the counters (the share of messages admitted without waiting).
 * Printed as part of `stat`, text and JSON (Prometheus: rp_print_prom.h).
 */
#ifndef RP_PRINT_HANDLES_H
#define RP_PRINT_HANDLES_H

#include <stddef.h>
#include <stdio.h>

#include "rp_snapshot.h"

/* The handle table and derived budget figures, after the counters of `stat`. */
void rp_handles_print_text(FILE *out, const struct rp_snapshot *snap);

/* ",\n  \"budget\": {...},\n  \"handles\": [...]" inside the object of `stat --json`. */
void rp_handles_print_json(FILE *out, const struct rp_snapshot *snap);

#endif /* RP_PRINT_HANDLES_H */
