/*
 * rp_print_ls.h - `ls`: a line, or a JSON object, per segment; unreadable
 * ones with the reader's verdict instead of figures.
 */
#ifndef RP_PRINT_LS_H
#define RP_PRINT_LS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "rp_snapshot.h"

/*
 * `ls`: the header, a row per readable segment, a row per unreadable one.
 * now_ns is CLOCK_REALTIME, for ages; width is the line width to fit the
 * command into, 0 for no limit.
 */
void rp_ls_print_header(FILE *out);
void rp_ls_print_row(FILE *out, const struct rp_snapshot *snap, int64_t now_ns, size_t width);
void rp_ls_print_error(FILE *out, pid_t pid, const struct rp_failure *fail);

/* `ls --json`: one array element (no separator), readable or not. */
void rp_ls_print_json_row(FILE *out, const struct rp_snapshot *snap);
void rp_ls_print_json_error(FILE *out, pid_t pid, const char *path, const struct rp_failure *fail);

#endif /* RP_PRINT_LS_H */
