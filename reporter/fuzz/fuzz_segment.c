/*
 * fuzz_segment.c - libFuzzer target: arbitrary bytes read as the segment of
 * a process, then every printer of what was read.
 *
 * rp_segment_parse applies the reader's checks, limit and liveness to bytes
 * in memory. When it accepts them: stat in text, JSON and Prometheus, the ls
 * row in text and JSON, and the threads report in text and JSON with a
 * symboliser over the segment's module map; when it refuses them: the ls
 * error rows. Beside crashes and sanitizer reports, the output must keep the
 * promises of docs/reporter.md (test_output.h): text safe for a terminal,
 * JSON pure ASCII, Prometheus parseable with clean label values; a reader
 * message safe for a terminal too. gc's verdict on the same bytes as a file
 * of the caller's (rp_claim_judge) must take every segment the reader
 * accepts for the caller's own. The pid is the one the bytes hold, when they
 * hold one, so that mutations of a valid segment (fuzz-seeds writes the
 * corpus with the real writer) get past the pid check.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rp_claim.h"
#include "rp_print_ls.h"
#include "rp_print_prom.h"
#include "rp_print_stat.h"
#include "rp_print_threads.h"
#include "rp_segment.h"
#include "rp_threads.h"
#include "test_output.h"

#define RP_FUZZ_PREFIX "fuzz"
#define RP_FUZZ_NOW_NS INT64_C(1700000100000000000)

/* A printer's output, held while it is checked. */
struct rp_fuzz_out {
	char *text;
	size_t len;
	FILE *f;
};

static FILE *rp_fuzz_open(struct rp_fuzz_out *o)
{
	o->text = NULL;
	o->f = open_memstream(&o->text, &o->len);
	if (o->f == NULL)
		abort();
	return o->f;
}

/* Checks what the printer wrote, then frees it. */
static void rp_fuzz_check(struct rp_fuzz_out *o, const char *(*check)(const char *),
			  const char *what)
{
	const char *bad;

	fclose(o->f);
	if (strlen(o->text) != o->len) {
		fprintf(stderr, "fuzz-segment: %s wrote a NUL byte\n", what);
		abort();
	}
	bad = check(o->text);
	if (bad != NULL) {
		fprintf(stderr, "fuzz-segment: %s broke its promise at byte %zu of:\n%s\n", what,
			(size_t)(bad - o->text), o->text);
		abort();
	}
	free(o->text);
}

static void rp_fuzz_print(const struct rp_snapshot *snap)
{
	struct rp_threads_options opts = {.ignore = "fuzz*,?"};
	struct rp_fuzz_out o;
	struct rp_threads t;

	rp_stat_print_text(rp_fuzz_open(&o), snap, RP_FUZZ_NOW_NS);
	rp_fuzz_check(&o, rp_check_terminal, "stat");
	rp_stat_print_json(rp_fuzz_open(&o), snap);
	rp_fuzz_check(&o, rp_check_json, "stat --json");
	rp_stat_print_prometheus(rp_fuzz_open(&o), snap, 1);
	rp_fuzz_check(&o, rp_check_prometheus, "stat --prometheus");
	rp_ls_print_row(rp_fuzz_open(&o), snap, RP_FUZZ_NOW_NS, 80);
	rp_fuzz_check(&o, rp_check_terminal, "ls");
	rp_ls_print_json_row(rp_fuzz_open(&o), snap);
	rp_fuzz_check(&o, rp_check_json, "ls --json");

	opts.syms = rp_threads_symbols_open(snap);
	if (rp_threads_analyse(snap, &opts, &t) == 0) {
		rp_threads_print_text(rp_fuzz_open(&o), &t, opts.syms, false);
		rp_fuzz_check(&o, rp_check_terminal, "threads");
		rp_threads_print_json(rp_fuzz_open(&o), &t, opts.syms, true);
		rp_fuzz_check(&o, rp_check_json, "threads --json");
	}
	rp_threads_release(&t);
	rp_symbols_close(opts.syms);
}

static void rp_fuzz_print_error(pid_t pid, const struct rp_snapshot *snap,
				const struct rp_failure *fail)
{
	struct rp_fuzz_out o;

	rp_ls_print_error(rp_fuzz_open(&o), pid, fail);
	rp_fuzz_check(&o, rp_check_terminal, "ls error");
	rp_ls_print_json_error(rp_fuzz_open(&o), pid, snap->path, fail);
	rp_fuzz_check(&o, rp_check_json, "ls --json error");
}

/* gc's verdict on the bytes as a regular file of the caller's; whether the reader accepted them. */
static void rp_fuzz_claim(const uint8_t *data, size_t size, bool accepted)
{
	struct stat st = {.st_mode = S_IFREG | 0600, .st_uid = geteuid(), .st_size = (off_t)size};
	size_t head = size < sizeof(struct rf_shm_header) ? size : sizeof(struct rf_shm_header);
	char why[192];
	bool ours = rp_claim_judge(&st, geteuid(), data, head, why, sizeof(why));

	if ((accepted && !ours) || (!ours && rp_check_terminal(why) != NULL)) {
		fprintf(stderr, "fuzz-segment: gc's verdict (%s) on a segment the reader %s\n",
			ours ? "ours" : why, accepted ? "accepts" : "refuses");
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const size_t at = offsetof(struct rf_shm_header, pid);
	struct rp_snapshot snap;
	struct rp_failure fail;
	int32_t held = 0;
	pid_t pid;

	if (size >= at + sizeof(held))
		memcpy(&held, data + at, sizeof(held));
	pid = held > 0 ? held : 1;
	if (rp_segment_parse(RP_FUZZ_PREFIX, pid, data, size, &snap, &fail) == RP_READ_OK) {
		rp_fuzz_claim(data, size, true);
		rp_fuzz_print(&snap);
		rp_snapshot_release(&snap);
	} else {
		rp_fuzz_claim(data, size, false);
		if (rp_check_terminal(fail.message) != NULL) {
			fprintf(stderr, "fuzz-segment: reader message not terminal-safe: %s\n",
				fail.message);
			abort();
		}
		rp_fuzz_print_error(pid, &snap, &fail);
	}
	return 0;
}
