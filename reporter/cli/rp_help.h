/*
 * rp_help.h - the help of the program and of each command, generated from
 * the command descriptors (rp_cli.h) and RP_READ_ERRORS, so it cannot drift
 * from what the commands accept and return.
 */
#ifndef RP_HELP_H
#define RP_HELP_H

#include <stddef.h>
#include <stdio.h>

#include "rp_cli.h"

/*
 * `ringfence --help`: usage, the count commands with their summaries, the
 * environment, the exit statuses.
 */
void rp_help_program(FILE *out, const struct rp_command *const *commands, size_t count);

/*
 * `ringfence CMD --help`: usage, description, options, notes, the
 * environment, the exit statuses.
 */
void rp_help_command(FILE *out, const struct rp_command *cmd);

/* "  NAME" then help wrapped in the help's second column (an option, a variable). */
void rp_help_item(FILE *out, const char *name, const char *help);

#endif /* RP_HELP_H */
