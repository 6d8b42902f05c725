/*
 * ringfence.c - the reporter's entry point: dispatch to a subcommand, and
 * the help every subcommand shares (exit statuses come from RP_READ_ERRORS,
 * options from each command's table, so the help cannot drift).
 */
#include <stdio.h>
#include <string.h>

#include "rf_build_config.h"
#include "rp_cli.h"
#include "rp_list.h"
#include "rp_snapshot.h"

static const struct rp_command *const rp_commands[] = {
	&rp_cmd_ls,
	&rp_cmd_stat,
	&rp_cmd_run,
	&rp_cmd_gc,
	&rp_cmd_threads,
	&rp_cmd_check,
};

#define RP_COMMAND_COUNT (sizeof(rp_commands) / sizeof(rp_commands[0]))

static const struct rp_command *rp_command_find(const char *name)
{
	for (size_t i = 0; i < RP_COMMAND_COUNT; i++)
		if (strcmp(rp_commands[i]->name, name) == 0)
			return rp_commands[i];
	return NULL;
}

static void rp_command_names(char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < RP_COMMAND_COUNT && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
					 rp_commands[i]->name);
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
	fprintf(out, "  %-4d check: a thread-leak threshold was crossed\n", RP_EXIT_CHECK);
	fprintf(out, "  %-4d usage: unknown command or option, bad value, no shim found (run)\n",
		RP_EXIT_USAGE);
#define RP_HELP_STATUS(name, status, corrupt, kind, summary) \
	fprintf(out, "  %-4d %s: %s\n", status, kind, summary);
	RP_READ_ERRORS(RP_HELP_STATUS)
#undef RP_HELP_STATUS
	fprintf(out, "  %-4d run: CMD was found but could not be executed\n", RP_EXIT_EXEC_FAILED);
	fprintf(out, "  %-4d run: CMD was not found\n", RP_EXIT_EXEC_NOT_FOUND);
	fprintf(out, "Statuses 3 to 10 describe why a segment could not be read; they decide\n"
		     "the exit status of 'stat PID...' and are shown (not fatal) by ls and gc.\n");
}

static void rp_help_program(FILE *out)
{
	fprintf(out,
		"Usage: ringfence COMMAND [OPTIONS] [ARGS]\n"
		"       ringfence help [COMMAND]\n"
		"       ringfence --help | --version\n"
		"\n"
		"Reports what librdkafka producers running under libringfence.so are doing.\n"
		"The shim publishes each process's figures in a shared-memory segment\n"
		RP_SHM_DIR "/<prefix>.<pid> (mode 0600), which stays after the process ends.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < RP_COMMAND_COUNT; i++)
		fprintf(out, "  %-7s %s\n", rp_commands[i]->name, rp_commands[i]->summary);
	fprintf(out, "\n'ringfence help COMMAND' or 'ringfence COMMAND --help' describes one.\n\n"
		     "Environment:\n" RP_HELP_PREFIX_ENV
		     "  RINGFENCE_SHIM              the shim 'run' preloads (see 'ringfence help\n"
		     "                              run')\n"
		     "\n");
	rp_help_exit_statuses(out);
}

void rp_cli_help(FILE *out, const struct rp_command *cmd)
{
	if (cmd == NULL) {
		rp_help_program(out);
		return;
	}
	fprintf(out, "Usage: ringfence %s %s\n\n", cmd->name, cmd->synopsis);
	rp_help_indented(out, cmd->description, 0);
	fprintf(out, "\nOptions:\n");
	for (const struct rp_opt *o = cmd->opts; o->name; o++) {
		char left[64], shortname[8] = "";

		if (o->key < 128)
			snprintf(shortname, sizeof(shortname), "-%c, ", o->key);
		snprintf(left, sizeof(left), "%s--%s%s%s", shortname, o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
		rp_cli_help_item(out, left, o->help);
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

static int rp_help_command(int argc, char **argv)
{
	const struct rp_command *cmd;
	char names[128];

	if (argc < 2) {
		rp_cli_help(stdout, NULL);
		return RP_EXIT_OK;
	}
	if (argc > 2)
		return rp_cli_usage(NULL, "help takes one command, got %d words", argc - 1);
	cmd = rp_command_find(argv[1]);
	if (cmd == NULL) {
		rp_command_names(names, sizeof(names));
		return rp_cli_usage(NULL, "no command '%s' to describe; commands: %s", argv[1],
				    names);
	}
	rp_cli_help(stdout, cmd);
	return RP_EXIT_OK;
}

int main(int argc, char **argv)
{
	const struct rp_command *cmd;
	char names[128];

	rp_command_names(names, sizeof(names));
	if (argc < 2)
		return rp_cli_usage(NULL, "no command given; commands: %s", names);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		rp_cli_help(stdout, NULL);
		return RP_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("ringfence %s (reads segment layout version %d)\n", RF_VERSION,
		       RF_SHM_VERSION);
		return RP_EXIT_OK;
	}
	if (strcmp(argv[1], "help") == 0)
		return rp_help_command(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		return rp_cli_usage(NULL,
				    "unknown option '%s'; before a command only --help and --version "
				    "are accepted; commands: %s",
				    argv[1], names);
	cmd = rp_command_find(argv[1]);
	if (cmd == NULL)
		return rp_cli_usage(NULL, "unknown command '%s'; commands: %s", argv[1], names);
	return cmd->run(cmd, argc - 1, argv + 1);
}
