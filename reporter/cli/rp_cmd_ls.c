/*
 * rp_cmd_ls.c - `ringfence ls`: one line per segment, unreadable ones
 * included with the reader's verdict.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rp_cli.h"
#include "rp_help.h"
#include "rp_format.h"
#include "rp_list.h"
#include "rp_print_ls.h"
#include "rp_segment.h"
#include "rf_time.h"

enum {
	RP_LS_PREFIX = 256,
	RP_LS_JSON,
};

static const struct rp_opt rp_ls_opts[] = {
	{"prefix", RP_LS_PREFIX, "NAME", RP_HELP_PREFIX_OPT},
	{"json", RP_LS_JSON, NULL, "print one JSON array with an object per segment"},
	{"help", 'h', NULL, "show this help"},
	{NULL, 0, NULL, NULL},
};

static int rp_ls_run(const struct rp_command *cmd, int argc, char **argv)
{
	char prefix[RF_CONFIG_NAME_MAX], err[RP_MESSAGE_MAX];
	const char *prefix_opt = NULL;
	struct rp_snapshot snap;
	struct rp_failure fail;
	struct rp_getopt g = {0};
	size_t count = 0, shown = 0, width = rp_cli_width();
	const char *dead_note = NULL;
	bool json = false;
	int64_t now;
	pid_t *pids;
	int c, rc;

	while ((c = rp_cli_getopt(cmd, &g, argc, argv, 0)) != -1) {
		switch (c) {
		case RP_LS_PREFIX:
			prefix_opt = optarg;
			break;
		case RP_LS_JSON:
			json = true;
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
				    "unexpected argument '%s': ls takes no operands (for one "
				    "process, use 'ringfence stat PID')",
				    argv[optind]);
	if (rp_prefix_resolve(prefix_opt, prefix, err, sizeof(err)) < 0)
		return rp_cli_usage(cmd, "%s", err);
	rc = rp_segment_list(prefix, &pids, &count);
	if (rc < 0) {
		rp_cli_error(cmd, "cannot list " RP_SHM_DIR ": %s", strerror(-rc));
		return rp_read_error_status(RP_READ_IO);
	}

	now = rf_clock_ns(CLOCK_REALTIME);
	if (json)
		fputs("[", stdout);
	else
		rp_ls_print_header(stdout);
	for (size_t i = 0; i < count; i++) {
		enum rp_read_error e = rp_segment_read(prefix, pids[i], &snap, &fail);

		/* Removed between the listing and the read: nothing to show. */
		if (e == RP_READ_MISSING)
			continue;
		if (json) {
			fputs(shown ? ",\n" : "\n", stdout);
			if (e == RP_READ_OK)
				rp_ls_print_json_row(stdout, &snap);
			else
				rp_ls_print_json_error(stdout, pids[i], snap.path, &fail);
		} else if (e == RP_READ_OK) {
			rp_ls_print_row(stdout, &snap, now, width);
			if (snap.live.state == RP_STATE_DEAD && !snap.live.pid_reused)
				dead_note = rp_end_note(&snap.live);
		} else {
			rp_ls_print_error(stdout, pids[i], &fail);
		}
		rp_snapshot_release(&snap);
		shown++;
	}
	if (json)
		fputs(shown ? "\n]\n" : "]\n", stdout);
	else if (dead_note != NULL) /* what the state cannot say in its column */
		printf("\ndead: %s\n", dead_note);
	if (!json && shown == 0)
		fprintf(stderr, "ringfence ls: no segments named " RP_SHM_DIR "/%s.<pid>\n",
			prefix);
	free(pids);
	return RP_EXIT_OK;
}

const struct rp_command rp_cmd_ls = {
	.name = "ls",
	.synopsis = "[--prefix NAME] [--json]",
	.summary = "list the segments, one line per process",
	.description =
		"Lists every segment " RP_SHM_DIR "/<prefix>.<pid>, whether its process is alive\n"
		"or not. A segment that cannot be read is listed with the reason instead\n"
		"of its figures; ls still exits 0.",
	.opts = rp_ls_opts,
	.notes = "Columns:\n"
		 "  PID      the process\n"
		 "  STATE    alive; exited(N) after exit status N, or exited when the status\n"
		 "           is unknown; killed(SIG) when `ringfence run` saw signal SIG end\n"
		 "           it; dead when it ended without exit() and nobody recorded how\n"
		 "           (killed by a signal, or exit_group as Go programs do; its pid\n"
		 "           may now belong to another process); error when the segment\n"
		 "           could not be read (the reason follows). A '*' marks torn\n"
		 "           figures (the process stopped or died while publishing).\n"
		 "  SINCE    alive: 'up' and its age; exited: time since the exit; dead: time\n"
		 "           since its last publish ('seen ... ago')\n"
		 "  MSGS     messages accepted by the produce entry points (produce_msgs,\n"
		 "           producev_msgs, produceva_msgs, produce_batch_msgs)\n"
		 "  BYTES    payload bytes they accepted (the four *_bytes of the same\n"
		 "           entry points; heap figures are in `stat`)\n"
		 "  COMMAND  its command line, cut to the terminal width (else $COLUMNS);\n"
		 "           bytes that are not printable are shown as \\xNN\n"
		 "\n"
		 "With --json, each object has: pid, segment, state (alive, exited, dead or\n"
		 "error), exit_status, start_time_ns, publish_time_ns, exit_time_ns, msgs,\n"
		 "bytes, torn, command, and error (null, or {kind, exit_status, message});\n"
		 "fields that are unknown are null.",
	.env = RP_HELP_PREFIX_ENV
	"  COLUMNS                     line width when stdout is not a terminal\n",
	.run = rp_ls_run,
};
