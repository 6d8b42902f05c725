/*
 * rp_cmd_threads.c - `ringfence threads` and `ringfence check`: the thread
 * leak report of a process, and the gate built on it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "rp_cli.h"
#include "rp_cmd_goroutines.h"
#include "rp_help.h"
#include "rp_list.h"
#include "rp_print_threads.h"
#include "rp_sample.h"
#include "rp_segment.h"
#include "rp_threads.h"

enum {
	RP_THREADS_PREFIX = 256,
	RP_THREADS_JSON,
	RP_THREADS_NO_SAMPLE,
	RP_THREADS_SAMPLE,
	RP_THREADS_IGNORE,
	RP_THREADS_MAX_LEAKED,
	RP_THREADS_MAX_UNJOINED,
	RP_THREADS_TIMEOUT,
};

#define RP_THREADS_IGNORE_HELP                                                                     \
	"also treat threads whose name or start routine matches PATTERN (* and ?) as "             \
	"ignored, like RINGFENCE_THREAD_IGNORE; repeatable, or comma-separated"

static const struct rp_opt rp_threads_opts[] = {
	{"prefix", RP_THREADS_PREFIX, "NAME", RP_HELP_PREFIX_OPT},
	{"json", RP_THREADS_JSON, NULL, "print one JSON object"},
	{"no-sample", RP_THREADS_NO_SAMPLE, NULL,
	 "do not ask a live process for the current stacks of its threads (no signal is "
	 "sent)"},
	{"ignore", RP_THREADS_IGNORE, "PATTERN", RP_THREADS_IGNORE_HELP},
	{"timeout", RP_THREADS_TIMEOUT, "MS",
	 "how long the current-stack request may take in all (default 3000)"},
	{"help", 'h', NULL, "show this help"},
	{NULL, 0, NULL, NULL},
};

static const struct rp_opt rp_check_opts[] = {
	{"prefix", RP_THREADS_PREFIX, "NAME", RP_HELP_PREFIX_OPT},
	{"max-leaked", RP_THREADS_MAX_LEAKED, "N",
	 "fail when more than N threads are leaked (stuck while running, alive at the end "
	 "of an ended process); default 0"},
	{"max-unjoined", RP_THREADS_MAX_UNJOINED, "N",
	 "fail when more than N threads ended without being joined or detached; default 0"},
	{"ignore", RP_THREADS_IGNORE, "PATTERN",
	 RP_THREADS_IGNORE_HELP "; for a Go program, goroutines whose start function or creating "
				"function matches it"},
	{"interval", RP_GO_OPT_INTERVAL, "MS", "goroutines: " RP_GO_HELP_INTERVAL},
	{"age", RP_GO_OPT_AGE, "DURATION", "goroutines: " RP_GO_HELP_AGE},
	{"group", RP_GO_OPT_GROUP, "N", "goroutines: " RP_GO_HELP_GROUP},
	{"json", RP_THREADS_JSON, NULL, "print the report as one JSON object"},
	{"sample", RP_THREADS_SAMPLE, NULL,
	 "on a live process, include the current stacks in the report (sends a signal to "
	 "one thread of each group)"},
	{"help", 'h', NULL, "show this help"},
	{NULL, 0, NULL, NULL},
};

struct rp_threads_args {
	const char *prefix_opt;
	bool json, sample, check;
	char ignore[1024];
	uint64_t max_leaked, max_unjoined;
	int timeout_ms;
	pid_t pid;
	struct rp_go_gate go; /* check: the goroutines of a Go program */
};

static int rp_threads_number(const struct rp_command *cmd, const char *opt, const char *text,
			     uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v > max)
		return rp_cli_usage(cmd, "--%s '%s': expected a whole number from 0 to %" PRIu64,
				    opt, text, max);
	*out = v;
	return RP_EXIT_OK;
}

static int rp_threads_parse(const struct rp_command *cmd, int argc, char **argv,
			    struct rp_threads_args *a)
{
	struct rp_getopt g = {0};
	uint64_t v;
	int c, rc;

	while ((c = rp_cli_getopt(cmd, &g, argc, argv, 0)) != -1) {
		switch (c) {
		case RP_THREADS_PREFIX:
			a->prefix_opt = optarg;
			break;
		case RP_THREADS_JSON:
			a->json = true;
			break;
		case RP_THREADS_NO_SAMPLE:
			a->sample = false;
			break;
		case RP_THREADS_SAMPLE:
			a->sample = true;
			break;
		case RP_THREADS_IGNORE:
			if (strlen(a->ignore) + strlen(optarg) + 2 > sizeof(a->ignore))
				return rp_cli_usage(
					cmd, "--ignore: at most %zu characters of patterns in all",
					sizeof(a->ignore) - 1);
			if (a->ignore[0])
				strcat(a->ignore, ",");
			strcat(a->ignore, optarg);
			break;
		case RP_THREADS_MAX_LEAKED:
			if ((rc = rp_threads_number(cmd, "max-leaked", optarg, UINT32_MAX,
						    &a->max_leaked)) != RP_EXIT_OK)
				return rc;
			break;
		case RP_THREADS_MAX_UNJOINED:
			if ((rc = rp_threads_number(cmd, "max-unjoined", optarg, UINT32_MAX,
						    &a->max_unjoined)) != RP_EXIT_OK)
				return rc;
			break;
		case RP_THREADS_TIMEOUT:
			if ((rc = rp_threads_number(cmd, "timeout", optarg, 600000, &v)) !=
			    RP_EXIT_OK)
				return rc;
			a->timeout_ms = (int)v;
			break;
		case 'h':
			rp_help_command(stdout, cmd);
			return -1;
		default:
			if (rp_go_gate_option(cmd, c, optarg, &a->go) != RP_EXIT_OK)
				return RP_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc)
		return rp_cli_usage(cmd, "expected one PID, got %d operands", argc - optind);
	if (rp_pid_parse(argv[optind], &a->pid) < 0)
		return rp_cli_usage(cmd,
				    "'%s' is not a pid: expected a decimal number from 1 to "
				    "2147483647",
				    argv[optind]);
	return RP_EXIT_OK;
}

static int rp_threads_main(const struct rp_command *cmd, int argc, char **argv, bool check)
{
	struct rp_threads_args a = {.sample = !check, .check = check, .timeout_ms = 3000};
	struct rp_threads_options opts = {0};
	char prefix[RF_CONFIG_NAME_MAX], err[RP_MESSAGE_MAX], why[RP_MESSAGE_MAX];
	struct rp_snapshot snap;
	struct rp_failure fail;
	struct rp_threads t;
	struct rp_symbols *syms;
	enum rp_read_error e;
	bool failed = false, go = false;
	int rc;

	rp_go_gate_init(&a.go);
	rc = rp_threads_parse(cmd, argc, argv, &a);
	if (rc < 0)
		return RP_EXIT_OK; /* --help */
	if (rc != RP_EXIT_OK)
		return rc;
	if (rp_prefix_resolve(a.prefix_opt, prefix, err, sizeof(err)) < 0)
		return rp_cli_usage(cmd, "%s", err);
	opts.ignore = a.go.opts.rules.ignore_more = a.ignore[0] ? a.ignore : NULL;
	e = rp_segment_read(prefix, a.pid, &snap, &fail);
	/* No segment: a Go program is judged by its goroutines alone. */
	if (e == RP_READ_MISSING && check && (rc = rp_go_gate_read(cmd, a.pid, NULL, &a.go)) >= 0) {
		if (rc > 0)
			return rc;
		return rp_go_gate_report(stdout, &a.go, a.max_leaked, a.json) ? RP_EXIT_CHECK
									      : RP_EXIT_OK;
	}
	if (e != RP_READ_OK) {
		rp_cli_error(cmd, "%s", fail.message);
		return rp_read_error_status(e);
	}
	const char *note = NULL;
	bool requested = false;
	uint64_t published;
	rp_snapshot_table(&snap, RF_SHM_SECTION_THREAD_INFO, &published);
	/* Threads alive (or their number unknown: an older writer's segment lacks
	 * the counter), or not published yet (a process that just started). */
	if (a.sample && snap.live.state == RP_STATE_ALIVE &&
	    (!rp_snapshot_has_stat(&snap, RF_STAT_threads_alive) ||
	     snap.stats[RF_STAT_threads_alive] > 0 || published == 0)) {
		requested = true;
		rc = rp_sample_request(prefix, &snap, a.timeout_ms, why, sizeof(why));
		if (rc == -ETIMEDOUT)
			note = snap.live.state == RP_STATE_ALIVE
				       ? "no answer to the sample request in time (is the publisher "
					 "thread running? RINGFENCE_THREAD_SAMPLE=0?)"
				       : "the process ended before answering";
		else if (rc < 0)
			note = why;
	} else if (a.sample && snap.live.state != RP_STATE_ALIVE) {
		note = "none: the process has ended";
	}
	syms = rp_threads_symbols_open(&snap);
	opts.syms = syms;
	if (rp_threads_analyse(&snap, &opts, &t) < 0) {
		rp_symbols_close(syms);
		rp_snapshot_release(&snap);
		rp_cli_error(cmd, "%s", strerror(ENOMEM));
		return rp_read_error_status(RP_READ_IO);
	}
	t.sample_requested = requested;
	t.sample_note = note;
	if (requested && note == NULL && t.info != NULL &&
	    t.info->sample_status == RF_SHM_SAMPLE_DISABLED)
		t.sample_note = "disabled in the process (RINGFENCE_THREAD_SAMPLE=0, or the host "
				"owns the signal)";
	if (check)
		failed = rp_threads_leaked(&t) > a.max_leaked ||
			 t.totals[RF_THREAD_CLASS_UNJOINED] > a.max_unjoined;
	/* A Go program under the shim (cgo): its goroutines too, while it runs. */
	if (check && snap.live.state == RP_STATE_ALIVE)
		go = rp_go_gate_read(cmd, a.pid, &snap.hdr.config, &a.go) == 0;
	if (go && a.json)
		fputs("{\"threads\": ", stdout);
	if (check && !failed && !a.json)
		printf("ok: pid %d (%s rules): %" PRIu64 " leaked (max %" PRIu64 "), %" PRIu64
		       " unjoined (max %" PRIu64 ")\n",
		       (int)a.pid, t.at_exit ? "at-exit" : "running", rp_threads_leaked(&t),
		       a.max_leaked, t.totals[RF_THREAD_CLASS_UNJOINED], a.max_unjoined);
	else if (a.json)
		rp_threads_print_json(stdout, &t, syms, check);
	else
		rp_threads_print_text(stdout, &t, syms, check);
	if (check && failed && !a.json)
		printf("\nFAIL: pid %d: %" PRIu64 " leaked (max %" PRIu64 "), %" PRIu64
		       " unjoined (max %" PRIu64 ")\n",
		       (int)a.pid, rp_threads_leaked(&t), a.max_leaked,
		       t.totals[RF_THREAD_CLASS_UNJOINED], a.max_unjoined);
	if (go && a.json)
		fputs(", \"goroutines\": ", stdout);
	if (go && rp_go_gate_report(stdout, &a.go, a.max_leaked, a.json))
		failed = true;
	if (go && a.json)
		fputs("}\n", stdout);
	rp_symbols_close(syms);
	rp_threads_release(&t);
	rp_snapshot_release(&snap);
	return failed ? RP_EXIT_CHECK : RP_EXIT_OK;
}

static int rp_threads_run(const struct rp_command *cmd, int argc, char **argv)
{
	return rp_threads_main(cmd, argc, argv, false);
}

static int rp_check_run(const struct rp_command *cmd, int argc, char **argv)
{
	return rp_threads_main(cmd, argc, argv, true);
}

#define RP_THREADS_RULES_NOTE                                                                      \
	"Verdicts (docs/threads.md):\n"                                                            \
	"  leaked    alive when the process ended (exited, or killed: dead)\n"                     \
	"  stuck     live process: alive longer than RINGFENCE_THREAD_AGE in a group\n"            \
	"            (creation stack) that grew within that time or holds more than\n"             \
	"            RINGFENCE_THREAD_GROUP alive threads\n"                                       \
	"  unjoined  ended, but neither joined nor detached\n"                                     \
	"  running   alive, not a suspect; library: librdkafka's (rdk:*) and the\n"                \
	"            shim's (rf:*) threads; ignored: RINGFENCE_THREAD_IGNORE, --ignore\n"

const struct rp_command rp_cmd_threads = {
	.name = "threads",
	.synopsis = "[--prefix NAME] [--json] [--no-sample] [--ignore PATTERN]... PID",
	.summary = "show the threads of a process by creation stack, leaks first",
	.description =
		"Lists the threads of PID grouped by creation stack: leak groups first\n"
		"(most threads first), each with its count, verdict, state and age range,\n"
		"its creation stack symbolised (function+offset, demangled, file:line where\n"
		"debug information exists) and, for a live process, where one of its\n"
		"threads is right now; then the other groups.\n"
		"\n"
		"For a live process the current stacks are requested from the shim, which\n"
		"samples one thread per group with a real-time signal (SIGRTMAX-3);\n"
		"--no-sample skips that. A process that has ended is judged by the at-exit\n"
		"rule from its last publish.",
	.opts = rp_threads_opts,
	.notes = RP_THREADS_RULES_NOTE
	"\n"
	"JSON keys: pid, state, command, rule (running or at-exit), thread_age_ns,\n"
	"thread_group, totals {verdict: threads}, counters, heap {interposed,\n"
	"live_bytes, peak_bytes, unattributed_bytes}, sample, groups [{class,\n"
	"leak, count, classes, alive, unjoined, created, exited, alive_max, growth,\n"
	"heap_live_bytes,\n"
	"age_min_ns, age_max_ns, state, start_routine, thread_name, creation_stack,\n"
	"sample, threads}]; a frame is {pc, function, offset, file, line, module,\n"
	"module_offset}.",
	.env = RP_HELP_PREFIX_ENV,
	.run = rp_threads_run,
};

const struct rp_command rp_cmd_check = {
	.name = "check",
	.synopsis = "[--prefix NAME] [--max-leaked N] [--max-unjoined N] [--ignore PATTERN]... "
		    "[--interval MS] [--age DURATION] [--group N] [--json] [--sample] PID",
	.summary = "fail (exit 1) when a process leaks threads or goroutines (a CI gate)",
	.description =
		"Judges the threads of PID and exits 1, printing the leak groups, when more\n"
		"than --max-leaked threads are leaked or more than --max-unjoined ended\n"
		"unjoined; otherwise prints one 'ok' line and exits 0. A live process is\n"
		"judged by the running rules (leaked = stuck), one that has ended (exited,\n"
		"or killed) by the at-exit rule: every thread alive at the end, other than\n"
		"library and ignored threads, is leaked.\n"
		"\n"
		"Go programs, like goleak's VerifyNone: a running Go program with no segment\n"
		"(pure Go, not under the shim) is judged by its goroutines, read from\n"
		"outside as 'ringfence goroutines' reads them: exit 1 when more than\n"
		"--max-leaked goroutines are stuck. A running Go program under the shim (cgo)\n"
		"is judged by its threads and by its goroutines, with the thread rules in\n"
		"force in it unless --age or --group say otherwise; if its goroutines cannot\n"
		"be read, a note says why and its threads decide. --json then prints\n"
		"{\"threads\": ..., \"goroutines\": ...}.",
	.opts = rp_check_opts,
	.notes = RP_THREADS_RULES_NOTE,
	.env = RP_HELP_PREFIX_ENV,
	.run = rp_check_run,
};
