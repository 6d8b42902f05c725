/*
 * rp_cmd_stat.c - `ringfence stat`: the figures of some or all processes,
 * for people, for programs (JSON) or for Prometheus.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "rp_cli.h"
#include "rp_help.h"
#include "rp_format.h"
#include "rp_list.h"
#include "rp_print_prom.h"
#include "rp_print_stat.h"
#include "rp_segment.h"
#include "rf_time.h"

enum {
	RP_STAT_PREFIX = 256,
	RP_STAT_JSON,
	RP_STAT_PROMETHEUS,
};

enum rp_stat_format {
	RP_STAT_FORMAT_TEXT,
	RP_STAT_FORMAT_JSON,
	RP_STAT_FORMAT_PROMETHEUS,
};

static const struct rp_opt rp_stat_opts[] = {
	{"prefix", RP_STAT_PREFIX, "NAME", RP_HELP_PREFIX_OPT},
	{"json", RP_STAT_JSON, NULL,
	 "print JSON: one object for one PID operand, else an array of objects"},
	{"prometheus", RP_STAT_PROMETHEUS, NULL,
	 "print the Prometheus text exposition format (for a scraper or the "
	 "node_exporter textfile collector)"},
	{"help", 'h', NULL, "show this help"},
	{NULL, 0, NULL, NULL},
};

static void rp_stat_print(enum rp_stat_format format, const struct rp_snapshot *snaps, size_t count,
			  bool single)
{
	int64_t now = rf_clock_ns(CLOCK_REALTIME);

	switch (format) {
	case RP_STAT_FORMAT_TEXT:
		for (size_t i = 0; i < count; i++) {
			if (i)
				fputc('\n', stdout);
			rp_stat_print_text(stdout, &snaps[i], now);
		}
		break;
	case RP_STAT_FORMAT_JSON:
		if (single) {
			if (count == 1) {
				rp_stat_print_json(stdout, &snaps[0]);
				fputc('\n', stdout);
			}
			break;
		}
		fputs("[", stdout);
		for (size_t i = 0; i < count; i++) {
			fputs(i ? ",\n" : "\n", stdout);
			rp_stat_print_json(stdout, &snaps[i]);
		}
		fputs(count ? "\n]\n" : "]\n", stdout);
		break;
	case RP_STAT_FORMAT_PROMETHEUS:
		rp_stat_print_prometheus(stdout, snaps, count);
		break;
	}
}

static int rp_stat_run(const struct rp_command *cmd, int argc, char **argv)
{
	enum rp_stat_format format = RP_STAT_FORMAT_TEXT;
	char prefix[RF_CONFIG_NAME_MAX], err[RP_MESSAGE_MAX];
	const char *prefix_opt = NULL, *format_opt = NULL;
	struct rp_snapshot *snaps;
	struct rp_failure fail;
	struct rp_getopt g = {0};
	size_t count = 0, nread = 0;
	bool listed;
	pid_t *pids;
	int c, status = RP_EXIT_OK;

	while ((c = rp_cli_getopt(cmd, &g, argc, argv, 0)) != -1) {
		switch (c) {
		case RP_STAT_PREFIX:
			prefix_opt = optarg;
			break;
		case RP_STAT_JSON:
		case RP_STAT_PROMETHEUS:
			if (format_opt != NULL && strcmp(format_opt, argv[optind - 1]) != 0)
				return rp_cli_usage(cmd,
						    "%s and %s exclude each other: choose one "
						    "output format",
						    format_opt, argv[optind - 1]);
			format_opt = argv[optind - 1];
			format =
				c == RP_STAT_JSON ? RP_STAT_FORMAT_JSON : RP_STAT_FORMAT_PROMETHEUS;
			break;
		case 'h':
			rp_help_command(stdout, cmd);
			return RP_EXIT_OK;
		default:
			return RP_EXIT_USAGE;
		}
	}
	if (rp_prefix_resolve(prefix_opt, prefix, err, sizeof(err)) < 0)
		return rp_cli_usage(cmd, "%s", err);

	/* Operands are checked before anything is read: a typo prints nothing. */
	listed = optind == argc;
	if (listed) {
		int rc = rp_segment_list(prefix, &pids, &count);
		if (rc < 0) {
			rp_cli_error(cmd, "cannot list " RP_SHM_DIR ": %s", strerror(-rc));
			return rp_read_error_status(RP_READ_IO);
		}
	} else {
		count = (size_t)(argc - optind);
		pids = calloc(count, sizeof(*pids));
		if (pids == NULL) {
			rp_cli_error(cmd, "%s", strerror(ENOMEM));
			return rp_read_error_status(RP_READ_IO);
		}
		for (size_t i = 0; i < count; i++)
			if (rp_pid_parse(argv[optind + (int)i], &pids[i]) < 0) {
				free(pids);
				return rp_cli_usage(cmd,
						    "'%s' is not a pid: expected a decimal "
						    "number from 1 to 2147483647",
						    argv[optind + (int)i]);
			}
	}
	snaps = calloc(count ? count : 1, sizeof(*snaps));
	if (snaps == NULL) {
		free(pids);
		rp_cli_error(cmd, "%s", strerror(ENOMEM));
		return rp_read_error_status(RP_READ_IO);
	}
	for (size_t i = 0; i < count; i++) {
		enum rp_read_error e = rp_segment_read(prefix, pids[i], &snaps[nread], &fail);

		if (e == RP_READ_OK) {
			nread++;
			continue;
		}
		/* Listing everything (a scrape): a segment gone since the listing is no
		 * news, a broken one is reported but must not fail the others. */
		if (listed && e == RP_READ_MISSING)
			continue;
		rp_cli_error(cmd, "%s", fail.message);
		if (!listed && status == RP_EXIT_OK)
			status = rp_read_error_status(e);
	}
	rp_stat_print(format, snaps, nread, !listed && count == 1);
	if (listed && count == 0 && format == RP_STAT_FORMAT_TEXT)
		fprintf(stderr, "ringfence stat: no segments named " RP_SHM_DIR "/%s.<pid>\n",
			prefix);
	for (size_t i = 0; i < nread; i++)
		rp_snapshot_release(&snaps[i]);
	free(snaps);
	free(pids);
	return status;
}

const struct rp_command rp_cmd_stat = {
	.name = "stat",
	.synopsis = "[--prefix NAME] [--json | --prometheus] [PID...]",
	.summary = "show the figures of processes (every segment when no PID is given)",
	.description =
		"Shows the header, configuration and every counter of each PID's segment;\n"
		"with no PID, of every segment (what a Prometheus scrape wants).\n"
		"\n"
		"With PIDs, a segment that cannot be read is reported on stderr, the others\n"
		"are still printed, and the first such error decides the exit status.\n"
		"Without PIDs, unreadable segments are reported on stderr and the exit\n"
		"status stays 0.",
	.opts = rp_stat_opts,
	.notes = "Text output: pid, segment, command, state (alive; exited with its status and\n"
		 "time; dead: ended without an exit, killed by a signal such as SIGKILL or\n"
		 "the OOM killer; its pid may have been reused), shim version, start and\n"
		 "last publish times, 'torn' when no consistent copy could be taken,\n"
		 "'passive' and the configuration error when the shim enforces nothing,\n"
		 "then the configuration and every counter with its meaning.\n"
		 "\n"
		 "JSON keys: pid, segment, command, state (alive, exited or dead),\n"
		 "exit_status (null unless exited with a known status), shim_version,\n"
		 "start_time_ns, publish_time_ns, exit_time_ns (null unless exited),\n"
		 "torn, passive, config_error (null when none), config {name: value, sizes\n"
		 "in bytes, durations in nanoseconds, policy and shm_prefix as strings},\n"
		 "counters {name: value}. Strings are escaped byte by byte: control\n"
		 "characters and bytes >= 0x7f as \\u00XX.\n"
		 "\n"
		 "Prometheus families, one sample per process labelled pid and comm (the\n"
		 "program's name), in base units (seconds, bytes), _total on counters:\n"
		 "  ringfence_up                   gauge: 1 while the process lives\n"
		 "  ringfence_process_state        gauge: 1 for its state (label state:\n"
		 "                                 alive, exited, killed, dead), else 0\n"
		 "  ringfence_start_time_seconds   gauge: process start, Unix time\n"
		 "  ringfence_publish_time_seconds gauge: last publish, Unix time\n"
		 "  ringfence_config_*             gauge: each numeric setting\n"
		 "  ringfence_<counter>            each counter (see 'stat PID'), its unit\n"
		 "                                 last: budget_wait_ns becomes\n"
		 "                                 ringfence_budget_wait_seconds_total\n"
		 "  ringfence_handle_*             per librdkafka handle, also labelled\n"
		 "                                 handle and client_id\n"
		 "  ringfence_leak_group_*         the largest leak groups (5), also\n"
		 "                                 labelled group, verdict, start_routine\n"
		 "                                 and thread_name\n"
		 "The whole list is in docs/reporter.md. Label values from a segment are\n"
		 "shown as the text shows them: a byte that is not printable ASCII or part\n"
		 "of UTF-8 becomes \\xNN (always valid UTF-8).",
	.env = RP_HELP_PREFIX_ENV,
	.run = rp_stat_run,
};
