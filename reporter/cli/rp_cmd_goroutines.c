/*
 * rp_cmd_goroutines.c - `ringfence goroutines`: the goroutines of a live Go
 * program read from outside, grouped and judged; and the goroutine half of
 * `check` (rp_cmd_goroutines.h).
 */
#include "rp_cmd_goroutines.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "rf_config.h"
#include "rp_format.h"
#include "rp_help.h"
#include "rp_list.h"
#include "rp_print_goroutines.h"
#include "rp_snapshot.h"

enum {
	RP_GOROUTINES_JSON = 256,
	RP_GOROUTINES_IGNORE,
};

static const struct rp_opt rp_goroutines_opts[] = {
	{"json", RP_GOROUTINES_JSON, NULL, "print one JSON object"},
	{"interval", RP_GO_OPT_INTERVAL, "MS", RP_GO_HELP_INTERVAL},
	{"age", RP_GO_OPT_AGE, "DURATION", RP_GO_HELP_AGE},
	{"group", RP_GO_OPT_GROUP, "N", RP_GO_HELP_GROUP},
	{"ignore", RP_GOROUTINES_IGNORE, "PATTERN",
	 "treat goroutines whose start function or creating function matches PATTERN (* and ?) "
	 "as ignored; repeatable, or comma-separated"},
	{"help", 'h', NULL, "show this help"},
	{NULL, 0, NULL, NULL},
};

/* The exit status of a reading that failed: the reader error of the same meaning. */
static int rp_go_status(int err)
{
	switch (err) {
	case -ESRCH:
		return rp_read_error_status(RP_READ_MISSING);
	case -EACCES:
	case -EPERM:
		return rp_read_error_status(RP_READ_PERMISSION);
	case -ENOEXEC:
		return rp_read_error_status(RP_READ_NOT_RINGFENCE);
	case -ENODATA:
	case -ENOTSUP:
		return rp_read_error_status(RP_READ_VERSION);
	default:
		return rp_read_error_status(RP_READ_IO);
	}
}

void rp_go_gate_init(struct rp_go_gate *gate)
{
	*gate = (struct rp_go_gate){0};
	rp_go_options_defaults(&gate->opts);
}

int rp_go_gate_option(const struct rp_command *cmd, int key, const char *arg,
		      struct rp_go_gate *gate)
{
	char err[RF_SHM_ERROR_MAX];
	struct rf_shm_config scratch;
	uint64_t v;

	rf_config_defaults(&scratch);
	switch (key) {
	case RP_GO_OPT_INTERVAL:
		if (rf_count_parse(arg, &v) < 0 || v > RP_GO_INTERVAL_MAX_MS)
			return rp_cli_usage(cmd,
					    "--interval '%s': expected milliseconds from 0 to %d",
					    arg, RP_GO_INTERVAL_MAX_MS);
		gate->opts.interval_ms = v;
		return RP_EXIT_OK;
	case RP_GO_OPT_AGE:
	case RP_GO_OPT_GROUP:
		/* The rules and messages of the variables they stand for. */
		if (rf_config_set(&scratch,
				  key == RP_GO_OPT_AGE ? "RINGFENCE_THREAD_AGE"
						       : "RINGFENCE_THREAD_GROUP",
				  arg, err, sizeof(err)) < 0)
			return rp_cli_usage(cmd, "--%s: %s", key == RP_GO_OPT_AGE ? "age" : "group",
					    err);
		if (key == RP_GO_OPT_AGE) {
			gate->opts.rules.age_ns = scratch.thread_age;
			gate->age_set = true;
		} else {
			gate->opts.rules.group_max = scratch.thread_group;
			gate->group_set = true;
		}
		return RP_EXIT_OK;
	default:
		return -1;
	}
}

int rp_go_gate_read(const struct rp_command *cmd, pid_t pid, const struct rf_shm_config *config,
		    struct rp_go_gate *gate)
{
	char why[RP_MESSAGE_MAX];
	int rc;

	if (config != NULL) {
		gate->opts.rules.ignore = config->thread_ignore;
		if (!gate->age_set)
			gate->opts.rules.age_ns = config->thread_age;
		if (!gate->group_set)
			gate->opts.rules.group_max = config->thread_group;
	}
	rc = rp_goroutines_read(pid, &gate->opts, &gate->g, why, sizeof(why));
	if (rc == 0)
		return 0;
	rp_goroutines_release(&gate->g);
	if (rc == -ENOEXEC || rc == -ESRCH)
		return -1;
	if (config != NULL) {
		rp_cli_error(cmd, "goroutines not checked: %s", why);
		return -1;
	}
	rp_cli_error(cmd, "%s", why);
	return rp_go_status(rc);
}

bool rp_go_gate_report(FILE *out, struct rp_go_gate *gate, uint64_t max_leaked, bool json)
{
	const struct rp_goroutines *g = &gate->g;
	bool failed = g->report.leaked > max_leaked;
	char version[RP_SANITIZED_MAX(sizeof(g->rt.version))];

	rp_text_sanitize(g->rt.version, 0, version, sizeof(version));
	if (json)
		rp_goroutines_print_json(out, g, true);
	else if (!failed)
		fprintf(out,
			"ok: pid %d goroutines (%s): %" PRIu64 " leaked (max %" PRIu64
			") of %" PRIu64 " in %" PRIu64 " groups\n",
			(int)g->pid, version[0] ? version : "Go", g->report.leaked, max_leaked,
			g->report.now->count, g->report.ngroups);
	else
		rp_goroutines_print_text(out, g, true);
	if (failed && !json)
		fprintf(out, "\nFAIL: pid %d: %" PRIu64 " goroutines leaked (max %" PRIu64 ")\n",
			(int)g->pid, g->report.leaked, max_leaked);
	rp_goroutines_release(&gate->g);
	return failed;
}

static int rp_goroutines_run(const struct rp_command *cmd, int argc, char **argv)
{
	char ignore[1024] = "", why[RP_MESSAGE_MAX];
	struct rp_go_gate gate;
	struct rp_getopt opt = {0};
	bool json = false;
	pid_t pid;
	int c, rc;

	rp_go_gate_init(&gate);
	while ((c = rp_cli_getopt(cmd, &opt, argc, argv, 0)) != -1) {
		switch (c) {
		case RP_GOROUTINES_JSON:
			json = true;
			break;
		case RP_GOROUTINES_IGNORE:
			if (strlen(ignore) + strlen(optarg) + 2 > sizeof(ignore))
				return rp_cli_usage(
					cmd, "--ignore: at most %zu characters of patterns in all",
					sizeof(ignore) - 1);
			if (ignore[0])
				strcat(ignore, ",");
			strcat(ignore, optarg);
			break;
		case 'h':
			rp_help_command(stdout, cmd);
			return RP_EXIT_OK;
		default:
			rc = rp_go_gate_option(cmd, c, optarg, &gate);
			if (rc != RP_EXIT_OK)
				return RP_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc)
		return rp_cli_usage(cmd, "expected one PID, got %d operands", argc - optind);
	if (rp_pid_parse(argv[optind], &pid) < 0)
		return rp_cli_usage(cmd,
				    "'%s' is not a pid: expected a decimal number from 1 to "
				    "2147483647",
				    argv[optind]);
	gate.opts.rules.ignore_more = ignore[0] ? ignore : NULL;
	rc = rp_goroutines_read(pid, &gate.opts, &gate.g, why, sizeof(why));
	if (rc < 0) {
		rp_goroutines_release(&gate.g);
		rp_cli_error(cmd, "%s", why);
		return rp_go_status(rc);
	}
	if (json)
		rp_goroutines_print_json(stdout, &gate.g, false);
	else
		rp_goroutines_print_text(stdout, &gate.g, false);
	rp_goroutines_release(&gate.g);
	return RP_EXIT_OK;
}

#define RP_GOROUTINES_NOTES                                                                        \
	"Verdicts (docs/goroutines.md), the thread rules applied to goroutines:\n"                 \
	"  stuck     blocked longer than --age in a group (creation site and start\n"              \
	"            function) that grew between the samples or holds more than --group\n"         \
	"  running   not (yet) a suspect; library: the runtime's own goroutines and\n"             \
	"            well-known libraries' loops (confluent-kafka-go's poller, ...);\n"            \
	"            ignored: --ignore\n"                                                          \
	"How long a goroutine has been blocked is known once a garbage collection ran\n"           \
	"while it waited; before that, a goroutine seen blocked at the same place in\n"            \
	"both samples has been blocked for at least the interval.\n"                               \
	"\n"                                                                                       \
	"Reading needs ptrace access to PID: the same user under the system's ptrace\n"            \
	"policy, or root. Statuses 3 to 10 say why PID could not be read: 3 no such\n"             \
	"process, or it ended meanwhile; 4 permission denied; 5 not a Go program; 6 a\n"           \
	"stripped binary (-ldflags='-s -w'), or a runtime or architecture this reader\n"           \
	"cannot take apart; 10 anything else.\n"                                                   \
	"\n"                                                                                       \
	"JSON keys: pid, go_version, wait_reasons_from, samples, interval_ns, rules\n"             \
	"{age_ns, group, ignore}, allglen, goroutines, dead, unreadable, truncated,\n"             \
	"leaked, totals {verdict: goroutines}, timing_ms, read_calls, read_bytes,\n"               \
	"groups [{class, leak, kind (program, runtime or library), count, before,\n"               \
	"growth, created, start, states, wait_reasons, verdicts, wait_known,\n"                    \
	"longest_wait_ns, blocked [{count, state, wait_reason, goid, first_user_frame,\n"          \
	"frames [{pc, wrapper, inlined [{function, file, line}]}]}], blocked_other}]."

const struct rp_command rp_cmd_goroutines = {
	.name = "goroutines",
	.synopsis = "[--interval MS] [--age DURATION] [--group N] [--ignore PATTERN]... [--json] "
		    "PID",
	.summary = "show the goroutines of a Go program by creation site, leaks first",
	.description =
		"Reads the goroutines of the running Go program PID from outside, without\n"
		"stopping, signalling or writing to it, and without the shim: any Go program\n"
		"whose binary keeps its symbols and DWARF (the default build), pure Go or\n"
		"cgo. Takes two samples --interval apart and groups the goroutines like Go's\n"
		"goroutine profile: by the go statement that created them and their start\n"
		"function, with their count and growth, states and wait reasons, how long\n"
		"they have waited where the runtime knows it, and where they are blocked.\n"
		"Leak groups come first, then the others, then the runtime's and libraries'\n"
		"own goroutines.",
	.opts = rp_goroutines_opts,
	.notes = RP_GOROUTINES_NOTES,
	.env = "  (none)\n",
	.run = rp_goroutines_run,
};
