/*
 * rp_cmd_top.c - `ringfence top`: every segment under the prefix on one
 * screen, refreshed, or one frame on stdout (--once).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rp_cli.h"
#include "rp_help.h"
#include "rp_list.h"
#include "rp_top.h"
#include "rp_top_screen.h"
#include "rf_time.h"

enum {
	RP_TOP_OPT_PREFIX = 256,
	RP_TOP_OPT_SORT,
	RP_TOP_OPT_REVERSE,
	RP_TOP_OPT_INTERVAL,
};

#define RP_TOP_INTERVAL_MIN 100
#define RP_TOP_INTERVAL_MAX 60000
#define RP_TOP_INTERVAL_DEFAULT 1000

/* "pid state used ... command ": the sort keys, from the columns' list. */
#define RP_TOP_SORT_NAME(id, name, key, heading, align, order) name " "

static const struct rp_opt rp_top_opts[] = {
	{"prefix", RP_TOP_OPT_PREFIX, "NAME", RP_HELP_PREFIX_OPT},
	{"once", '1', NULL,
	 "print one frame on stdout and exit, without the screen (for scripts): the segments "
	 "are read twice, --interval apart, for the rates"},
	{"sort", RP_TOP_OPT_SORT, "KEY",
	 "sort by the column KEY (default pid; numbers largest first), one of: " RP_TOP_COLUMNS(
		 RP_TOP_SORT_NAME)},
	{"reverse", RP_TOP_OPT_REVERSE, NULL, "sort in the other order"},
	{"interval", RP_TOP_OPT_INTERVAL, "MS",
	 "milliseconds between reads, from 100 to 60000 (default 1000)"},
	{"help", 'h', NULL, "show this help"},
	{NULL, 0, NULL, NULL},
};

static void rp_top_sleep_ms(int ms)
{
	struct timespec ts = rf_timespec_of_ns((int64_t)ms * 1000000);

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* `top --once`: two reads for the rates, one frame. */
static int rp_top_once(const struct rp_command *cmd, struct rp_top *top, int interval_ms)
{
	int rc = rp_top_refresh(top);

	if (rc == 0) {
		rp_top_sleep_ms(interval_ms);
		rc = rp_top_refresh(top);
	}
	if (rc < 0) {
		rp_cli_error(cmd, "cannot list " RP_SHM_DIR ": %s", strerror(-rc));
		return rp_read_error_status(RP_READ_IO);
	}
	rp_top_print(stdout, top, rp_cli_width());
	if (top->count == 0)
		fprintf(stderr, "ringfence top: no segments named " RP_SHM_DIR "/%s.<pid>\n",
			top->prefix);
	return RP_EXIT_OK;
}

static int rp_top_run(const struct rp_command *cmd, int argc, char **argv)
{
	char prefix[RF_CONFIG_NAME_MAX], err[RP_MESSAGE_MAX], names[256];
	const char *prefix_opt = NULL;
	int column = RP_TOP_PID, interval_ms = RP_TOP_INTERVAL_DEFAULT, c, rc;
	bool once = false, reverse = false;
	struct rp_getopt g = {0};
	struct rp_top top;
	char *end;
	long v;

	while ((c = rp_cli_getopt(cmd, &g, argc, argv, 0)) != -1) {
		switch (c) {
		case RP_TOP_OPT_PREFIX:
			prefix_opt = optarg;
			break;
		case '1':
			once = true;
			break;
		case RP_TOP_OPT_SORT:
			column = rp_top_column_by_name(optarg);
			if (column < 0) {
				rp_top_column_names(names, sizeof(names));
				return rp_cli_usage(cmd, "--sort '%s': expected a column: %s",
						    optarg, names);
			}
			break;
		case RP_TOP_OPT_REVERSE:
			reverse = true;
			break;
		case RP_TOP_OPT_INTERVAL:
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    v < RP_TOP_INTERVAL_MIN || v > RP_TOP_INTERVAL_MAX)
				return rp_cli_usage(
					cmd,
					"--interval '%s': expected milliseconds, a whole "
					"number from %d to %d",
					optarg, RP_TOP_INTERVAL_MIN, RP_TOP_INTERVAL_MAX);
			interval_ms = (int)v;
			break;
		case 'h':
			rp_help_command(stdout, cmd);
			return RP_EXIT_OK;
		default:
			return RP_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return rp_cli_usage(cmd,
				    "unexpected argument '%s': top takes no operands (for one "
				    "process, use 'ringfence stat PID')",
				    argv[optind]);
	if (rp_prefix_resolve(prefix_opt, prefix, err, sizeof(err)) < 0)
		return rp_cli_usage(cmd, "%s", err);
	if (!once && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)))
		return rp_cli_usage(
			cmd, "the screen needs a terminal on stdin and stdout; for one frame "
			     "on stdout without it, use --once");
	rp_top_init(&top, prefix);
	rp_top_sort(&top, (enum rp_top_column)column, rp_top_columns[column].descending != reverse);
	if (once) {
		rc = rp_top_once(cmd, &top, interval_ms);
	} else {
		rc = rp_top_screen_run(&top, interval_ms, err, sizeof(err));
		rc = rc < 0 ? rp_cli_usage(cmd, "%s", err) : RP_EXIT_OK;
	}
	rp_top_release(&top);
	return rc;
}

const struct rp_command rp_cmd_top = {
	.name = "top",
	.synopsis = "[--prefix NAME] [--sort KEY] [--reverse] [--interval MS] [-1 | --once]",
	.summary = "watch every process on one screen, refreshed each second",
	.description =
		"Shows every segment " RP_SHM_DIR "/<prefix>.<pid> on one screen, a line each,\n"
		"read again every second (--interval): the budget, how many messages wait\n"
		"for it or are refused per second, leaked and stuck threads, the heap, and\n"
		"whether the process is alive. Made for a terminal of 80 columns and 24\n"
		"lines or more, over ssh too: no colour, nothing wider than the screen.\n"
		"With --once, one frame is printed on stdout instead, for scripts.",
	.opts = rp_top_opts,
	.notes = "Columns (- when not known):\n"
		 "  PID      the process\n"
		 "  STATE    as `ls` shows it: alive, exited(N), killed(SIG), dead; error\n"
		 "           when the segment cannot be read (the reader's message follows);\n"
		 "           a '*' marks torn figures\n"
		 "  USED     budget charged to buffered messages now (budget_bytes)\n"
		 "  PEAK     the highest charge seen (budget_bytes_peak)\n"
		 "  BUDGET   the process's budget (RINGFENCE_BUDGET)\n"
		 "  WAIT/s   messages that waited for budget, per second (budget_waits)\n"
		 "  REF/s    messages refused for lack of budget or larger than all of it,\n"
		 "           per second (budget_rejected + budget_oversized)\n"
		 "  LEAK     threads alive when the process ended (leaked), as `threads`\n"
		 "           judges them\n"
		 "  STUCK    threads stuck while it runs: old, in a growing or oversized group\n"
		 "  HEAP     live heap (heap_live_bytes); - when another malloc comes first\n"
		 "  LIMIT    RINGFENCE_HEAP_LIMIT; - when off\n"
		 "  COMMAND  its command line, the program without its directory, cut to\n"
		 "           the width; bytes that are not printable are shown as \\xNN\n"
		 "Sizes are bytes, or KiB, MiB, GiB with K, M, G. A rate is the growth of\n"
		 "its counter between the publishes seen by two reads, over the time\n"
		 "between those publishes: it needs two reads, and a process that ended has\n"
		 "none. Segments that cannot be read come last.\n"
		 "\n"
		 "Keys: q quits. Space or p pauses: the figures stay as they are, keys\n"
		 "still sort and scroll. < and > sort by the column to the left or right,\n"
		 "r reverses the order, and a column's letter sorts by it (again:\n"
		 "reversed): P pid, S state, U used, K peak, B budget, W waits, R refusals,\n"
		 "L leaked, T stuck, H heap, M limit, C command. Up, Down, PgUp, PgDn, Home\n"
		 "and End scroll. A resized terminal is redrawn to its new size. SIGINT\n"
		 "(Ctrl-C), SIGTERM, SIGHUP and SIGQUIT give the terminal back as it was,\n"
		 "then end top by the same signal.\n"
		 "\n"
		 "Exit status: 0 after q or --once; 2 for a bad option or value, or when\n"
		 "the screen cannot run (no terminal: use --once); 10 when " RP_SHM_DIR "\n"
		 "cannot be listed (--once).",
	.env = RP_HELP_PREFIX_ENV
	"  TERM                        the terminal the screen is drawn for\n"
	"  COLUMNS                     line width of --once when stdout "
	"is not a terminal\n",
	.run = rp_top_run,
};
