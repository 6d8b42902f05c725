/*
 * ringfence.c - the reporter's entry point: the list of commands, and the
 * dispatch to one of them (or to the help, `--version`, `help COMMAND`).
 */
#include <stdio.h>
#include <string.h>

#include "rf_build_config.h"
#include "rp_cli.h"
#include "rp_help.h"

static const struct rp_command *const rp_commands[] = {
	&rp_cmd_ls,    &rp_cmd_stat, &rp_cmd_run,        &rp_cmd_gc,    &rp_cmd_threads,
	&rp_cmd_check, &rp_cmd_top,  &rp_cmd_goroutines, &rp_cmd_serve,
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

/* `ringfence help [COMMAND]`. */
static int rp_help_run(int argc, char **argv)
{
	const struct rp_command *cmd;
	char names[128];

	if (argc < 2) {
		rp_help_program(stdout, rp_commands, RP_COMMAND_COUNT);
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
	rp_help_command(stdout, cmd);
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
		rp_help_program(stdout, rp_commands, RP_COMMAND_COUNT);
		return RP_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("ringfence %s (reads segment layout version %d)\n", RF_VERSION,
		       RF_SHM_VERSION);
		return RP_EXIT_OK;
	}
	if (strcmp(argv[1], "help") == 0)
		return rp_help_run(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		return rp_cli_usage(
			NULL,
			"unknown option '%s'; before a command only --help and --version "
			"are accepted; commands: %s",
			argv[1], names);
	cmd = rp_command_find(argv[1]);
	if (cmd == NULL)
		return rp_cli_usage(NULL, "unknown command '%s'; commands: %s", argv[1], names);
	return cmd->run(cmd, argc - 1, argv + 1);
}
