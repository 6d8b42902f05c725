/*
 * rp_man.c - rp-man: the man pages, generated at build time from the tables
 * the program itself runs on, so that they cannot drift from it.
 *
 *   rp-man TEMPLATE [NAME=VALUE...] > PAGE
 *
 * TEMPLATE is a page in man(7) macros written by hand (ringfence.1.in,
 * libringfence.7.in); a line that is only one of these is replaced by what
 * the tables say:
 *   @SYNOPSIS@     a line per command: `ringfence NAME` and its synopsis
 *   @COMMANDS@     each command: synopsis, description, every option of its
 *                  option table with its help, notes, environment
 *   @ENVIRONMENT@  the program's environment, as `ringfence --help` gives it
 *   @EXIT_STATUS@  the exit statuses, as `ringfence --help` gives them
 *   @SHIM_ENVIRONMENT@  every variable of RF_CONFIG: what it does, the forms
 *                  it accepts, its default and bounds
 * and within any line @VERSION@ becomes the version and @NAME@ the VALUE
 * given for it (the installed paths: SHIM, the shim; EXAMPLES, where the
 * examples are).
 *
 * The commands are ringfence.c's own list: that file is compiled into this
 * program with its main renamed, so a command added to it is documented
 * without another edit. Help text is plain text laid out for a terminal
 * (rp_help.h); it becomes man(7) here: paragraphs are filled, a blank line
 * starts a new one, and indented "NAME  text" rows (continued below their
 * text) become tagged paragraphs. Every character that means something to
 * roff is escaped; the help must be ASCII, or the page is not written.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rf_config.h"

int rp_ringfence_main(int argc, char **argv);
#define main rp_ringfence_main
#include "ringfence.c"
#undef main

static int rp_man_failed;

/* Text for a roff text line or a macro argument: nothing in it is a request. */
static void rp_man_escape(FILE *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '\\':
			fputs("\\e", out);
			break;
		case '-':
			fputs("\\-", out);
			break;
		case '\'':
			fputs("\\(aq", out);
			break;
		case '`':
			fputs("\\(ga", out);
			break;
		case '"':
			fputs("\\(dq", out);
			break;
		case '/':
			/* Long paths may break after a slash (and nowhere else:
			 * the page is not hyphenated). */
			fputs("/\\:", out);
			break;
		case '.':
			/* At the start of a line it would be a request. */
			fputs(i == 0 ? "\\&." : ".", out);
			break;
		default:
			if (c < 0x20 || c >= 0x7f) {
				fprintf(stderr,
					"rp-man: byte 0x%02x in help text \"%.*s\": the help must be ASCII\n",
					c, (int)n, s);
				rp_man_failed = 1;
				break;
			}
			fputc(c, out);
		}
	}
}

static void rp_man_line(FILE *out, const char *s, size_t n)
{
	/* Leading spaces would start a new line in the filled text. */
	while (n > 0 && *s == ' ') {
		s++;
		n--;
	}
	while (n > 0 && s[n - 1] == ' ')
		n--;
	if (n == 0)
		return;
	rp_man_escape(out, s, n);
	fputc('\n', out);
}

/*
 * Where the text of an indented "  NAME   text" row starts; 0 when it is not
 * one. A name too long for the column stands alone, its text on the next
 * line at the column (rp_help_item): next is that line.
 */
static size_t rp_man_row_column(const char *line, size_t n, const char *next)
{
	size_t i = 2;

	if (n < 3 || line[0] != ' ' || line[1] != ' ' || line[2] == ' ')
		return 0;
	while (i < n && line[i] != ' ')
		i++;
	if (i == n) {
		size_t indent = strspn(next, " ");
		return indent > n && next[indent] != '\n' && next[indent] != '\0' ? indent : 0;
	}
	if (i + 2 > n || line[i + 1] != ' ')
		return 0;
	while (i < n && line[i] == ' ')
		i++;
	return i < n ? i : 0;
}

/* The tag of a row: its name, in bold. */
static void rp_man_tag(FILE *out, const char *row)
{
	fputs(".TP\n\\fB", out);
	rp_man_escape(out, row + 2, strcspn(row + 2, " \n"));
	fputs("\\fR\n", out);
}

/*
 * Help text into man(7): filled paragraphs, and tagged paragraphs for rows
 * of an indented table (the column of the first row's text holds for the
 * rows under it; a row whose name runs up to that column is still one).
 */
static void rp_man_text(FILE *out, const char *text)
{
	size_t column = 0; /* in a table: where its text starts */
	bool para = false; /* a paragraph of text lines is open */

	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n"), c;
		const char *next = p[n] ? p + n + 1 : p + n;

		if (n == 0) {
			column = 0;
			para = false;
		} else if (p[0] == ' ' && column > 0 && p[2] == ' ' && strspn(p, " ") >= column) {
			rp_man_line(out, p + column, n - column); /* a row's text, continued */
		} else if (p[0] == ' ' && column > 0 && n > column && p[column - 1] == ' ') {
			rp_man_tag(out, p);
			rp_man_line(out, p + column, n - column);
		} else if ((c = rp_man_row_column(p, n, next)) > 0) {
			column = c;
			para = false;
			rp_man_tag(out, p);
			if (n > column)
				rp_man_line(out, p + column, n - column);
		} else {
			if (!para || column > 0)
				fputs(".PP\n", out);
			column = 0;
			para = true;
			rp_man_line(out, p, n);
		}
		p = next;
	}
}

/* What a printing function writes, into *text (the caller frees it). */
static void rp_man_capture(char **text, void (*print)(FILE *out, const void *arg), const void *arg)
{
	size_t len = 0;
	FILE *mem;

	*text = NULL;
	mem = open_memstream(text, &len);
	if (mem == NULL) {
		perror("rp-man: open_memstream");
		exit(1);
	}
	print(mem, arg);
	fclose(mem);
}

static void rp_man_print_program(FILE *out, const void *arg)
{
	(void)arg;
	rp_help_program(out, rp_commands, RP_COMMAND_COUNT);
}

static void rp_man_print_env_more(FILE *out, const void *arg)
{
	((const struct rp_command *)arg)->env_more(out);
}

/* The block of `ringfence --help` under "heading:" (a line of its own), up to a blank line. */
static void rp_man_help_section(FILE *out, const char *heading)
{
	char *help, *start, *end;
	char want[64];

	rp_man_capture(&help, rp_man_print_program, NULL);
	snprintf(want, sizeof(want), "\n%s:\n", heading);
	start = strstr(help, want);
	if (start == NULL) {
		fprintf(stderr, "rp-man: no \"%s:\" in ringfence --help\n", heading);
		exit(1);
	}
	start += strlen(want);
	end = strstr(start, "\n\n");
	if (end != NULL)
		end[1] = '\0';
	rp_man_text(out, start);
	free(help);
}

static void rp_man_synopsis(FILE *out)
{
	for (size_t i = 0; i < RP_COMMAND_COUNT; i++) {
		fprintf(out, "%s\\fBringfence %s\\fR ", i ? ".br\n" : "", rp_commands[i]->name);
		rp_man_escape(out, rp_commands[i]->synopsis, strlen(rp_commands[i]->synopsis));
		fputc('\n', out);
	}
	fputs(".br\n\\fBringfence help\\fR [\\fICOMMAND\\fR]\n"
	      ".br\n\\fBringfence\\fR \\fICOMMAND\\fR \\fB\\-\\-help\\fR\n"
	      ".br\n\\fBringfence \\-\\-help\\fR | \\fB\\-\\-version\\fR\n",
	      out);
}

static void rp_man_option(FILE *out, const struct rp_opt *o)
{
	fputs(".TP\n", out);
	if (o->key < 128)
		fprintf(out, "\\fB\\-%c\\fR, ", o->key);
	fputs("\\fB\\-\\-", out);
	rp_man_escape(out, o->name, strlen(o->name));
	fputs("\\fR", out);
	if (o->arg) {
		fputs(" \\fI", out);
		rp_man_escape(out, o->arg, strlen(o->arg));
		fputs("\\fR", out);
	}
	fputc('\n', out);
	rp_man_line(out, o->help, strlen(o->help));
}

static void rp_man_command(FILE *out, const struct rp_command *cmd)
{
	fprintf(out, ".SS \"ringfence %s\"\n", cmd->name);
	fprintf(out, "\\fBringfence %s\\fR ", cmd->name);
	rp_man_escape(out, cmd->synopsis, strlen(cmd->synopsis));
	fputc('\n', out);
	rp_man_text(out, cmd->description);
	fputs(".PP\nOptions:\n", out);
	for (const struct rp_opt *o = cmd->opts; o->name; o++)
		rp_man_option(out, o);
	if (cmd->notes)
		rp_man_text(out, cmd->notes);
	fputs(".PP\nEnvironment:\n", out);
	rp_man_text(out, cmd->env);
	if (cmd->env_more) {
		char *more;

		rp_man_capture(&more, rp_man_print_env_more, cmd);
		rp_man_text(out, more);
		free(more);
	}
}

/* RF_CONFIG: each variable with what it accepts, its default and bounds. */
static void rp_man_shim_environment(FILE *out)
{
	char lo[32], hi[32], line[1024];

#define RP_MAN_BOUNDS_SIZE(min, max)                                                               \
	rf_size_format(min, lo, sizeof(lo));                                                       \
	rf_size_format(max, hi, sizeof(hi));                                                       \
	snprintf(line, sizeof(line), "From %s to %s: " RF_SIZE_FORMS ".", lo, hi)
#define RP_MAN_BOUNDS_DURATION(min, max)                                                           \
	rf_duration_format(min, lo, sizeof(lo));                                                   \
	rf_duration_format(max, hi, sizeof(hi));                                                   \
	snprintf(line, sizeof(line), "From %s to %s: " RF_DURATION_FORMS ".", lo, hi)
#define RP_MAN_BOUNDS_COUNT(min, max)                                                              \
	snprintf(line, sizeof(line), "From %llu to %llu: " RF_COUNT_FORMS ".",                     \
		 (unsigned long long)(min), (unsigned long long)(max))
#define RP_MAN_BOUNDS_POLICY(min, max)                                                             \
	snprintf(line, sizeof(line), "%s.", "One of " RF_POLICY_FORMS)
#define RP_MAN_BOUNDS_NAME(min, max) snprintf(line, sizeof(line), "%s.", RF_NAME_FORMS)
#define RP_MAN_BOUNDS_BOOL(min, max) snprintf(line, sizeof(line), "%s.", RF_BOOL_FORMS)
#define RP_MAN_BOUNDS_LIST(min, max) snprintf(line, sizeof(line), "%s.", RF_LIST_FORMS)
#define RP_MAN_VARIABLE(name, type, env, def, min, max, help)                                      \
	fputs(".TP\n\\fB", out);                                                                   \
	rp_man_escape(out, env, strlen(env));                                                      \
	fputs("\\fR\n", out);                                                                      \
	rp_man_line(out, help ".", strlen(help) + 1);                                              \
	RP_MAN_BOUNDS_##type(min, max);                                                            \
	rp_man_line(out, line, strlen(line));                                                      \
	snprintf(line, sizeof(line), "Default: %s.", def[0] ? def : "none");                       \
	rp_man_line(out, line, strlen(line));
	RF_CONFIG(RP_MAN_VARIABLE)
#undef RP_MAN_VARIABLE
}

/* The values of @NAME@ in a template: NAME=VALUE arguments. */
static char **rp_man_values;
static int rp_man_nvalues;

/*
 * A template line with @VERSION@ and every @NAME@ of the arguments replaced,
 * the rest as written. Another @NAME@ is a mistake in the template.
 */
static void rp_man_substitute(FILE *out, const char *line)
{
	for (const char *p = line; *p;) {
		size_t n = p[0] == '@' ? strspn(p + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") : 0;
		bool done = false;

		if (n == 0 || p[n + 1] != '@') {
			fputc(*p++, out);
			continue;
		}
		if (n == 7 && strncmp(p + 1, "VERSION", 7) == 0) {
			fputs(RF_VERSION, out);
			done = true;
		}
		for (int i = 0; i < rp_man_nvalues && !done; i++) {
			const char *eq = strchr(rp_man_values[i], '=');
			if (eq != NULL && (size_t)(eq - rp_man_values[i]) == n &&
			    strncmp(rp_man_values[i], p + 1, n) == 0) {
				rp_man_escape(out, eq + 1, strlen(eq + 1));
				done = true;
			}
		}
		if (!done) {
			fprintf(stderr, "rp-man: no value for %.*s in the template\n", (int)n + 2,
				p);
			rp_man_failed = 1;
		}
		p += n + 2;
	}
}

int main(int argc, char **argv)
{
	char *line = NULL;
	size_t cap = 0;
	FILE *in;

	if (argc < 2) {
		fprintf(stderr, "usage: rp-man TEMPLATE [NAME=VALUE...] > PAGE\n");
		return 2;
	}
	rp_man_values = argv + 2;
	rp_man_nvalues = argc - 2;
	in = fopen(argv[1], "r");
	if (in == NULL) {
		fprintf(stderr, "rp-man: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	printf(".\\\" Generated by rp-man (docs/man/rp_man.c) from %s and the program's\n"
	       ".\\\" own tables: edit those.\n",
	       strrchr(argv[1], '/') ? strrchr(argv[1], '/') + 1 : argv[1]);
	while (getline(&line, &cap, in) > 0) {
		if (strcmp(line, "@SYNOPSIS@\n") == 0) {
			rp_man_synopsis(stdout);
		} else if (strcmp(line, "@COMMANDS@\n") == 0) {
			for (size_t i = 0; i < RP_COMMAND_COUNT; i++)
				rp_man_command(stdout, rp_commands[i]);
		} else if (strcmp(line, "@ENVIRONMENT@\n") == 0) {
			rp_man_help_section(stdout, "Environment");
		} else if (strcmp(line, "@EXIT_STATUS@\n") == 0) {
			rp_man_help_section(stdout, "Exit status");
		} else if (strcmp(line, "@SHIM_ENVIRONMENT@\n") == 0) {
			rp_man_shim_environment(stdout);
		} else if (strncmp(line, ".\\\"", 3) == 0) {
			continue; /* the template's comments are about the template */
		} else {
			rp_man_substitute(stdout, line);
		}
	}
	free(line);
	fclose(in);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "rp-man: cannot write the page\n");
		return 1;
	}
	return rp_man_failed;
}
