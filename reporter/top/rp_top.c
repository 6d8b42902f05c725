/*
 * rp_top.c - the rows of `ringfence top`: read, measured, judged, sorted,
 * laid out.
 */
#define _GNU_SOURCE
#include "rp_top.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rp_format.h"
#include "rp_list.h"
#include "rp_segment.h"
#include "rp_threads.h"
#include "rf_time.h"

const struct rp_top_column_info rp_top_columns[RP_TOP__COLUMNS] = {
#define RP_TOP_COLUMN_INFO(id, name, key, heading, align, order)                                   \
	[RP_TOP_##id] = {name, key, heading, RP_TOP_ALIGN_##align, RP_TOP_ORDER_##order},
#define RP_TOP_ALIGN_LEFT false
#define RP_TOP_ALIGN_RIGHT true
#define RP_TOP_ORDER_ASC false
#define RP_TOP_ORDER_DESC true
	RP_TOP_COLUMNS(RP_TOP_COLUMN_INFO)
#undef RP_TOP_COLUMN_INFO
};

int rp_top_column_by_name(const char *name)
{
	for (int c = 0; c < RP_TOP__COLUMNS; c++)
		if (strcmp(rp_top_columns[c].name, name) == 0)
			return c;
	return -1;
}

int rp_top_column_by_key(int key)
{
	for (int c = 0; c < RP_TOP__COLUMNS; c++)
		if (rp_top_columns[c].key == key)
			return c;
	return -1;
}

void rp_top_column_names(char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int c = 0; c < RP_TOP__COLUMNS && used < len; c++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", c ? ", " : "",
					 rp_top_columns[c].name);
}

void rp_top_init(struct rp_top *top, const char *prefix)
{
	memset(top, 0, sizeof(*top));
	snprintf(top->prefix, sizeof(top->prefix), "%s", prefix);
	top->sort = RP_TOP_PID;
	top->descending = rp_top_columns[RP_TOP_PID].descending;
}

void rp_top_release(struct rp_top *top)
{
	free(top->rows);
	top->rows = NULL;
	top->count = 0;
}

/* ---- reading ------------------------------------------------------------- */

static int rp_top_cmp_pid(const void *a, const void *b)
{
	const struct rp_top_row *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Counter stat of snap into *v when the segment has it. */
static bool rp_top_stat(const struct rp_snapshot *snap, enum rf_stat stat, double *v)
{
	if (!rp_snapshot_has_stat(snap, stat))
		return false;
	*v = (double)snap->stats[stat];
	return true;
}

static void rp_top_set(struct rp_top_row *row, enum rp_top_column c, bool known, double v)
{
	row->known[c] = known;
	row->value[c] = known ? v : 0;
}

/*
 * The rates of row against old, the same process at the previous read:
 * measured between the two publishes when a newer one came, else those
 * measured before. Totals only grow; if they did not, nothing is measured.
 */
static void rp_top_rates(struct rp_top_row *row, const struct rp_top_row *old)
{
	double seconds;

	row->rates_known = false;
	if (old == NULL || !old->totals_known || !row->totals_known)
		return;
	if (row->publish_ns == old->publish_ns) {
		row->rates_known = old->rates_known;
		row->waits_rate = old->waits_rate;
		row->refusals_rate = old->refusals_rate;
		return;
	}
	if (row->publish_ns < old->publish_ns || row->waits_total < old->waits_total ||
	    row->refusals_total < old->refusals_total)
		return;
	/* Unsigned difference: the times are untrusted numbers, ordered above. */
	seconds = (double)((uint64_t)row->publish_ns - (uint64_t)old->publish_ns) / 1e9;
	row->waits_rate = (double)(row->waits_total - old->waits_total) / seconds;
	row->refusals_rate = (double)(row->refusals_total - old->refusals_total) / seconds;
	row->rates_known = true;
}

/*
 * Leaked and stuck threads as `threads` and `check` count them. Symbols can
 * only turn a suspect into a library or ignored thread (the Go runtime's
 * threads are known by their creator's name), so they are read only when
 * there are suspects; the verdict on an ended process does not change, so
 * it is kept from the previous read while the figures are the same.
 */
static void rp_top_threads(struct rp_top_row *row, const struct rp_snapshot *snap,
			   const struct rp_top_row *old)
{
	struct rp_threads_options opts = {0};
	struct rp_threads t;

	if (old != NULL && old->threads_judged && row->state != RP_STATE_ALIVE &&
	    old->state == row->state && old->publish_ns == row->publish_ns) {
		row->threads_judged = true;
		rp_top_set(row, RP_TOP_LEAKED, true, old->value[RP_TOP_LEAKED]);
		rp_top_set(row, RP_TOP_STUCK, true, old->value[RP_TOP_STUCK]);
		return;
	}
	if (rp_threads_analyse(snap, NULL, &t) < 0) {
		rp_threads_release(&t);
		return;
	}
	if (t.totals[RF_THREAD_CLASS_LEAKED] + t.totals[RF_THREAD_CLASS_STUCK] > 0) {
		rp_threads_release(&t);
		opts.syms = rp_threads_symbols_open(snap);
		if (rp_threads_analyse(snap, &opts, &t) < 0) {
			rp_threads_release(&t);
			rp_symbols_close(opts.syms);
			return;
		}
		rp_symbols_close(opts.syms);
	}
	row->threads_judged = true;
	rp_top_set(row, RP_TOP_LEAKED, true, (double)t.totals[RF_THREAD_CLASS_LEAKED]);
	rp_top_set(row, RP_TOP_STUCK, true, (double)t.totals[RF_THREAD_CLASS_STUCK]);
	rp_threads_release(&t);
}

/*
 * The command line with the program's directory left out: in a narrow
 * column its arguments say more (`ls` and `stat` show it whole). The first
 * word is the program: the segment holds argv joined by spaces.
 */
static void rp_top_command(const char *cmdline, char *out, size_t len)
{
	size_t first = strcspn(cmdline, " ");
	const char *slash = memrchr(cmdline, '/', first);

	snprintf(out, len, "%s",
		 slash != NULL && slash[1] != ' ' && slash[1] != '\0' ? slash + 1 : cmdline);
}

static void rp_top_fill(struct rp_top_row *row, const struct rp_snapshot *snap,
			const struct rp_top_row *old)
{
	const struct rf_shm_header *hdr = &snap->hdr;
	double v = 0, rejected, oversized;
	bool has;

	row->state = snap->live.state;
	rp_state_label(&snap->live, hdr, row->state_label, sizeof(row->state_label) - 1);
	if (snap->torn)
		strcat(row->state_label, "*");
	row->start_ticks = hdr->start_ticks;
	row->publish_ns = hdr->publish_monotonic_ns;
	rp_top_command(hdr->cmdline, row->command, sizeof(row->command));
	/* The process at the previous read, if this is still the same one. */
	if (old != NULL && (old->error != RP_READ_OK || old->start_ticks != row->start_ticks))
		old = NULL;

	rp_top_set(row, RP_TOP_PID, true, (double)row->pid);
	has = rp_top_stat(snap, RF_STAT_budget_bytes, &v);
	rp_top_set(row, RP_TOP_USED, has, v);
	has = rp_top_stat(snap, RF_STAT_budget_bytes_peak, &v);
	rp_top_set(row, RP_TOP_PEAK, has, v);
	rp_top_set(row, RP_TOP_BUDGET, true, (double)hdr->config.budget);
	/* Another malloc in front of the shim's: the heap is not accounted. */
	has = rp_top_stat(snap, RF_STAT_heap_live_bytes, &v) &&
	      !(rp_snapshot_has_stat(snap, RF_STAT_heap_interposed) &&
		snap->stats[RF_STAT_heap_interposed] == 0);
	rp_top_set(row, RP_TOP_HEAP, has, v);
	rp_top_set(row, RP_TOP_LIMIT, hdr->config.heap_limit != 0, (double)hdr->config.heap_limit);

	row->totals_known = rp_top_stat(snap, RF_STAT_budget_waits, &v) &&
			    rp_top_stat(snap, RF_STAT_budget_rejected, &rejected) &&
			    rp_top_stat(snap, RF_STAT_budget_oversized, &oversized);
	if (row->totals_known) {
		row->waits_total = snap->stats[RF_STAT_budget_waits];
		row->refusals_total = snap->stats[RF_STAT_budget_rejected] +
				      snap->stats[RF_STAT_budget_oversized];
	}
	rp_top_rates(row, old);
	/* Nothing flows in a process that ended. */
	has = row->rates_known && row->state == RP_STATE_ALIVE;
	rp_top_set(row, RP_TOP_WAITS, has, row->waits_rate);
	rp_top_set(row, RP_TOP_REFUSALS, has, row->refusals_rate);
	rp_top_threads(row, snap, old);
}

int rp_top_refresh(struct rp_top *top)
{
	struct rp_top_row *rows;
	size_t count = 0, n = 0;
	pid_t *pids;
	int rc;

	rc = rp_segment_list(top->prefix, &pids, &n);
	top->list_error = rc < 0 ? rc : 0;
	if (rc < 0)
		return rc;
	rows = calloc(n ? n : 1, sizeof(*rows));
	if (rows == NULL) {
		free(pids);
		return -ENOMEM;
	}
	/* The previous rows by pid, to find each process again. */
	if (top->count > 0)
		qsort(top->rows, top->count, sizeof(*top->rows), rp_top_cmp_pid);
	for (size_t i = 0; i < n; i++) {
		struct rp_top_row *row = &rows[count], *old, key = {.pid = pids[i]};
		struct rp_snapshot snap;
		struct rp_failure fail;
		enum rp_read_error e = rp_segment_read(top->prefix, pids[i], &snap, &fail);

		/* Removed between the listing and the read: nothing to show. */
		if (e == RP_READ_MISSING)
			continue;
		count++;
		row->pid = pids[i];
		row->error = e;
		if (e != RP_READ_OK) {
			snprintf(row->message, sizeof(row->message), "%s", fail.message);
			continue;
		}
		old = top->count ? bsearch(&key, top->rows, top->count, sizeof(*top->rows),
					   rp_top_cmp_pid)
				 : NULL;
		rp_top_fill(row, &snap, old);
		rp_snapshot_release(&snap);
	}
	free(pids);
	free(top->rows);
	top->rows = rows;
	top->count = count;
	top->read_realtime_ns = rf_clock_ns(CLOCK_REALTIME);
	top->alive = top->ended = top->unreadable = 0;
	for (size_t i = 0; i < count; i++) {
		if (rows[i].error != RP_READ_OK)
			top->unreadable++;
		else if (rows[i].state == RP_STATE_ALIVE)
			top->alive++;
		else
			top->ended++;
	}
	rp_top_sort(top, top->sort, top->descending);
	return 0;
}

/* ---- sorting -------------------------------------------------------------- */

static int rp_top_state_rank(enum rp_state state)
{
	switch (state) {
	case RP_STATE_ALIVE:
		return 0;
	case RP_STATE_EXITED:
		return 1;
	case RP_STATE_KILLED:
		return 2;
	case RP_STATE_DEAD:
		return 3;
	}
	return 4;
}

/* By the column in its order; unknown values and unreadable segments last; then by pid. */
static int rp_top_cmp(const void *a, const void *b, void *arg)
{
	const struct rp_top *top = arg;
	const struct rp_top_row *x = a, *y = b;
	enum rp_top_column col = top->sort;
	int c = 0;

	if ((x->error != RP_READ_OK) != (y->error != RP_READ_OK))
		return x->error != RP_READ_OK ? 1 : -1;
	if (x->error != RP_READ_OK)
		return rp_top_cmp_pid(a, b);
	switch (col) {
	case RP_TOP_STATE:
		c = rp_top_state_rank(x->state) - rp_top_state_rank(y->state);
		if (c == 0)
			c = strcmp(x->state_label, y->state_label);
		break;
	case RP_TOP_COMMAND:
		c = strcmp(x->command, y->command);
		break;
	default:
		if (x->known[col] != y->known[col])
			return x->known[col] ? -1 : 1;
		c = (x->value[col] > y->value[col]) - (x->value[col] < y->value[col]);
		break;
	}
	if (top->descending)
		c = -c;
	return c != 0 ? c : rp_top_cmp_pid(a, b);
}

void rp_top_sort(struct rp_top *top, enum rp_top_column column, bool descending)
{
	top->sort = column;
	top->descending = descending;
	if (top->count > 1)
		qsort_r(top->rows, top->count, sizeof(*top->rows), rp_top_cmp, top);
}

/* ---- cells and lines -------------------------------------------------------- */

void rp_top_size_format(double bytes, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	double v = bytes;
	size_t u = 0;

	if (v < 1023.5) {
		snprintf(buf, len, "%.0f", v < 0 ? 0 : v);
		return;
	}
	v /= 1024;
	/* Past 1023 of a unit, 1.0 of the next: five columns at most. */
	while (v >= 1023.5 && u + 1 < sizeof(units) - 1) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, v < 9.95 ? "%.1f%c" : "%.0f%c", v, units[u]);
}

void rp_top_rate_format(double per_second, char *buf, size_t len)
{
	static const char units[] = "kMGTPE";
	double v = per_second < 0 ? 0 : per_second;
	size_t u = 0;

	if (v < 9999.5) {
		snprintf(buf, len, v < 9.95 ? "%.1f" : "%.0f", v);
		return;
	}
	v /= 1000;
	while (v >= 999.5 && u + 1 < sizeof(units) - 1) {
		v /= 1000;
		u++;
	}
	snprintf(buf, len, v < 9.95 ? "%.1f%c" : "%.0f%c", v, units[u]);
}

#define RP_TOP_CELL_MAX 48

/* The cells of every column but COMMAND. */
static void rp_top_cells(const struct rp_top_row *row, char cells[][RP_TOP_CELL_MAX])
{
	for (int c = 0; c < RP_TOP__COLUMNS; c++) {
		char *cell = cells[c];

		if (row->error != RP_READ_OK && c != RP_TOP_PID && c != RP_TOP_STATE) {
			cell[0] = '\0';
			continue;
		}
		switch (c) {
		case RP_TOP_PID:
			snprintf(cell, RP_TOP_CELL_MAX, "%d", (int)row->pid);
			break;
		case RP_TOP_STATE:
			snprintf(cell, RP_TOP_CELL_MAX, "%s",
				 row->error != RP_READ_OK ? "error" : row->state_label);
			break;
		case RP_TOP_COMMAND:
			cell[0] = '\0';
			break;
		default:
			if (!row->known[c])
				snprintf(cell, RP_TOP_CELL_MAX, "-");
			else if (c == RP_TOP_WAITS || c == RP_TOP_REFUSALS)
				rp_top_rate_format(row->value[c], cell, RP_TOP_CELL_MAX);
			else if (c == RP_TOP_LEAKED || c == RP_TOP_STUCK)
				snprintf(cell, RP_TOP_CELL_MAX, "%.0f", row->value[c]);
			else
				rp_top_size_format(row->value[c], cell, RP_TOP_CELL_MAX);
			break;
		}
	}
}

void rp_top_layout(const struct rp_top *top, size_t width, struct rp_top_layout *lay)
{
	char cells[RP_TOP__COLUMNS][RP_TOP_CELL_MAX];
	size_t fixed = 0;

	lay->width = width;
	for (int c = 0; c < RP_TOP__COLUMNS; c++)
		lay->columns[c] = strlen(rp_top_columns[c].heading);
	/* Room for the usual figures, so that columns do not shift as they change. */
	lay->columns[RP_TOP_USED] = lay->columns[RP_TOP_PEAK] = lay->columns[RP_TOP_HEAP] =
		lay->columns[RP_TOP_LIMIT] = 5;
	for (size_t i = 0; i < top->count; i++) {
		rp_top_cells(&top->rows[i], cells);
		for (int c = 0; c < RP_TOP__COLUMNS; c++) {
			size_t n = strlen(cells[c]);
			if (c != RP_TOP_COMMAND && n > lay->columns[c])
				lay->columns[c] = n;
		}
	}
	for (int c = 0; c < RP_TOP_COMMAND; c++)
		fixed += lay->columns[c] + 1;
	/* What is left for the command; with no limit, all of it (0). */
	lay->columns[RP_TOP_COMMAND] = width == 0 ? 0 : width > fixed + 1 ? width - fixed : 1;
}

/* Cut s to cols columns: one a character (UTF-8 continuation bytes take none). */
static void rp_top_cut(char *s, size_t cols)
{
	size_t n = 0;

	if (cols == 0)
		return;
	for (char *p = s; *p; p++) {
		if (((unsigned char)*p & 0xc0) == 0x80)
			continue;
		if (n++ == cols) {
			*p = '\0';
			return;
		}
	}
}

/* Appends cell padded to its column. */
static size_t rp_top_pad(char *buf, size_t len, size_t used, const char *cell, size_t width,
			 bool right, bool last)
{
	int n;

	if (used >= len)
		return used;
	if (last && !right)
		n = snprintf(buf + used, len - used, "%s", cell);
	else
		n = snprintf(buf + used, len - used, right ? "%*s%s" : "%-*s%s", (int)width, cell,
			     last ? "" : " ");
	return n < 0 ? used : used + (size_t)n;
}

void rp_top_heading_line(const struct rp_top *top, const struct rp_top_layout *lay, char *buf,
			 size_t len)
{
	size_t used = 0;

	(void)top;
	buf[0] = '\0';
	for (int c = 0; c < RP_TOP__COLUMNS; c++)
		used = rp_top_pad(buf, len, used, rp_top_columns[c].heading, lay->columns[c],
				  rp_top_columns[c].right, c == RP_TOP_COMMAND);
	rp_top_cut(buf, lay->width);
}

void rp_top_row_line(const struct rp_top_row *row, const struct rp_top_layout *lay, char *buf,
		     size_t len)
{
	char cells[RP_TOP__COLUMNS][RP_TOP_CELL_MAX];
	char text[RP_SANITIZED_MAX(RP_MESSAGE_MAX)];
	size_t used = 0, room = lay->columns[RP_TOP_COMMAND];

	buf[0] = '\0';
	rp_top_cells(row, cells);
	if (row->error != RP_READ_OK) {
		/* The reader's message in place of the figures. */
		used = rp_top_pad(buf, len, used, cells[RP_TOP_PID], lay->columns[RP_TOP_PID], true,
				  false);
		used = rp_top_pad(buf, len, used, cells[RP_TOP_STATE], lay->columns[RP_TOP_STATE],
				  false, false);
		if (lay->width != 0) {
			room = lay->width > used + 1 ? lay->width - used : 1;
		}
		rp_text_sanitize(row->message, lay->width ? room : 0, text, sizeof(text));
		rp_top_pad(buf, len, used, text, 0, false, true);
		rp_top_cut(buf, lay->width);
		return;
	}
	for (int c = 0; c < RP_TOP_COMMAND; c++)
		used = rp_top_pad(buf, len, used, cells[c], lay->columns[c],
				  rp_top_columns[c].right, false);
	rp_text_sanitize(row->command, room, text, sizeof(text));
	rp_top_pad(buf, len, used, text, 0, false, true);
	rp_top_cut(buf, lay->width);
}

void rp_top_title_line(const struct rp_top *top, size_t width, char *buf, size_t len)
{
	time_t t = (time_t)(top->read_realtime_ns / RF_NS_PER_SEC);
	char when[16] = "--:--:--", unreadable[48] = "";
	struct tm tm;

	if (top->read_realtime_ns != 0 && localtime_r(&t, &tm) != NULL)
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	if (top->unreadable > 0)
		snprintf(unreadable, sizeof(unreadable), ", %zu unreadable", top->unreadable);
	/* What changes first, the prefix the user chose last: at 80 columns a
	 * long prefix is what is cut. */
	if (top->list_error != 0)
		snprintf(buf, len, "top  %s  cannot list " RP_SHM_DIR ": %s  %s.*", when,
			 strerror(-top->list_error), top->prefix);
	else
		snprintf(buf, len, "top  %s  %zu alive, %zu ended%s  sort: %s %s  %s.*", when,
			 top->alive, top->ended, unreadable, rp_top_columns[top->sort].name,
			 top->descending ? "desc" : "asc", top->prefix);
	rp_top_cut(buf, width);
}

void rp_top_print(FILE *out, const struct rp_top *top, size_t width)
{
	struct rp_top_layout lay;
	char *line = malloc(RP_TOP_LINE_MAX);

	if (line == NULL)
		return;
	rp_top_layout(top, width, &lay);
	rp_top_title_line(top, width, line, RP_TOP_LINE_MAX);
	fprintf(out, "%s\n", line);
	rp_top_heading_line(top, &lay, line, RP_TOP_LINE_MAX);
	fprintf(out, "%s\n", line);
	for (size_t i = 0; i < top->count; i++) {
		rp_top_row_line(&top->rows[i], &lay, line, RP_TOP_LINE_MAX);
		fprintf(out, "%s\n", line);
	}
	free(line);
}
