/*
 * test_print.c - what the printers write: escaping of untrusted strings, ages,
 * Prometheus families, the sums of `ls`, and what they leave out of a segment
 * from an older or newer writer; on segments from the real writer.
 * Each test runs in its own process with its own prefix, and removes what it
 * created even when a check fails.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rf_test.h"
#include "rp_format.h"
#include "rp_print_ls.h"
#include "rp_print_prom.h"
#include "rp_print_stat.h"
#include "rp_print_threads.h"
#include "rp_stats.h"
#include "rp_threads.h"
#include "test_output.h"
#include "test_writer.h"

static unsigned char rp_buf[RF_SHM_SIZE];

/* What a printer wrote, as a string (the caller frees it). */
#define RP_CAPTURE(text, call)                                                                     \
	do {                                                                                       \
		size_t rp_len_;                                                                    \
		FILE *out = open_memstream(&(text), &rp_len_);                                     \
		RF_CHECK(out != NULL);                                                             \
		call;                                                                              \
		fclose(out);                                                                       \
	} while (0)

/* The checker's verdict on what a printer wrote, with the bytes around a fault. */
#define RP_CHECK_OUTPUT(check, what, text)                                                         \
	do {                                                                                       \
		const char *rp_bad_ = check(text);                                                 \
		if (rp_bad_ != NULL)                                                               \
			printf("# %s: fault at byte %zu: \"%.24s\"\n", what,                       \
			       (size_t)(rp_bad_ - (text)), rp_bad_);                               \
		RF_CHECK(rp_bad_ == NULL);                                                         \
	} while (0)

RP_TEST(json_string_escaping)
{
	char *text = NULL;

	RP_CAPTURE(text, rp_json_string(out, "a\"b\\c/\n\r\t\b\f\x01\x1f\x7f\xc3\xa9\xff"));
	RF_CHECK_STR(text, "\"a\\\"b\\\\c/\\n\\r\\t\\b\\f\\u0001\\u001f\\u007f\\u00c3\\u00a9"
			   "\\u00ff\"");
	free(text);
	RP_CAPTURE(text, rp_json_string(out, ""));
	RF_CHECK_STR(text, "\"\"");
	free(text);
}

RP_TEST(stat_json_escapes_segment_strings)
{
	struct rp_snapshot snap;
	struct rp_failure fail;
	char *text = NULL;

	rp_test_valid(rp_buf);
	strcpy(RP_HDR(rp_buf)->cmdline, "evil \"\x1b[2J\" \xe9");
	rp_test_write(getpid(), rp_buf, sizeof(rp_buf));
	RF_CHECK_INT(rp_test_read(getpid(), &snap, &fail), RP_READ_OK);
	RP_CAPTURE(text, rp_stat_print_json(out, &snap));
	RF_CHECK(strstr(text, "\"command\": \"evil \\\"\\u001b[2J\\\" \\u00e9\"") != NULL);
	RF_CHECK(strstr(text, "\"exit_status\": null") != NULL);
	RF_CHECK(strstr(text, "\"policy\": \"block\"") != NULL);
	RF_CHECK(strstr(text, "\"produce_msgs\": 10") != NULL);
	for (const char *p = text; *p; p++)
		RF_CHECK((unsigned char)*p < 0x80 && (*p >= 0x20 || *p == '\n'));
	free(text);
}

RP_TEST(text_sanitize)
{
	char out[64];

	rp_text_sanitize("plain text", 0, out, sizeof(out));
	RF_CHECK_STR(out, "plain text");
	rp_text_sanitize("\x1b[31mred\n", 0, out, sizeof(out));
	RF_CHECK_STR(out, "\\x1b[31mred\\x0a");
	rp_text_sanitize("caf\xc3\xa9", 0, out, sizeof(out)); /* UTF-8 passes */
	RF_CHECK_STR(out, "caf\xc3\xa9");
	rp_text_sanitize("\xc2\x9b"
			 "2J",
			 0, out, sizeof(out)); /* C1 CSI does not */
	RF_CHECK_STR(out, "\\xc2\\x9b2J");
	rp_text_sanitize("\xe0\x80\x80", 0, out, sizeof(out)); /* overlong */
	RF_CHECK_STR(out, "\\xe0\\x80\\x80");
	rp_text_sanitize("0123456789", 8, out, sizeof(out));
	RF_CHECK_STR(out, "01234...");
	rp_text_sanitize("01234567", 8, out, sizeof(out));
	RF_CHECK_STR(out, "01234567");
	rp_text_sanitize("0123456789", 0, out, 6); /* the buffer bounds too */
	RF_CHECK_STR(out, "01234");
}

RP_TEST(prometheus_groups_families)
{
	struct rp_snapshot snaps[2];
	struct rp_failure fail;
	char *text = NULL;
	const char *p;
	int families = 0;

	rp_test_valid(rp_buf);
	rp_test_stat_set(rp_buf, RF_STAT_budget_wait_ns, 1500000001);
	rp_test_write(getpid(), rp_buf, sizeof(rp_buf));
	RF_CHECK_INT(rp_test_read(getpid(), &snaps[0], &fail), RP_READ_OK);
	snaps[1] = snaps[0];
	snaps[1].pid = 1;
	RP_CAPTURE(text, rp_stat_print_prometheus(out, snaps, 2));
	for (p = text; (p = strstr(p, "# TYPE ringfence_produce_msgs_total counter\n")); p++)
		families++;
	RF_CHECK_INT(families, 1);
	RF_CHECK(strstr(text, "# HELP ringfence_produce_msgs_total Messages accepted") != NULL);
	RF_CHECK(
		strstr(text, "ringfence_produce_msgs_total{pid=\"1\",comm=\"test-reader\"} 10\n") !=
		NULL);
	RF_CHECK(strstr(text, "# TYPE ringfence_up gauge\n") != NULL);
	RF_CHECK(strstr(text, "ringfence_up{pid=\"1\",comm=\"test-reader\"} 1\n") != NULL);
	RF_CHECK(strstr(text, "ringfence_process_state{pid=\"1\",comm=\"test-reader\",state="
			      "\"alive\"} 1\n") != NULL);
	RF_CHECK(strstr(text, "ringfence_process_state{pid=\"1\",comm=\"test-reader\",state="
			      "\"dead\"} 0\n") != NULL);
	RF_CHECK(strstr(text, "ringfence_start_time_seconds{pid=\"1\",comm=\"test-reader\"} "
			      "1700000000\n") != NULL);
	/* Nanoseconds in the segment, seconds in Prometheus, exactly. */
	RF_CHECK(strstr(text, "# TYPE ringfence_budget_wait_seconds_total counter\n") != NULL);
	RF_CHECK(strstr(text, "# HELP ringfence_budget_wait_seconds_total Total time produce calls "
			      "waited for budget (seconds)\n") != NULL);
	RF_CHECK(strstr(text, "ringfence_budget_wait_seconds_total{pid=\"1\",comm=\"test-reader\"} "
			      "1.500000001\n") != NULL);
	RF_CHECK(strstr(text, "ringfence_config_budget_bytes{pid=\"1\",comm=\"test-reader\"} "
			      "67108864\n") != NULL);
	RF_CHECK(strstr(text, "ringfence_config_publish_interval_seconds{pid=\"1\",comm=\"test-"
			      "reader\"} 0.2\n") != NULL);
	RF_CHECK(strstr(text, "ringfence_shim_info{pid=\"1\",comm=\"test-reader\",version=\"") !=
		 NULL);
	RF_CHECK(strstr(text, "_ns") == NULL);
	RP_CHECK_OUTPUT(rp_check_prometheus, "stat --prometheus", text);
	free(text);
	/* Nothing to expose, nothing printed. */
	RP_CAPTURE(text, rp_stat_print_prometheus(out, snaps, 0));
	RF_CHECK_STR(text, "");
	free(text);
	rp_snapshot_release(&snaps[0]);
}

/*
 * Prometheus names: base units as the last word, "_total" on counters and on
 * nothing else, no abbreviated unit; the unit column agrees with the name.
 */
RP_TEST(prometheus_names_follow_conventions)
{
	for (int i = 0; i < RF_STAT__COUNT; i++) {
		const struct rp_stat_info *info = &rp_stats_info[i];
		const char *prom = rp_stat_prom_name((enum rf_stat)i);
		bool counter = info->type == RF_STAT_TYPE_COUNTER;
		size_t len = strlen(prom);
		char words[RP_STAT_PROM_NAME_MAX + 2];
		const char *base = info->unit == RF_STAT_UNIT_NS      ? "_seconds"
				   : info->unit == RF_STAT_UNIT_BYTES ? "_bytes"
								      : NULL;
		char want[RP_STAT_PROM_NAME_MAX];

		printf("# %s -> %s\n", info->name, prom);
		RF_CHECK(len > 0 && len < RP_STAT_PROM_NAME_MAX - 1);
		RF_CHECK(counter == (len > 6 && strcmp(prom + len - 6, "_total") == 0));
		snprintf(words, sizeof(words), "_%s_", prom);
		RF_CHECK(strstr(words, "_ns_") == NULL && strstr(words, "_ms_") == NULL);
		/* "_ns" and "_bytes" are in a name exactly when its unit says so. */
		snprintf(words, sizeof(words), "_%s_", info->name);
		RF_CHECK((strstr(words, "_ns_") != NULL) == (info->unit == RF_STAT_UNIT_NS));
		RF_CHECK((strstr(words, "_bytes_") != NULL) == (info->unit == RF_STAT_UNIT_BYTES));
		if (base == NULL)
			continue;
		snprintf(want, sizeof(want), "%s%s", base, counter ? "_total" : "");
		RF_CHECK(len > strlen(want) && strcmp(prom + len - strlen(want), want) == 0);
	}
	RF_CHECK_STR(rp_stat_prom_name(RF_STAT_budget_wait_ns), "budget_wait_seconds_total");
	RF_CHECK_STR(rp_stat_prom_name(RF_STAT_budget_bytes_peak), "budget_peak_bytes");
	RF_CHECK_STR(rp_stat_prom_name(RF_STAT_heap_trim_ns_max), "heap_trim_max_seconds");
	RF_CHECK_STR(rp_stat_prom_name(RF_STAT_budget_waiting_longest_ns),
		     "budget_waiting_longest_seconds");
	RF_CHECK_STR(rp_stat_prom_name(RF_STAT_produce_bytes), "produce_bytes_total");
	RF_CHECK_STR(rp_stat_prom_name(RF_STAT_budget_waiting), "budget_waiting");
}

RP_TEST(prometheus_seconds_are_exact)
{
	char *text = NULL;

	RP_CAPTURE(text, rp_prom_seconds(out, 0); fputc(' ', out);
		   rp_prom_seconds(out, 1700000000000000000); fputc(' ', out);
		   rp_prom_seconds(out, 250000000); fputc(' ', out);
		   rp_prom_seconds(out, -1500000000); fputc(' ', out);
		   rp_prom_seconds(out, INT64_MIN); fputc(' ', out);
		   rp_stat_prom_value(out, RF_STAT_budget_wait_ns, UINT64_MAX); fputc(' ', out);
		   rp_stat_prom_value(out, RF_STAT_budget_bytes, UINT64_MAX));
	RF_CHECK_STR(text, "0 1700000000 0.25 -1.5 -9223372036.854775808 18446744073.709551615 "
			   "18446744073709551615");
	free(text);
}

RP_TEST(prometheus_comm_is_the_program_name)
{
	char comm[RP_PROM_COMM_MAX];

	rp_prom_comm("/usr/bin/python3 app.py --x", comm);
	RF_CHECK_STR(comm, "python3");
	rp_prom_comm("./rf-producer", comm);
	RF_CHECK_STR(comm, "rf-producer");
	rp_prom_comm("a-very-long-program-name --flag", comm);
	RF_CHECK_STR(comm, "a-very-long-pro");
	rp_prom_comm("", comm);
	RF_CHECK_STR(comm, "");
	rp_prom_comm("/dir/ x", comm);
	RF_CHECK_STR(comm, "");
}

/*
 * The exposition written a piece at a time (as serve streams it) is the
 * exposition written at once, each piece within its bound; leak groups are
 * the largest ones, the rest counted.
 */
RP_TEST(prometheus_pieces_and_leak_groups)
{
	struct rp_snapshot snap;
	struct rp_failure fail;
	struct rp_prom_proc procs[2];
	struct rp_prom_cursor c = {0};
	struct rf_shm_thread_info info = {.threads_total = 0, .groups_total = 8};
	char *whole = NULL, *pieces = NULL, *piece = NULL;
	size_t len, npieces = 0;
	FILE *stream;

	rp_test_valid(rp_buf);
	rp_test_handle_add(rp_buf);
	rp_test_entry_add(rp_buf, RF_SHM_SECTION_THREAD_INFO, &info, sizeof(info));
	/* Group g has g + 1 alive threads: the process is dead, so all are leaked. */
	for (uint32_t g = 0; g < 8; g++) {
		struct rf_shm_thread_group group = {
			.nframes = 1, .frames = {0x401000 + g}, .alive = g + 1, .created = g + 1};

		snprintf(group.start_name, sizeof(group.start_name), "worker_%u", g);
		rp_test_entry_add(rp_buf, RF_SHM_SECTION_THREAD_GROUPS, &group, sizeof(group));
		for (uint32_t t = 0; t <= g; t++) {
			struct rf_shm_thread th = {.tid = (int32_t)(100 + 10 * g + t), .group = g};

			rp_test_entry_add(rp_buf, RF_SHM_SECTION_THREADS, &th, sizeof(th));
		}
	}
	RP_HDR(rp_buf)->pid = 4194305; /* no such process: dead, every thread leaked */
	rp_test_write(4194305, rp_buf, sizeof(rp_buf));
	RF_CHECK_INT(rp_test_read(4194305, &snap, &fail), RP_READ_OK);
	RF_CHECK_INT(rp_prom_proc_take(&snap, 3, &procs[0]), 0);
	RF_CHECK_INT(rp_prom_proc_take(&snap, 0, &procs[1]), 0);
	procs[1].pid = 1;
	RF_CHECK_INT(procs[0].ngroups, 3);
	RF_CHECK_INT(procs[0].groups_omitted, 5);
	RF_CHECK_INT(procs[0].leaked_threads, 36);
	RF_CHECK_INT(procs[1].ngroups, 0);
	RF_CHECK_INT(procs[1].groups_omitted, 8);
	RP_CAPTURE(whole, rp_prom_print(out, procs, 2));
	RF_CHECK(strstr(whole, "ringfence_leak_group_threads{pid=\"4194305\",comm=\"test-reader\","
			       "group=\"7\",verdict=\"leaked\",start_routine=\"worker_7\","
			       "thread_name=\"\"} 8\n") != NULL);
	RF_CHECK(strstr(whole, "start_routine=\"worker_5\"") != NULL);
	RF_CHECK(strstr(whole, "start_routine=\"worker_4\"") == NULL);
	RF_CHECK(strstr(whole,
			"ringfence_leak_groups_omitted{pid=\"4194305\",comm=\"test-reader\"} "
			"5\n") != NULL);
	RF_CHECK(strstr(whole,
			"ringfence_leak_groups_omitted{pid=\"1\",comm=\"test-reader\"} 8\n") !=
		 NULL);
	RF_CHECK(strstr(whole, "ringfence_leaked_threads{pid=\"1\",comm=\"test-reader\"} 36\n") !=
		 NULL);
	RF_CHECK(strstr(whole, "ringfence_handle_held_bytes{pid=\"1\",comm=\"test-reader\",handle="
			       "\"rdkafka#producer-1\",client_id=\"app\"} 4096\n") != NULL);
	RF_CHECK(strstr(whole, "ringfence_handle_poll_age_seconds{pid=\"1\",comm=\"test-reader\","
			       "handle=\"rdkafka#producer-1\",client_id=\"app\"} 5\n") != NULL);
	RP_CHECK_OUTPUT(rp_check_prometheus, "rp_prom_print", whole);

	stream = open_memstream(&pieces, &len);
	RF_CHECK(stream != NULL);
	for (;;) {
		size_t plen;
		FILE *one = open_memstream(&piece, &plen);
		bool more;

		RF_CHECK(one != NULL);
		more = rp_prom_next(one, procs, 2, &c);
		fclose(one);
		RF_CHECK(plen <= RP_PROM_PIECE_MAX);
		RF_CHECK(more == (plen > 0));
		fwrite(piece, 1, plen, stream);
		free(piece);
		if (!more)
			break;
		npieces++;
	}
	fclose(stream);
	RF_CHECK_STR(pieces, whole);
	RF_CHECK(npieces > 100);
	free(pieces);
	free(whole);
	rp_prom_proc_release(&procs[0]);
	rp_prom_proc_release(&procs[1]);
	rp_snapshot_release(&snap);
}

RP_TEST(age_format)
{
	char buf[32];

	rp_age_format(1000, 1000, buf, sizeof(buf));
	RF_CHECK_STR(buf, "0ms");
	rp_age_format(INT64_C(12345) * 1000000, 0, buf, sizeof(buf));
	RF_CHECK_STR(buf, "12.3s");
	rp_age_format(INT64_C(303) * 1000000000, 0, buf, sizeof(buf));
	RF_CHECK_STR(buf, "5m03s");
	rp_age_format(INT64_C(7500) * 1000000000, 0, buf, sizeof(buf));
	RF_CHECK_STR(buf, "2h05m");
	rp_age_format(0, INT64_C(2) * 1000000000, buf, sizeof(buf));
	RF_CHECK_STR(buf, "-2.0s");
	/* Hostile times: no overflow (UBSan watches this one). */
	rp_age_format(INT64_MAX, INT64_MIN, buf, sizeof(buf));
	RF_CHECK(buf[0] != '-');
	rp_age_format(INT64_MIN, INT64_MAX, buf, sizeof(buf));
	RF_CHECK(buf[0] == '-');
}

/* "Now" for the printers: 100 s after the test segment's start. */
#define RP_NOW_NS INT64_C(1700000100000000000)

/*
 * `ls` MSGS and BYTES: what the entry points accepted, not every counter
 * whose name ends the same way (heap, registry, purged messages).
 */
RP_TEST(ls_counts_what_was_produced)
{
	struct rp_snapshot snap;
	struct rp_failure fail;
	char *row = NULL, *json = NULL;
	size_t len = 0;
	FILE *out;

	rp_test_valid(rp_buf);
	rp_test_stat_set(rp_buf, RF_STAT_produce_batch_bytes, 24);
	rp_test_stat_set(rp_buf, RF_STAT_produce_batch_msgs, 3);
	rp_test_stat_set(rp_buf, RF_STAT_heap_live_bytes, 3839935);
	rp_test_stat_set(rp_buf, RF_STAT_thread_registry_bytes, 65536);
	rp_test_stat_set(rp_buf, RF_STAT_budget_dropped_msgs, 7);
	rp_test_stat_set(rp_buf, RF_STAT_budget_dropped_bytes, 700);
	rp_test_write(getpid(), rp_buf, sizeof(rp_buf));
	RF_CHECK_INT(rp_test_read(getpid(), &snap, &fail), RP_READ_OK);
	RF_CHECK_INT(rp_stats_produced_msgs(&snap), 18);
	RF_CHECK_INT(rp_stats_produced_bytes(&snap), 1024);
	out = open_memstream(&row, &len);
	rp_ls_print_row(out, &snap, RP_NOW_NS, 0);
	fclose(out);
	RF_CHECK(strstr(row, " 18 ") != NULL && strstr(row, " 1024  ") != NULL);
	out = open_memstream(&json, &len);
	rp_ls_print_json_row(out, &snap);
	fclose(out);
	RF_CHECK(strstr(json, "\"msgs\": 18, \"bytes\": 1024,") != NULL);
	free(row);
	free(json);
	rp_snapshot_release(&snap);
}

/* Threads waiting for budget, said plainly: how many, how long, what the heap did meanwhile. */
RP_TEST(stat_says_who_waits_for_budget)
{
	struct rp_snapshot snap;
	struct rp_failure fail;
	char *text = NULL, *json = NULL;
	size_t len = 0;
	FILE *out;

	rp_test_valid(rp_buf);
	rp_test_stat_set(rp_buf, RF_STAT_budget_waiting, 5);
	rp_test_stat_set(rp_buf, RF_STAT_budget_waiting_longest_ns, UINT64_C(2100000000));
	rp_test_stat_set(rp_buf, RF_STAT_budget_waiting_heap_growth_bytes, 36000000);
	rp_test_write(getpid(), rp_buf, sizeof(rp_buf));
	RF_CHECK_INT(rp_test_read(getpid(), &snap, &fail), RP_READ_OK);
	out = open_memstream(&text, &len);
	rp_stat_print_text(out, &snap, RP_NOW_NS);
	fclose(out);
	RF_CHECK(strstr(text, "waiting        5 threads wait for budget now, the first for 2.1s; "
			      "live heap grew by 36000000 bytes (34.3 MiB) meanwhile\n") != NULL);
	out = open_memstream(&json, &len);
	rp_stat_print_json(out, &snap);
	fclose(out);
	RF_CHECK(strstr(json,
			"\"waiting\": {\"threads\": 5, \"longest_ns\": 2100000000, "
			"\"heap_growth_bytes\": 36000000, \"summary\": \"5 threads wait") != NULL);
	free(text);
	free(json);
	rp_snapshot_release(&snap);
	/* Nobody waits: no line, null. */
	rp_test_stat_set(rp_buf, RF_STAT_budget_waiting, 0);
	rp_test_write(getpid(), rp_buf, sizeof(rp_buf));
	RF_CHECK_INT(rp_test_read(getpid(), &snap, &fail), RP_READ_OK);
	out = open_memstream(&text, &len);
	rp_stat_print_text(out, &snap, RP_NOW_NS);
	rp_stat_print_json(out, &snap);
	fclose(out);
	RF_CHECK(strstr(text, "\nwaiting ") == NULL);
	RF_CHECK(strstr(text, "\"waiting\": null,") != NULL);
	free(text);
	rp_snapshot_release(&snap);
}

/* ---- segments of an older or newer writer of the same layout version ---- */

/* Everything the printers write about one segment, the clocks fixed where they can be. */
struct rp_reports {
	char *stat_text, *stat_json, *prometheus, *ls_row, *ls_json, *threads_text, *threads_json;
};

/* The reports of len bytes of buf, written as this process's segment. */
static void rp_reports_take(const unsigned char *buf, size_t len, struct rp_reports *r)
{
	struct rp_snapshot snap;
	struct rp_failure fail;
	struct rp_threads t;

	rp_test_write(getpid(), buf, len);
	RF_CHECK_INT(rp_test_read(getpid(), &snap, &fail), RP_READ_OK);
	RF_CHECK_INT(rp_threads_analyse(&snap, NULL, &t), 0);
	RP_CAPTURE(r->stat_text, rp_stat_print_text(out, &snap, RP_NOW_NS));
	RP_CAPTURE(r->stat_json, rp_stat_print_json(out, &snap));
	RP_CAPTURE(r->prometheus, rp_stat_print_prometheus(out, &snap, 1));
	RP_CAPTURE(r->ls_row, rp_ls_print_row(out, &snap, RP_NOW_NS, 0));
	RP_CAPTURE(r->ls_json, rp_ls_print_json_row(out, &snap));
	RP_CAPTURE(r->threads_text, rp_threads_print_text(out, &t, NULL, false));
	RP_CAPTURE(r->threads_json, rp_threads_print_json(out, &t, NULL, false));
	rp_threads_release(&t);
	rp_snapshot_release(&snap);
}

static void rp_reports_free(struct rp_reports *r)
{
	free(r->stat_text);
	free(r->stat_json);
	free(r->prometheus);
	free(r->ls_row);
	free(r->ls_json);
	free(r->threads_text);
	free(r->threads_json);
}

/* The valid segment with a handle and a share of messages admitted without waiting. */
static void rp_test_full(unsigned char *buf)
{
	rp_test_valid(buf);
	rp_test_handle_add(buf);
	rp_test_stat_set(buf, RF_STAT_budget_nowait, 3);
	rp_test_stat_set(buf, RF_STAT_budget_waits, 1);
}

/* A newer writer's additions change nothing the printers write, in any format. */
RP_TEST(newer_writer_prints_as_before)
{
	static unsigned char newer[RP_TEST_NEWER_MAX];
	struct rp_reports known, ahead;

	rp_test_full(rp_buf);
	rp_reports_take(rp_buf, sizeof(rp_buf), &known);
	rp_reports_take(newer, rp_test_newer(rp_buf, newer), &ahead);
	RF_CHECK(strstr(known.stat_text, "rdkafka#producer-1") != NULL);
	RF_CHECK(strstr(known.stat_text, "nowait_share") != NULL);
	RF_CHECK_STR(ahead.stat_text, known.stat_text);
	RF_CHECK_STR(ahead.stat_json, known.stat_json);
	RF_CHECK_STR(ahead.prometheus, known.prometheus);
	RF_CHECK_STR(ahead.ls_row, known.ls_row);
	RF_CHECK_STR(ahead.ls_json, known.ls_json);
	RF_CHECK_STR(ahead.threads_text, known.threads_text);
	RF_CHECK_STR(ahead.threads_json, known.threads_json);
	rp_reports_free(&known);
	rp_reports_free(&ahead);
}

/* text without its lines that hold one of the words (NULL-terminated), in place. */
static void rp_lines_drop(char *text, const char *const *words)
{
	char *line = text, *to = text;

	while (*line) {
		char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line + 1) : strlen(line);
		bool drop = false;

		for (const char *const *w = words; *w && !drop; w++)
			drop = memmem(line, len, *w, strlen(*w)) != NULL;
		if (!drop) {
			memmove(to, line, len);
			to += len;
		}
		line += len;
	}
	*to = '\0';
}

/* Runs of spaces as one: the text's counter column is as wide as its longest name. */
static void rp_spaces_squeeze(char *text)
{
	char *to = text;

	for (const char *p = text; *p; p++)
		if (!(*p == ' ' && p[1] == ' '))
			*to++ = *p;
	*to = '\0';
}

/*
 * An older writer's segment lacks the newest counters: every printer leaves
 * them out (no text line, no JSON key, no Prometheus family) and shows the
 * others as before.
 */
RP_TEST(older_writer_counters_left_out)
{
	enum {
		MISSING = 3
	};
	char words[4 * MISSING][96];
	const char *text_words[MISSING + 1] = {NULL}, *json_words[MISSING + 1] = {NULL};
	const char *prom_words[2 * MISSING + 1] = {NULL};
	struct rp_reports full, older;
	char *comma;

	rp_test_full(rp_buf);
	rp_reports_take(rp_buf, sizeof(rp_buf), &full);
	rp_test_section(rp_buf, RF_SHM_SECTION_STATS)->count = RF_STAT__COUNT - MISSING;
	rp_reports_take(rp_buf, sizeof(rp_buf), &older);
	for (int k = 0; k < MISSING; k++) {
		const struct rp_stat_info *info = &rp_stats_info[RF_STAT__COUNT - MISSING + k];
		const char *prom = rp_stat_prom_name((enum rf_stat)(RF_STAT__COUNT - MISSING + k));

		snprintf(words[4 * k], sizeof(words[0]), "  %s ", info->name);
		snprintf(words[4 * k + 1], sizeof(words[0]), "\"%s\":", info->name);
		/* The sample's line, and the family's HELP and TYPE lines. */
		snprintf(words[4 * k + 2], sizeof(words[0]), "ringfence_%s{", prom);
		snprintf(words[4 * k + 3], sizeof(words[0]), "ringfence_%s ", prom);
		text_words[k] = words[4 * k];
		json_words[k] = words[4 * k + 1];
		prom_words[2 * k] = words[4 * k + 2];
		prom_words[2 * k + 1] = words[4 * k + 3];
		RF_CHECK(strstr(older.stat_text, info->name) == NULL);
		RF_CHECK(strstr(older.stat_json, info->name) == NULL);
		RF_CHECK(strstr(older.prometheus, prom) == NULL);
		RF_CHECK(strstr(full.prometheus, words[4 * k + 2]) != NULL);
	}
	rp_lines_drop(full.stat_text, text_words);
	rp_spaces_squeeze(full.stat_text);
	rp_spaces_squeeze(older.stat_text);
	RF_CHECK_STR(older.stat_text, full.stat_text);
	/* The last counter left loses its comma. */
	rp_lines_drop(full.stat_json, json_words);
	comma = strstr(full.stat_json, ",\n  },\n  \"budget\"");
	RF_CHECK(comma != NULL);
	memmove(comma, comma + 1, strlen(comma + 1) + 1);
	RF_CHECK_STR(older.stat_json, full.stat_json);
	rp_lines_drop(full.prometheus, prom_words);
	RF_CHECK_STR(older.prometheus, full.prometheus);
	RF_CHECK_STR(older.threads_text, full.threads_text);
	RF_CHECK_STR(older.threads_json, full.threads_json);
	rp_reports_free(&full);
	rp_reports_free(&older);
}

/* The reports built on particular counters leave out what they cannot say. */
RP_TEST(older_writer_reports_say_less)
{
	struct rp_reports full, older;

	rp_test_full(rp_buf);
	rp_reports_take(rp_buf, sizeof(rp_buf), &full);
	RF_CHECK(strstr(full.stat_text, "budget\n  nowait_share") != NULL);
	RF_CHECK(strstr(full.stat_json, "\"nowait_share\": 0.750000") != NULL);
	RF_CHECK(strstr(full.threads_text, " ignored; created 0, exited 0\n") != NULL);
	RF_CHECK(strstr(full.threads_text, "\nheap: not accounted") != NULL);
	RF_CHECK(strstr(full.threads_json, "\"counters\": {\"created\": 0, \"exited\": 0,") !=
		 NULL);
	RF_CHECK(strstr(full.threads_json, "\"heap\": {\"interposed\": false,") != NULL);

	/* threads_created but not threads_exited. */
	rp_test_section(rp_buf, RF_SHM_SECTION_STATS)->count = RF_STAT_threads_exited;
	rp_reports_take(rp_buf, sizeof(rp_buf), &older);
	RF_CHECK(strstr(older.threads_text, " ignored; created 0\n") != NULL);
	RF_CHECK(strstr(older.threads_json, "\"counters\": {\"created\": 0},\n") != NULL);
	RF_CHECK(strstr(older.threads_json, "\"heap\": {},\n") != NULL);
	RF_CHECK(strstr(older.threads_text, "heap:") == NULL);
	rp_reports_free(&older);

	/* Nothing from the budget's share of non-waiting admissions on. */
	rp_test_section(rp_buf, RF_SHM_SECTION_STATS)->count = RF_STAT_budget_nowait;
	rp_reports_take(rp_buf, sizeof(rp_buf), &older);
	RF_CHECK(strstr(older.stat_text, "nowait_share") == NULL);
	RF_CHECK(strstr(older.stat_json, ",\n  \"budget\": {},\n  \"handles\": [") != NULL);
	RF_CHECK(strstr(older.prometheus, "ringfence_budget_nowait_total") == NULL);
	RF_CHECK(strstr(older.prometheus, "ringfence_budget_admitted_total{") != NULL);
	RF_CHECK(strstr(older.threads_text, " ignored\n") != NULL);
	RF_CHECK(strstr(older.threads_json, "\"counters\": {},\n  \"heap\": {},\n") != NULL);
	/* What does not come from the counters stays. */
	RF_CHECK(strstr(older.stat_text, "rdkafka#producer-1") != NULL);
	RF_CHECK_STR(older.ls_row, full.ls_row);
	rp_reports_free(&older);
	rp_reports_free(&full);
}

/* ---- hostile segments: strings and bytes meant for a terminal ---- */

/*
 * Every byte of segment origin that reaches a terminal is sanitised: in
 * every text printer (a thread's state letter went out raw with %c), in
 * reader messages (a configuration value the shim's rule refuses is quoted);
 * and the JSON printers stay pure ASCII.
 */
RP_TEST(text_output_is_terminal_safe)
{
	struct rp_snapshot snap;
	struct rp_failure fail;
	struct rp_reports r;
	struct rp_symbols *syms;
	struct rp_threads t;
	char *text = NULL;

	rp_test_hostile(rp_buf);
	rp_reports_take(rp_buf, sizeof(rp_buf), &r);
	RF_CHECK(strstr(r.threads_text, "state [\\x1b (unknown) in \\x1b]0;owned") != NULL);
	RF_CHECK(strstr(r.threads_json, "\"state\": {\"state\": \"\\u001b\"") != NULL);
	RP_CHECK_OUTPUT(rp_check_terminal, "stat", r.stat_text);
	RP_CHECK_OUTPUT(rp_check_terminal, "ls", r.ls_row);
	RP_CHECK_OUTPUT(rp_check_terminal, "threads", r.threads_text);
	RP_CHECK_OUTPUT(rp_check_json, "stat --json", r.stat_json);
	RP_CHECK_OUTPUT(rp_check_json, "ls --json", r.ls_json);
	RP_CHECK_OUTPUT(rp_check_json, "threads --json", r.threads_json);
	rp_reports_free(&r);

	/* With symbols: the module's path is printed too. */
	rp_test_write(getpid(), rp_buf, sizeof(rp_buf));
	RF_CHECK_INT(rp_test_read(getpid(), &snap, &fail), RP_READ_OK);
	syms = rp_threads_symbols_open(&snap);
	RF_CHECK_INT(rp_threads_analyse(&snap, NULL, &t), 0);
	RP_CAPTURE(text, rp_threads_print_text(out, &t, syms, false));
	RF_CHECK(strstr(text, "(\\x1b]0;owned") != NULL);
	RP_CHECK_OUTPUT(rp_check_terminal, "threads with symbols", text);
	free(text);
	RP_CAPTURE(text, rp_threads_print_json(out, &t, syms, false));
	RP_CHECK_OUTPUT(rp_check_json, "threads --json with symbols", text);
	free(text);
	rp_threads_release(&t);
	rp_symbols_close(syms);
	rp_snapshot_release(&snap);

	/* A reader error that quotes the segment: ls's error row, stderr of the others. */
	rp_test_valid(rp_buf);
	strcpy(RP_HDR(rp_buf)->config.shm_prefix, "\x1b[2J\xe9");
	rp_test_write(getpid(), rp_buf, sizeof(rp_buf));
	RF_CHECK_INT(rp_test_read(getpid(), &snap, &fail), RP_READ_LAYOUT);
	RP_CAPTURE(text, rp_ls_print_error(out, getpid(), &fail));
	RP_CHECK_OUTPUT(rp_check_terminal, "ls error", text);
	free(text);
	RP_CAPTURE(text, rp_ls_print_json_error(out, getpid(), snap.path, &fail));
	RP_CHECK_OUTPUT(rp_check_json, "ls --json error", text);
	free(text);
}

/*
 * Label values of hostile handle names are valid UTF-8 without control
 * characters: a client.id with the byte 0xE9 made promtool (and a scraper)
 * reject the whole exposition, and control bytes went through.
 */
RP_TEST(prometheus_labels_are_clean)
{
	struct rf_shm_handle h = {.state = RF_SHM_HANDLE_OPEN};
	struct rp_reports r;

	rp_test_hostile(rp_buf);
	rp_reports_take(rp_buf, sizeof(rp_buf), &r);
	RF_CHECK(strstr(r.prometheus, ",client_id=\"\\\\x1b]0;owned\\\\x07\\\\x1b[2J\\\\x0d"
				      "\\\\x7f\\\\xc2\\\\x9b\\\\xe9\"} 1\n") != NULL);
	RP_CHECK_OUTPUT(rp_check_prometheus, "stat --prometheus", r.prometheus);
	rp_reports_free(&r);
	/* Quotes and backslashes are escaped as the format wants. */
	rp_test_valid(rp_buf);
	strcpy(h.name, "p");
	strcpy(h.client_id, "a\"b\\c");
	rp_test_entry_add(rp_buf, RF_SHM_SECTION_HANDLES, &h, sizeof(h));
	rp_reports_take(rp_buf, sizeof(rp_buf), &r);
	RF_CHECK(strstr(r.prometheus, ",client_id=\"a\\\"b\\\\c\"}") != NULL);
	RP_CHECK_OUTPUT(rp_check_prometheus, "stat --prometheus", r.prometheus);
	rp_reports_free(&r);
}

RF_TEST_MAIN(RF_TEST_ENTRY(json_string_escaping), RF_TEST_ENTRY(stat_json_escapes_segment_strings),
	     RF_TEST_ENTRY(text_sanitize), RF_TEST_ENTRY(prometheus_groups_families),
	     RF_TEST_ENTRY(prometheus_names_follow_conventions),
	     RF_TEST_ENTRY(prometheus_seconds_are_exact),
	     RF_TEST_ENTRY(prometheus_comm_is_the_program_name),
	     RF_TEST_ENTRY(prometheus_pieces_and_leak_groups), RF_TEST_ENTRY(age_format),
	     RF_TEST_ENTRY(ls_counts_what_was_produced),
	     RF_TEST_ENTRY(stat_says_who_waits_for_budget),
	     RF_TEST_ENTRY(newer_writer_prints_as_before),
	     RF_TEST_ENTRY(older_writer_counters_left_out),
	     RF_TEST_ENTRY(older_writer_reports_say_less),
	     RF_TEST_ENTRY(text_output_is_terminal_safe),
	     RF_TEST_ENTRY(prometheus_labels_are_clean))
