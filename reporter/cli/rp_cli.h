/*
 * rp_cli.h - what the subcommands share: their descriptors (parsing and help,
 * rp_help.h, come from the same option table, so they cannot disagree),
 * option parsing, usage errors, exit statuses.
 */
#ifndef RP_CLI_H
#define RP_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "rf_shm.h"

/* Exit statuses not owned by a reader error (those are in RP_READ_ERRORS). */
#define RP_EXIT_OK 0
#define RP_EXIT_CHECK 1 /* `check`: a threshold was crossed */
#define RP_EXIT_USAGE 2
#define RP_EXIT_EXEC_FAILED 126
#define RP_EXIT_EXEC_NOT_FOUND 127

#define RP_OPTS_MAX 16

struct rp_opt {
	const char *name; /* long name, without "--"; NULL ends the table */
	int key;          /* a letter for a short option too, or a value >= 256 */
	const char *arg;  /* metavariable; NULL for a flag */
	const char *help;
};

struct rp_command {
	const char *name;
	const char *synopsis; /* after "ringfence NAME " */
	const char *summary;  /* one line, for the command list */
	const char *description;
	const struct rp_opt *opts;
	const char *notes;           /* output fields and the like, after the options */
	const char *env;             /* the environment section */
	void (*env_more)(FILE *out); /* generated environment lines, or NULL */
	int (*run)(const struct rp_command *cmd, int argc, char **argv);
};

extern const struct rp_command rp_cmd_ls;
extern const struct rp_command rp_cmd_stat;
extern const struct rp_command rp_cmd_run;
extern const struct rp_command rp_cmd_gc;
extern const struct rp_command rp_cmd_threads;
extern const struct rp_command rp_cmd_check;
extern const struct rp_command rp_cmd_top;
extern const struct rp_command rp_cmd_goroutines;
extern const struct rp_command rp_cmd_serve;

/* State of one getopt_long walk over a command's options. */
struct rp_getopt {
	struct option longopts[RP_OPTS_MAX + 1];
	char shortopts[2 * RP_OPTS_MAX + 4];
};

/*
 * Next option of argv for cmd: its key, -1 after the last, or '?' after
 * printing what was wrong (unknown option, missing or unwanted argument,
 * naming what is accepted): the caller returns RP_EXIT_USAGE. in_order stops
 * at the first operand (for `run`, whose operands are another command line).
 */
int rp_cli_getopt(const struct rp_command *cmd, struct rp_getopt *g, int argc, char **argv,
		  int in_order);

/* Print "ringfence CMD: message" and a pointer to the help; returns RP_EXIT_USAGE. */
__attribute__((format(printf, 2, 3))) int rp_cli_usage(const struct rp_command *cmd,
						       const char *fmt, ...);

/* Print "ringfence CMD: message" to stderr. */
__attribute__((format(printf, 2, 3))) void rp_cli_error(const struct rp_command *cmd,
							const char *fmt, ...);

/* The width to fit output lines into: stdout's terminal's, else $COLUMNS, else unlimited (0). */
size_t rp_cli_width(void);

/* Shared help text. */
#define RP_HELP_PREFIX_OPT                                                                         \
	"segment name prefix (default: $RINGFENCE_SHM_PREFIX, else \"" RF_SHM_PREFIX_DEFAULT "\")"
#define RP_HELP_PREFIX_ENV                                                                         \
	"  RINGFENCE_SHM_PREFIX        segment name prefix when --prefix is not given;\n"          \
	"                              segments are /dev/shm/<prefix>.<pid>\n"

#endif /* RP_CLI_H */
