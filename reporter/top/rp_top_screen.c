/*
 * rp_top_screen.c - the full-screen view of `ringfence top`.
 *
 * Plain ncurses: no colour, no mouse, nothing a terminal reached over ssh
 * may lack; lines never wider than the screen, so nothing wraps. The view
 * is redrawn from the rows (rp_top.h) after every read, key and resize.
 */
#define _GNU_SOURCE
#include "rp_top_screen.h"

#include <curses.h>
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rf_time.h"

/* The signals that end the view; the terminal is restored first. */
static const int rp_top_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

#define RP_TOP_SIGNALS (sizeof(rp_top_signals) / sizeof(rp_top_signals[0]))

static volatile sig_atomic_t rp_top_signalled;

static void rp_top_on_signal(int sig)
{
	rp_top_signalled = sig;
}

#define RP_TOP_HELP "q quit  space pause  < > sort  r reverse  arrows scroll"
#define RP_TOP_HELP_PAUSED "PAUSED  space resumes  q quit  < > sort  r reverse  arrows scroll"

struct rp_top_view {
	struct rp_top *top;
	bool paused;
	size_t first; /* the row at the top of the list */
	char *line;
};

/* Rows of the list: the screen less the title, the headings and the help. */
static size_t rp_top_list_rows(void)
{
	return LINES > 3 ? (size_t)(LINES - 3) : 0;
}

/* Line y, at most width columns (the lines are cut to it already). */
static void rp_top_put(int y, const char *text, attr_t attr)
{
	attron(attr);
	mvaddstr(y, 0, text);
	attroff(attr);
}

static void rp_top_draw(struct rp_top_view *v)
{
	struct rp_top *top = v->top;
	struct rp_top_layout lay;
	size_t rows = rp_top_list_rows(), width;

	if (COLS <= 1 || LINES <= 0)
		return;
	/* One column short of the edge: a character in the last column of the
	 * last line would scroll some terminals. */
	width = (size_t)COLS - 1;
	if (top->count <= rows)
		v->first = 0;
	else if (v->first > top->count - rows)
		v->first = top->count - rows;
	erase();
	rp_top_title_line(top, width, v->line, RP_TOP_LINE_MAX);
	rp_top_put(0, v->line, A_BOLD);
	rp_top_layout(top, width, &lay);
	if (LINES > 1) {
		rp_top_heading_line(top, &lay, v->line, RP_TOP_LINE_MAX);
		rp_top_put(1, v->line, A_REVERSE);
	}
	for (size_t i = 0; i < rows && v->first + i < top->count; i++) {
		rp_top_row_line(&top->rows[v->first + i], &lay, v->line, RP_TOP_LINE_MAX);
		rp_top_put(2 + (int)i, v->line, A_NORMAL);
	}
	if (top->count == 0 && rows > 0) {
		snprintf(v->line, RP_TOP_LINE_MAX, "(no segments named " RP_SHM_DIR "/%s.<pid>)",
			 top->prefix);
		v->line[width < RP_TOP_LINE_MAX ? width : RP_TOP_LINE_MAX - 1] = '\0';
		rp_top_put(2, v->line, A_NORMAL);
	}
	if (LINES > 2) {
		/* Which rows are shown first: the help may be cut at the edge. */
		int n = 0;

		if (top->count > rows)
			n = snprintf(v->line, RP_TOP_LINE_MAX, "rows %zu-%zu of %zu  ",
				     v->first + 1, v->first + rows, top->count);
		snprintf(v->line + n, RP_TOP_LINE_MAX - (size_t)n, "%s",
			 v->paused ? RP_TOP_HELP_PAUSED : RP_TOP_HELP);
		v->line[width < RP_TOP_LINE_MAX ? width : RP_TOP_LINE_MAX - 1] = '\0';
		rp_top_put(LINES - 1, v->line, A_NORMAL);
	}
	refresh();
}

/* A key: false to quit. */
static bool rp_top_key(struct rp_top_view *v, int ch)
{
	struct rp_top *top = v->top;
	size_t rows = rp_top_list_rows();
	int col;

	switch (ch) {
	case 'q':
	case 'Q':
		return false;
	case ' ':
	case 'p':
		v->paused = !v->paused;
		return true;
	case '<':
	case '>':
		col = ((int)top->sort + (ch == '<' ? RP_TOP__COLUMNS - 1 : 1)) % RP_TOP__COLUMNS;
		rp_top_sort(top, (enum rp_top_column)col, rp_top_columns[col].descending);
		return true;
	case 'r':
		rp_top_sort(top, top->sort, !top->descending);
		return true;
	case KEY_UP:
	case 'k':
		v->first -= v->first > 0;
		return true;
	case KEY_DOWN:
	case 'j':
		v->first++;
		return true;
	case KEY_PPAGE:
		v->first = v->first > rows ? v->first - rows : 0;
		return true;
	case KEY_NPAGE:
		v->first += rows;
		return true;
	case KEY_HOME:
		v->first = 0;
		return true;
	case KEY_END:
		v->first = top->count;
		return true;
	}
	col = ch > 0 && ch < 128 ? rp_top_column_by_key(ch) : -1;
	if (col >= 0)
		rp_top_sort(top, (enum rp_top_column)col,
			    top->sort == (enum rp_top_column)col ? !top->descending
								 : rp_top_columns[col].descending);
	return true;
}

int rp_top_screen_run(struct rp_top *top, int interval_ms, char *err, size_t err_len)
{
	struct sigaction sa = {.sa_handler = rp_top_on_signal};
	struct rp_top_view v = {.top = top};
	int64_t next;
	SCREEN *screen;
	int sig;

	v.line = malloc(RP_TOP_LINE_MAX);
	if (v.line == NULL) {
		snprintf(err, err_len, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	/* Ours before ncurses starts: it then leaves them alone. No SA_RESTART,
	 * so that a signal also ends the wait for a key. */
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < RP_TOP_SIGNALS; i++)
		sigaction(rp_top_signals[i], &sa, NULL);
	/* Multibyte text (sanitised UTF-8 of the segments) in the user's locale. */
	setlocale(LC_ALL, "");
	screen = newterm(NULL, stdout, stdin);
	if (screen == NULL) {
		const char *term = getenv("TERM");
		snprintf(err, err_len,
			 "cannot drive the terminal (TERM=%s%s%s): use a terminal that terminfo "
			 "knows, or --once for one frame without the screen",
			 term ? "'" : "", term ? term : "unset", term ? "'" : "");
		free(v.line);
		return -EINVAL;
	}
	cbreak(); /* keys at once; Ctrl-C still sends SIGINT */
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	curs_set(0);
	rp_top_refresh(top);
	rp_top_draw(&v);
	next = rf_clock_ns(CLOCK_MONOTONIC) + (int64_t)interval_ms * 1000000;
	while (!rp_top_signalled) {
		int64_t now = rf_clock_ns(CLOCK_MONOTONIC);
		int wait_ms = (int)((next - now) / 1000000);
		int ch;

		/* Short waits: a signal that came just before the wait is seen soon. */
		timeout(wait_ms < 0 ? 0 : wait_ms > 200 ? 200 : wait_ms);
		ch = getch();
		if (rp_top_signalled)
			break;
		if (ch != ERR) {
			if (!rp_top_key(&v, ch))
				break;
			rp_top_draw(&v); /* KEY_RESIZE too: the new LINES and COLS */
			continue;
		}
		now = rf_clock_ns(CLOCK_MONOTONIC);
		if (now < next)
			continue;
		next = now + (int64_t)interval_ms * 1000000;
		if (!v.paused) {
			rp_top_refresh(top);
			rp_top_draw(&v);
		}
	}
	endwin();
	delscreen(screen);
	free(v.line);
	sig = rp_top_signalled;
	for (size_t i = 0; i < RP_TOP_SIGNALS; i++)
		signal(rp_top_signals[i], SIG_DFL);
	if (sig != 0) {
		/* End as the signal would have ended us, the terminal given back. */
		fflush(NULL);
		raise(sig);
	}
	return 0;
}
