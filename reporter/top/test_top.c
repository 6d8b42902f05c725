/*
 * test_top.c - what `ringfence top` shows, on segments from the real writer:
 * rates from successive reads, the sort, the cells, lines that fit their
 * width and are safe for a terminal whatever a segment holds.
 * Each test runs in its own process with its own prefix, and removes what it
 * created even when a check fails.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "rf_test.h"
#include "rp_list.h"
#include "rp_top.h"
#include "test_output.h"
#include "test_writer.h"

static unsigned char rp_buf[RF_SHM_SIZE];

/* Pids no process can have (above PID_MAX_LIMIT): their segments read as dead. */
#define RP_NO_PID 4194305

/* Publishes of this process's segment: its totals at publish time t (ns). */
static void rp_publish(int64_t t, uint64_t waits, uint64_t rejected, uint64_t oversized)
{
	rp_test_stat_set(rp_buf, RF_STAT_budget_waits, waits);
	rp_test_stat_set(rp_buf, RF_STAT_budget_rejected, rejected);
	rp_test_stat_set(rp_buf, RF_STAT_budget_oversized, oversized);
	RP_HDR(rp_buf)->publish_monotonic_ns = t;
	rp_test_write(getpid(), rp_buf, sizeof(rp_buf));
}

/* The row of pid in top's rows. */
static const struct rp_top_row *rp_row(const struct rp_top *top, pid_t pid)
{
	for (size_t i = 0; i < top->count; i++)
		if (top->rows[i].pid == pid)
			return &top->rows[i];
	RF_CHECK(!"no row for the pid");
	return NULL;
}

/* The cell of column c in a line laid out by lay (columns 1 apart). */
static void rp_cell(const char *line, const struct rp_top_layout *lay, enum rp_top_column c,
		    char *out, size_t len)
{
	size_t at = 0, w = lay->columns[c], n = 0;

	for (int i = 0; i < (int)c; i++)
		at += lay->columns[i] + 1;
	RF_CHECK(strlen(line) >= at + w);
	while (line[at] == ' ' && w > 0) {
		at++;
		w--;
	}
	while (n < w && line[at + n] != ' ' && n + 1 < len) {
		out[n] = line[at + n];
		n++;
	}
	out[n] = '\0';
}

/* Columns of a line, one a character. */
static size_t rp_cols(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

RP_TEST(rates_between_publishes)
{
	const int64_t t0 = INT64_C(5000000000);
	char line[RP_TOP_LINE_MAX], cell[32];
	const struct rp_top_row *row;
	struct rp_top_layout lay;
	struct rp_top top;

	rp_test_valid(rp_buf);
	rp_publish(t0, 100, 10, 0);
	rp_top_init(&top, rp_test_prefix);
	RF_CHECK_INT(rp_top_refresh(&top), 0);
	RF_CHECK_INT(top.count, 1);
	row = rp_row(&top, getpid());
	RF_CHECK_STR(row->state_label, "alive");
	/* One read measures nothing. */
	RF_CHECK(!row->known[RP_TOP_WAITS] && !row->known[RP_TOP_REFUSALS]);
	rp_top_layout(&top, 0, &lay);
	rp_top_row_line(row, &lay, line, sizeof(line));
	rp_cell(line, &lay, RP_TOP_WAITS, cell, sizeof(cell));
	RF_CHECK_STR(cell, "-");

	/* Half a second later: 50 more waits, 20 more refused and 5 too large. */
	rp_publish(t0 + 500000000, 150, 30, 5);
	RF_CHECK_INT(rp_top_refresh(&top), 0);
	row = rp_row(&top, getpid());
	RF_CHECK(row->known[RP_TOP_WAITS] && row->known[RP_TOP_REFUSALS]);
	RF_CHECK(row->value[RP_TOP_WAITS] == 100.0);
	RF_CHECK(row->value[RP_TOP_REFUSALS] == 50.0);
	rp_top_layout(&top, 0, &lay);
	rp_top_row_line(row, &lay, line, sizeof(line));
	rp_cell(line, &lay, RP_TOP_WAITS, cell, sizeof(cell));
	RF_CHECK_STR(cell, "100");
	rp_cell(line, &lay, RP_TOP_REFUSALS, cell, sizeof(cell));
	RF_CHECK_STR(cell, "50");

	/* No newer publish: the rates measured stand. */
	RF_CHECK_INT(rp_top_refresh(&top), 0);
	row = rp_row(&top, getpid());
	RF_CHECK(row->value[RP_TOP_WAITS] == 100.0 && row->value[RP_TOP_REFUSALS] == 50.0);

	/* Two seconds of nothing: 0; then 3 waits in 4 s. */
	rp_publish(t0 + 2500000000, 150, 35, 0 + 5);
	RF_CHECK_INT(rp_top_refresh(&top), 0);
	row = rp_row(&top, getpid());
	RF_CHECK(row->value[RP_TOP_WAITS] == 0.0 && row->value[RP_TOP_REFUSALS] == 2.5);
	rp_publish(t0 + 6500000000, 153, 35, 5);
	RF_CHECK_INT(rp_top_refresh(&top), 0);
	row = rp_row(&top, getpid());
	RF_CHECK(row->value[RP_TOP_WAITS] == 0.75);
	rp_top_layout(&top, 0, &lay);
	rp_top_row_line(row, &lay, line, sizeof(line));
	rp_cell(line, &lay, RP_TOP_WAITS, cell, sizeof(cell));
	RF_CHECK_STR(cell, "0.8");

	/* Totals that went down (untrusted bytes) or time that went back: no rate. */
	rp_publish(t0 + 7500000000, 10, 35, 5);
	RF_CHECK_INT(rp_top_refresh(&top), 0);
	RF_CHECK(!rp_row(&top, getpid())->known[RP_TOP_WAITS]);
	rp_publish(t0 + 8500000000, 20, 35, 5);
	RF_CHECK_INT(rp_top_refresh(&top), 0);
	RF_CHECK(rp_row(&top, getpid())->value[RP_TOP_WAITS] == 10.0);
	rp_publish(t0, 30, 35, 5);
	RF_CHECK_INT(rp_top_refresh(&top), 0);
	RF_CHECK(!rp_row(&top, getpid())->known[RP_TOP_WAITS]);
	rp_top_release(&top);
}

RP_TEST(another_process_or_an_ended_one_has_no_rate)
{
	const int64_t t0 = INT64_C(5000000000);
	struct rp_top top;

	rp_test_valid(rp_buf);
	rp_publish(t0, 100, 10, 0);
	rp_top_init(&top, rp_test_prefix);
	RF_CHECK_INT(rp_top_refresh(&top), 0);
	/* The same pid with another start time is another process: dead, and
	 * nothing is measured against the one before. */
	RP_HDR(rp_buf)->start_ticks += 1;
	rp_publish(t0 + 1000000000, 200, 20, 0);
	RF_CHECK_INT(rp_top_refresh(&top), 0);
	RF_CHECK_STR(rp_row(&top, getpid())->state_label, "dead");
	RF_CHECK(!rp_row(&top, getpid())->rates_known);
	rp_publish(t0 + 2000000000, 300, 20, 0);
	RF_CHECK_INT(rp_top_refresh(&top), 0);
	/* Measured, but a process that ended has no rate to show. */
	RF_CHECK(rp_row(&top, getpid())->rates_known);
	RF_CHECK(!rp_row(&top, getpid())->known[RP_TOP_WAITS]);
	RF_CHECK(!rp_row(&top, getpid())->known[RP_TOP_REFUSALS]);
	rp_top_release(&top);
}

/* Only the segments a test writes under its pids: not the writer's own. */
static void rp_own_remove(void)
{
	char name[RF_SHM_NAME_MAX];

	rp_segment_name(rp_test_prefix, getpid(), name);
	shm_unlink(name);
}

/* A dead process's segment under pid with the budget charge, peak and heap given. */
static void rp_dead(pid_t pid, uint64_t used, uint64_t peak, uint64_t heap, uint64_t limit)
{
	rp_test_valid(rp_buf);
	rp_own_remove();
	RP_HDR(rp_buf)->pid = pid;
	RP_HDR(rp_buf)->config.heap_limit = limit;
	rp_test_stat_set(rp_buf, RF_STAT_budget_bytes, used);
	rp_test_stat_set(rp_buf, RF_STAT_budget_bytes_peak, peak);
	rp_test_stat_set(rp_buf, RF_STAT_heap_live_bytes, heap);
	rp_test_stat_set(rp_buf, RF_STAT_heap_interposed, 1);
	rp_test_write(pid, rp_buf, sizeof(rp_buf));
}

/* The pids of top's rows in order, "1 2 3". */
static void rp_order(const struct rp_top *top, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < top->count && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%d", i ? " " : "",
					 (int)top->rows[i].pid - RP_NO_PID);
}

RP_TEST(sort_by_column)
{
	char line[RP_TOP_LINE_MAX];
	struct rp_top top;
	char order[64];

	rp_dead(RP_NO_PID + 0, 300, 900, 10, 0);
	rp_dead(RP_NO_PID + 1, 100, 950, 30, 1024 * 1024);
	rp_dead(RP_NO_PID + 2, 200, 900, 20, 0);
	rp_test_write(RP_NO_PID + 3, "garbage", 7); /* unreadable: always last */
	/* An older writer without the heap counters: its heap is unknown, last. */
	rp_dead(RP_NO_PID + 4, 200, 100, 0, 0);
	{
		struct rf_shm_section *stats = rp_test_section(rp_buf, RF_SHM_SECTION_STATS);
		stats->count = RF_STAT_heap_live_bytes;
		rp_test_write(RP_NO_PID + 4, rp_buf, sizeof(rp_buf));
	}
	rp_top_init(&top, rp_test_prefix);
	RF_CHECK_INT(rp_top_refresh(&top), 0);
	RF_CHECK_INT(top.count, 5);
	RF_CHECK_INT(top.ended, 4);
	RF_CHECK_INT(top.unreadable, 1);
	rp_top_title_line(&top, 0, line, sizeof(line));
	RF_CHECK(strstr(line, "  0 alive, 4 ended, 1 unreadable  sort: pid asc  rp-unit-") != NULL);
	rp_order(&top, order, sizeof(order));
	RF_CHECK_STR(order, "0 1 2 4 3");
	rp_top_sort(&top, RP_TOP_USED, true);
	rp_order(&top, order, sizeof(order));
	RF_CHECK_STR(order, "0 2 4 1 3"); /* ties by pid */
	rp_top_sort(&top, RP_TOP_USED, false);
	rp_order(&top, order, sizeof(order));
	RF_CHECK_STR(order, "1 2 4 0 3");
	rp_top_sort(&top, RP_TOP_PEAK, true);
	rp_order(&top, order, sizeof(order));
	RF_CHECK_STR(order, "1 0 2 4 3");
	rp_top_sort(&top, RP_TOP_HEAP, true);
	rp_order(&top, order, sizeof(order));
	RF_CHECK_STR(order, "1 2 0 4 3");
	rp_top_sort(&top, RP_TOP_HEAP, false);
	rp_order(&top, order, sizeof(order));
	RF_CHECK_STR(order, "0 2 1 4 3"); /* unknown last either way */
	rp_top_sort(&top, RP_TOP_LIMIT, true);
	rp_order(&top, order, sizeof(order));
	RF_CHECK_STR(order, "1 0 2 4 3");
	rp_top_sort(&top, RP_TOP_PID, true);
	rp_order(&top, order, sizeof(order));
	RF_CHECK_STR(order, "4 2 1 0 3");
	/* A new read keeps the sort. */
	RF_CHECK_INT(rp_top_refresh(&top), 0);
	rp_order(&top, order, sizeof(order));
	RF_CHECK_STR(order, "4 2 1 0 3");
	rp_top_release(&top);

	RF_CHECK_INT(rp_top_column_by_name("refusals"), RP_TOP_REFUSALS);
	RF_CHECK_INT(rp_top_column_by_name("nope"), -1);
	RF_CHECK_INT(rp_top_column_by_key('H'), RP_TOP_HEAP);
	RF_CHECK_INT(rp_top_column_by_key('x'), -1);
}

RP_TEST(cells)
{
	static const struct {
		double v;
		const char *size, *rate;
	} cases[] = {
		{0, "0", "0.0"},
		{0.04, "0", "0.0"},
		{0.75, "1", "0.8"},
		{9.94, "10", "9.9"},
		{9.96, "10", "10"},
		{1023, "1023", "1023"},
		{1024, "1.0K", "1024"},
		{1536, "1.5K", "1536"},
		{10 * 1024, "10K", "10k"},
		{1023 * 1024, "1023K", "1.0M"},
		{1024 * 1024 - 1, "1.0M", "1.0M"},
		{64.0 * 1024 * 1024, "64M", "67M"},
		{9999, "9.8K", "9999"},
		{10000, "9.8K", "10k"},
		{15300, "15K", "15k"},
		{1500000, "1.4M", "1.5M"},
		{1.5 * 1024 * 1024 * 1024, "1.5G", "1.6G"},
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		printf("# %g\n", cases[i].v);
		rp_top_size_format(cases[i].v, buf, sizeof(buf));
		RF_CHECK_STR(buf, cases[i].size);
		RF_CHECK(strlen(buf) <= 5);
		rp_top_rate_format(cases[i].v, buf, sizeof(buf));
		RF_CHECK_STR(buf, cases[i].rate);
	}
	rp_top_size_format(1e30, buf, sizeof(buf));
	RF_CHECK(strlen(buf) > 0);
}

RP_TEST(lines_fit_and_are_terminal_safe)
{
	static const size_t widths[] = {0, 200, 80, 60, 20, 1};
	char line[RP_TOP_LINE_MAX], cell[32];
	struct rp_top_layout lay;
	struct rp_top top;
	const char *bad;

	/* Every string hostile, and a thread alive when the process ended. */
	rp_test_hostile(rp_buf);
	rp_own_remove();
	RP_HDR(rp_buf)->pid = RP_NO_PID;
	rp_test_write(RP_NO_PID, rp_buf, sizeof(rp_buf));
	rp_test_write(RP_NO_PID + 1, "\x1b]0;owned\x07", 10);
	rp_top_init(&top, rp_test_prefix);
	RF_CHECK_INT(rp_top_refresh(&top), 0);
	RF_CHECK_INT(top.count, 2);
	for (size_t w = 0; w < sizeof(widths) / sizeof(widths[0]); w++) {
		rp_top_layout(&top, widths[w], &lay);
		rp_top_title_line(&top, widths[w], line, sizeof(line));
		RF_CHECK(widths[w] == 0 || rp_cols(line) <= widths[w]);
		RF_CHECK((bad = rp_check_terminal(line)) == NULL);
		rp_top_heading_line(&top, &lay, line, sizeof(line));
		RF_CHECK(widths[w] == 0 || rp_cols(line) <= widths[w]);
		for (size_t i = 0; i < top.count; i++) {
			rp_top_row_line(&top.rows[i], &lay, line, sizeof(line));
			printf("# %zu: %s\n", widths[w], line);
			RF_CHECK(widths[w] == 0 || rp_cols(line) <= widths[w]);
			RF_CHECK((bad = rp_check_terminal(line)) == NULL);
		}
	}
	rp_top_layout(&top, 0, &lay);
	rp_top_row_line(rp_row(&top, RP_NO_PID), &lay, line, sizeof(line));
	RF_CHECK(strstr(line, "\\x1b]0;owned\\x07\\x1b[2J\\x0d\\x7f\\xc2\\x9b\\xe9") != NULL);
	rp_cell(line, &lay, RP_TOP_STATE, cell, sizeof(cell));
	RF_CHECK_STR(cell, "dead");
	/* The hostile segment's one thread was alive at the end: leaked. */
	rp_cell(line, &lay, RP_TOP_LEAKED, cell, sizeof(cell));
	RF_CHECK_STR(cell, "1");
	rp_cell(line, &lay, RP_TOP_STUCK, cell, sizeof(cell));
	RF_CHECK_STR(cell, "0");
	rp_top_row_line(rp_row(&top, RP_NO_PID + 1), &lay, line, sizeof(line));
	RF_CHECK(strstr(line, " error /dev/shm/") != NULL &&
		 strstr(line, "not a ringfence segment") != NULL);
	/* 80 columns: the command is cut, and says so. */
	rp_top_layout(&top, 80, &lay);
	rp_top_row_line(rp_row(&top, RP_NO_PID), &lay, line, sizeof(line));
	RF_CHECK_INT(rp_cols(line), 80);
	RF_CHECK(strcmp(line + strlen(line) - 3, "...") == 0);
	rp_top_release(&top);
}

RP_TEST(once_prints_the_frame)
{
	struct rp_top top;
	char *text = NULL;
	size_t len;
	FILE *out;

	rp_dead(RP_NO_PID, 3 * 1024 * 1024, 5 * 1024 * 1024, 1536, 512 * 1024 * 1024);
	/* The program's directory is left out, not its arguments'. */
	strcpy(RP_HDR(rp_buf)->cmdline, "/usr/bin/test-reader --flag /a/b");
	rp_test_write(RP_NO_PID, rp_buf, sizeof(rp_buf));
	rp_top_init(&top, rp_test_prefix);
	RF_CHECK_INT(rp_top_refresh(&top), 0);
	out = open_memstream(&text, &len);
	RF_CHECK(out != NULL);
	rp_top_print(out, &top, 0);
	fclose(out);
	/* As TAP comments: the frame, for whoever reads the log. */
	for (const char *line = text; *line != '\0';) {
		const char *nl = strchr(line, '\n');
		int n = nl != NULL ? (int)(nl - line) : (int)strlen(line);

		printf("# %.*s\n", n, line);
		line += n + (nl != NULL);
	}
	RF_CHECK(strncmp(text, "top  ", 5) == 0);
	RF_CHECK(strstr(text, "  0 alive, 1 ended  sort: pid asc  rp-unit-") == text + 13);
	RF_CHECK(strstr(text, ".*\n    PID") != NULL);
	RF_CHECK(strstr(text, "\n    PID STATE  USED  PEAK BUDGET WAIT/s REF/s LEAK STUCK  HEAP "
			      "LIMIT COMMAND\n4194305 dead   3.0M  5.0M    64M      -     -    0 "
			      "    0  1.5K  512M test-reader --flag /a/b\n"));
	free(text);
	rp_top_release(&top);
}

RF_TEST_MAIN(RF_TEST_ENTRY(rates_between_publishes),
	     RF_TEST_ENTRY(another_process_or_an_ended_one_has_no_rate),
	     RF_TEST_ENTRY(sort_by_column), RF_TEST_ENTRY(cells),
	     RF_TEST_ENTRY(lines_fit_and_are_terminal_safe), RF_TEST_ENTRY(once_prints_the_frame))
