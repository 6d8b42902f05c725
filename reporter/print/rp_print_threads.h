/*
 * rp_print_threads.h - the thread report of `threads` and `check`, in text
 * and JSON: the totals by verdict, then each group with its counts, state,
 * ages, start routine, creation stack and current stack.
 */
#ifndef RP_PRINT_THREADS_H
#define RP_PRINT_THREADS_H

#include <stdbool.h>
#include <stdio.h>

#include "rp_symbols.h"
#include "rp_threads.h"

/*
 * The report of t. leaks_only: the leak groups only (`check`). syms turns
 * addresses into names and lines; NULL leaves module+offset.
 */
void rp_threads_print_text(FILE *out, const struct rp_threads *t, struct rp_symbols *syms,
			   bool leaks_only);
void rp_threads_print_json(FILE *out, const struct rp_threads *t, struct rp_symbols *syms,
			   bool leaks_only);

#endif /* RP_PRINT_THREADS_H */
