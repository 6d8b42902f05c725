/*
 * rp_top.h - what `ringfence top` shows: a row per segment under a prefix,
 * read with the untrusted reader (rp_segment.h), with rates from successive
 * reads, sorted by a column and laid out as lines of text.
 *
 * Knows nothing of the terminal: the screen (rp_top_screen.h) and `top
 * --once` print the same lines, and the unit tests call it directly. Every
 * string of segment origin reaches a line through rp_text_sanitize.
 */
#ifndef RP_TOP_H
#define RP_TOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "rf_shm.h"
#include "rp_snapshot.h"

/*
 * The columns, declared once. X(id, name, key, heading, align, order):
 *   name     the sort key's name (--sort NAME), and the column's in the help
 *   key      the key that sorts by it on the screen
 *   heading  the column's heading
 *   align    LEFT or RIGHT
 *   order    the order a sort by it starts in: ASC, or DESC (largest first)
 * The help text of each column is the command's (rp_cmd_top.c).
 */
#define RP_TOP_COLUMNS(X)                                                                          \
	X(PID, "pid", 'P', "PID", RIGHT, ASC)                                                      \
	X(STATE, "state", 'S', "STATE", LEFT, ASC)                                                 \
	X(USED, "used", 'U', "USED", RIGHT, DESC)                                                  \
	X(PEAK, "peak", 'K', "PEAK", RIGHT, DESC)                                                  \
	X(BUDGET, "budget", 'B', "BUDGET", RIGHT, DESC)                                            \
	X(WAITS, "waits", 'W', "WAIT/s", RIGHT, DESC)                                              \
	X(REFUSALS, "refusals", 'R', "REF/s", RIGHT, DESC)                                         \
	X(LEAKED, "leaked", 'L', "LEAK", RIGHT, DESC)                                              \
	X(STUCK, "stuck", 'T', "STUCK", RIGHT, DESC)                                               \
	X(HEAP, "heap", 'H', "HEAP", RIGHT, DESC)                                                  \
	X(LIMIT, "limit", 'M', "LIMIT", RIGHT, DESC)                                               \
	X(COMMAND, "command", 'C', "COMMAND", LEFT, ASC)

enum rp_top_column {
#define RP_TOP_COLUMN_ENUM(id, name, key, heading, align, order) RP_TOP_##id,
	RP_TOP_COLUMNS(RP_TOP_COLUMN_ENUM)
#undef RP_TOP_COLUMN_ENUM
	RP_TOP__COLUMNS
};

struct rp_top_column_info {
	const char *name;
	int key;
	const char *heading;
	bool right;      /* right-aligned (numbers) */
	bool descending; /* a sort by it starts largest first */
};

/* Indexed by enum rp_top_column. */
extern const struct rp_top_column_info rp_top_columns[RP_TOP__COLUMNS];

/* The column whose name (--sort) or key (on the screen) this is; -1 if none. */
int rp_top_column_by_name(const char *name);
int rp_top_column_by_key(int key);

/* "pid, state, used, ...": the sort keys, for a message naming what is accepted. */
void rp_top_column_names(char *buf, size_t len);

/* One segment as top shows it. */
struct rp_top_row {
	pid_t pid;
	enum rp_read_error error;     /* RP_READ_OK, or why the segment could not be read */
	char message[RP_MESSAGE_MAX]; /* the reader's message when error (sanitised when shown) */
	enum rp_state state;
	char state_label[40]; /* "alive", "exited(0)", "killed(TERM)", "dead"; "*" when torn */
	uint64_t start_ticks; /* with pid, who the process is: a reused pid is another one */
	int64_t publish_ns;   /* publish_monotonic_ns of the figures read */
	/* Numeric columns; known[c] false shows "-" (an absent counter, a limit
	 * that is off, a rate not yet measured or of a process that ended). */
	double value[RP_TOP__COLUMNS];
	bool known[RP_TOP__COLUMNS];
	char command[RF_SHM_CMDLINE_MAX]; /* untrusted bytes: the command line, the program
					   * without its directory */
	/* What the next read measures rates against: the totals at publish_ns,
	 * and the rates measured up to it (kept while no newer publish comes). */
	uint64_t waits_total, refusals_total;
	bool totals_known, rates_known;
	double waits_rate, refusals_rate;
	bool threads_judged; /* leaked and stuck are those of publish_ns, state */
};

struct rp_top {
	char prefix[RF_CONFIG_NAME_MAX];
	struct rp_top_row *rows; /* count of them, in the order of the sort */
	size_t count;
	enum rp_top_column sort;
	bool descending;
	int64_t read_realtime_ns; /* when the rows were read */
	int list_error;           /* -errno when /dev/shm could not be listed; 0 */
	size_t alive, ended, unreadable;
};

/* An empty view of the segments under prefix (a valid prefix), sorted by pid. */
void rp_top_init(struct rp_top *top, const char *prefix);
void rp_top_release(struct rp_top *top);

/*
 * Read every segment under the prefix again, and sort. A process read before
 * (same pid and start time) gets its rates: the growth of its totals between
 * the publishes of the two reads over the time between them; with no newer
 * publish, the rates measured before stand. Leaked and stuck threads are
 * judged as `ringfence threads` judges them. 0, or -errno when /dev/shm could
 * not be listed (list_error; the rows then stay as they were) or -ENOMEM.
 */
int rp_top_refresh(struct rp_top *top);

/* Sort by column (in its first order when it changes, else reversed when asked). */
void rp_top_sort(struct rp_top *top, enum rp_top_column column, bool descending);

/* Column widths for lines of at most width columns (0: no limit). */
struct rp_top_layout {
	size_t width;                    /* of a whole line; 0: no limit */
	size_t columns[RP_TOP__COLUMNS]; /* COMMAND: what is left (0: no limit) */
};
void rp_top_layout(const struct rp_top *top, size_t width, struct rp_top_layout *lay);

/*
 * The lines of a frame, each cut to the layout's width, no newline: the title
 * (the segments' names, the time of the read, how many processes are alive
 * and ended, how many segments unreadable, the sort), the headings, and a
 * row. Rows may hold UTF-8 from the segment (sanitised, a column a
 * character), the rest is ASCII. len: RP_TOP_LINE_MAX is enough.
 */
#define RP_TOP_LINE_MAX (RF_SHM_CMDLINE_MAX * 4 + RP_MESSAGE_MAX * 4 + 512)
void rp_top_title_line(const struct rp_top *top, size_t width, char *buf, size_t len);
void rp_top_heading_line(const struct rp_top *top, const struct rp_top_layout *lay, char *buf,
			 size_t len);
void rp_top_row_line(const struct rp_top_row *row, const struct rp_top_layout *lay, char *buf,
		     size_t len);

/* A frame as `top --once` prints it: the title, the headings, every row. */
void rp_top_print(FILE *out, const struct rp_top *top, size_t width);

/* The cells, as the lines show them: "512", "1.5K", "64M"; "0.4", "12", "1.2k". */
void rp_top_size_format(double bytes, char *buf, size_t len);
void rp_top_rate_format(double per_second, char *buf, size_t len);

#endif /* RP_TOP_H */
