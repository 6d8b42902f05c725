/*
 * rp_cli.c - what the subcommands share: option parsing and messages.
 */
#include "rp_cli.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static void rp_cli_vprint(const struct rp_command *cmd, const char *fmt, va_list ap)
{
	fprintf(stderr, "ringfence%s%s: ", cmd ? " " : "", cmd ? cmd->name : "");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void rp_cli_error(const struct rp_command *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rp_cli_vprint(cmd, fmt, ap);
	va_end(ap);
}

int rp_cli_usage(const struct rp_command *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rp_cli_vprint(cmd, fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, "Try 'ringfence %s --help'.\n", cmd->name);
	else
		fprintf(stderr, "Try 'ringfence --help'.\n");
	return RP_EXIT_USAGE;
}

static const struct rp_opt *rp_opt_by_key(const struct rp_command *cmd, int key)
{
	for (const struct rp_opt *o = cmd->opts; o->name; o++)
		if (o->key == key)
			return o;
	return NULL;
}

/* "--prefix NAME, --json, -h/--help": generated from the table, as the help is. */
static void rp_opts_accepted(const struct rp_command *cmd, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (const struct rp_opt *o = cmd->opts; o->name && used < len; o++)
		used += (size_t)snprintf(buf + used, len - used, "%s--%s%s%s",
					 o == cmd->opts ? "" : ", ", o->name, o->arg ? " " : "",
					 o->arg ? o->arg : "");
}

static void rp_getopt_build(const struct rp_command *cmd, struct rp_getopt *g, int in_order)
{
	size_t n = 0, s = 0;

	memset(g, 0, sizeof(*g));
	if (in_order)
		g->shortopts[s++] = '+';
	g->shortopts[s++] = ':'; /* report missing values as ':' */
	for (const struct rp_opt *o = cmd->opts; o->name && n < RP_OPTS_MAX; o++, n++) {
		g->longopts[n] = (struct option){o->name, o->arg ? required_argument : no_argument,
						 NULL, o->key};
		if (o->key < 128 && isalnum(o->key)) {
			g->shortopts[s++] = (char)o->key;
			if (o->arg)
				g->shortopts[s++] = ':';
		}
	}
	optind = 1;
	opterr = 0;
}

int rp_cli_getopt(const struct rp_command *cmd, struct rp_getopt *g, int argc, char **argv,
		  int in_order)
{
	const struct rp_opt *o;
	char accepted[512];
	int c;

	if (g->shortopts[0] == '\0')
		rp_getopt_build(cmd, g, in_order);
	c = getopt_long(argc, argv, g->shortopts, g->longopts, NULL);
	if (c != '?' && c != ':')
		return c;
	rp_opts_accepted(cmd, accepted, sizeof(accepted));
	o = optopt ? rp_opt_by_key(cmd, optopt) : NULL;
	if (c == ':' && o != NULL)
		rp_cli_usage(cmd, "option --%s needs a value: %s", o->name, o->arg);
	else if (o != NULL)
		rp_cli_usage(cmd, "option --%s takes no value (got '%s')", o->name,
			     argv[optind - 1]);
	else if (optopt != 0 && optopt < 128 && isprint(optopt))
		rp_cli_usage(cmd, "unknown option '-%c'; accepted: %s", optopt, accepted);
	else
		rp_cli_usage(cmd, "unknown option '%s'; accepted: %s", argv[optind - 1], accepted);
	return '?';
}

size_t rp_cli_width(void)
{
	struct winsize ws;
	const char *columns;
	char *end;
	long v;

	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	columns = getenv("COLUMNS");
	if (columns == NULL || *columns == '\0')
		return 0;
	v = strtol(columns, &end, 10);
	return *end == '\0' && v > 0 && v < 100000 ? (size_t)v : 0;
}
