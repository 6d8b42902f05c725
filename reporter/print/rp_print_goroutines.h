/*
 * rp_print_goroutines.h - the goroutine report of `goroutines` and `check`,
 * in text and JSON: the totals by verdict, then each group with its counts,
 * growth, states, wait reasons, creation site, start function and where its
 * goroutines are blocked.
 *
 * Every function name, file name, wait reason and version comes from the
 * target (its binary and its memory): text output sanitises them, JSON
 * escapes them (rp_format.h).
 */
#ifndef RP_PRINT_GOROUTINES_H
#define RP_PRINT_GOROUTINES_H

#include <stdbool.h>
#include <stdio.h>

#include "rp_goroutines.h"

/* Frames shown a blocked place in text, from the first one outside the runtime. */
#define RP_GO_TEXT_FRAMES 4

/*
 * The report of g. leaks_only: the leak groups only (`check`); otherwise
 * leak groups first, then the others, then the runtime's and libraries'
 * own one line each.
 */
void rp_goroutines_print_text(FILE *out, const struct rp_goroutines *g, bool leaks_only);
void rp_goroutines_print_json(FILE *out, const struct rp_goroutines *g, bool leaks_only);

#endif /* RP_PRINT_GOROUTINES_H */
