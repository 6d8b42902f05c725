/*
 * rp_help.c - the help of the program and of each command, generated from
 * the command descriptors and RP_READ_ERRORS, so it cannot drift from what
 * the commands accept and return.
 */
#include "rp_help.h"

#include <stdbool.h>
#include <string.h>

#include "rp_list.h"
#include "rp_snapshot.h"

#define RP_HELP_WIDTH 79
#define RP_HELP_COLUMN 30

/*
 * text from column col (the cursor is already there), words wrapped at 79
 * columns, continuation lines indented to indent, newline at the end. A
 * '\n' in text starts a new (indented) line.
 */
static void rp_help_wrap(FILE *out, const char *text, int col, int indent)
{
	bool line_start = true;

	for (const char *p = text; *p;) {
		size_t w;

		if (*p == '\n') {
			fprintf(out, "\n%*s", indent, "");
			col = indent;
			line_start = true;
			p++;
			continue;
		}
		if (*p == ' ') {
			p++;
			continue;
		}
		w = strcspn(p, " \n");
		if (!line_start && col + 1 + (int)w > RP_HELP_WIDTH) {
			fprintf(out, "\n%*s", indent, "");
			col = indent;
			line_start = true;
		}
		if (!line_start) {
			fputc(' ', out);
			col++;
		}
		fwrite(p, 1, w, out);
		col += (int)w;
		p += w;
		line_start = false;
	}
	fputc('\n', out);
}

void rp_help_item(FILE *out, const char *name, const char *help)
{
	int n = fprintf(out, "  %s", name);

	if (n + 1 > RP_HELP_COLUMN) {
		fprintf(out, "\n%*s", RP_HELP_COLUMN, "");
	} else {
		fprintf(out, "%*s", RP_HELP_COLUMN - n, "");
	}
	rp_help_wrap(out, help, RP_HELP_COLUMN, RP_HELP_COLUMN);
}

/* Prints text with every line indented, continuation lines of an option too. */
static void rp_help_indented(FILE *out, const char *text, int indent)
{
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		fprintf(out, "%.*s\n", (int)n, p);
		p += n;
		if (*p == '\n' && *++p)
			fprintf(out, "%*s", indent, "");
	}
}

static void rp_help_exit_statuses(FILE *out)
{
	fprintf(out, "Exit status:\n");
	fprintf(out, "  %-4d success\n", RP_EXIT_OK);
	fprintf(out, "  %-4d check: a thread- or goroutine-leak threshold was crossed\n",
		RP_EXIT_CHECK);
	fprintf(out, "  %-4d usage: unknown command or option, bad value, no shim found (run)\n",
		RP_EXIT_USAGE);
#define RP_HELP_STATUS(name, status, corrupt, kind, summary)                                       \
	fprintf(out, "  %-4d %s: %s\n", status, kind, summary);
	RP_READ_ERRORS(RP_HELP_STATUS)
#undef RP_HELP_STATUS
	fprintf(out, "  %-4d run: CMD was found but could not be executed\n", RP_EXIT_EXEC_FAILED);
	fprintf(out, "  %-4d run: CMD was not found\n", RP_EXIT_EXEC_NOT_FOUND);
	fprintf(out, "Statuses 3 to 10 describe why a segment could not be read; they decide\n"
		     "the exit status of 'stat PID...' and are shown (not fatal) by ls and gc.\n"
		     "goroutines and check give them the same meanings for a Go program they\n"
		     "cannot read ('ringfence help goroutines').\n");
}

void rp_help_program(FILE *out, const struct rp_command *const *commands, size_t count)
{
	fprintf(out,
		"Usage: ringfence COMMAND [OPTIONS] [ARGS]\n"
		"       ringfence help [COMMAND]\n"
		"       ringfence --help | --version\n"
		"\n"
		"Reports what librdkafka producers running under libringfence.so are doing.\n"
		"The shim publishes each process's figures in a shared-memory segment\n" RP_SHM_DIR
		"/<prefix>.<pid> (mode 0600), which stays after the process ends.\n"
		"'goroutines' reads a Go program's goroutines from outside, shim or not.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < count; i++)
		fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(out, "\n'ringfence help COMMAND' or 'ringfence COMMAND --help' describes one.\n\n"
		     "Environment:\n" RP_HELP_PREFIX_ENV
		     "  RINGFENCE_SHIM              the shim 'run' preloads (see 'ringfence help\n"
		     "                              run')\n"
		     "\n");
	rp_help_exit_statuses(out);
}

void rp_help_command(FILE *out, const struct rp_command *cmd)
{
	fprintf(out, "Usage: ringfence %s %s\n\n", cmd->name, cmd->synopsis);
	rp_help_indented(out, cmd->description, 0);
	fprintf(out, "\nOptions:\n");
	for (const struct rp_opt *o = cmd->opts; o->name; o++) {
		char left[64], shortname[8] = "";

		if (o->key < 128)
			snprintf(shortname, sizeof(shortname), "-%c, ", o->key);
		snprintf(left, sizeof(left), "%s--%s%s%s", shortname, o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
		rp_help_item(out, left, o->help);
	}
	if (cmd->notes) {
		fputc('\n', out);
		rp_help_indented(out, cmd->notes, 0);
	}
	fprintf(out, "\nEnvironment:\n%s", cmd->env);
	if (cmd->env_more)
		cmd->env_more(out);
	fputc('\n', out);
	rp_help_exit_statuses(out);
}
