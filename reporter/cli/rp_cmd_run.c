/*
 * rp_cmd_run.c - `ringfence run`: start a command under the shim.
 *
 * Options become RINGFENCE_* variables, checked here by the shim's own parser
 * so a mistake stops the launch with the shim's message instead of leaving a
 * passive shim behind; then the shim goes in front of LD_PRELOAD and the
 * command replaces us.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rf_build_config.h"
#include "rf_config.h"
#include "rp_cli.h"
#include "rp_help.h"
#include "rp_list.h"
#include "rp_preload.h"

extern char **environ;

enum {
	RP_RUN_BUDGET = 256,
	RP_RUN_POLICY,
	RP_RUN_BLOCK_TIMEOUT,
	RP_RUN_PUBLISH_INTERVAL,
	RP_RUN_PREFIX,
	RP_RUN_SHIM,
};

static const struct rp_opt rp_run_opts[] = {
	{"budget", RP_RUN_BUDGET, "SIZE", "sets RINGFENCE_BUDGET: " RF_SIZE_FORMS},
	{"policy", RP_RUN_POLICY, "POLICY", "sets RINGFENCE_POLICY: " RF_POLICY_FORMS},
	{"block-timeout", RP_RUN_BLOCK_TIMEOUT, "DURATION",
	 "sets RINGFENCE_BLOCK_TIMEOUT: " RF_DURATION_FORMS},
	{"publish-interval", RP_RUN_PUBLISH_INTERVAL, "DURATION",
	 "sets RINGFENCE_PUBLISH_INTERVAL: " RF_DURATION_FORMS},
	{"prefix", RP_RUN_PREFIX, "NAME", "sets RINGFENCE_SHM_PREFIX: " RF_NAME_FORMS},
	{"shim", RP_RUN_SHIM, "PATH",
	 "the shim to preload (default: $RINGFENCE_SHIM, else the one beside this "
	 "program in a build tree, else the installed one)"},
	{"help", 'h', NULL, "show this help"},
	{NULL, 0, NULL, NULL},
};

/* Which variable each configuration option sets. */
static const struct {
	int key;
	const char *env;
} rp_run_vars[] = {
	{RP_RUN_BUDGET, "RINGFENCE_BUDGET"},
	{RP_RUN_POLICY, "RINGFENCE_POLICY"},
	{RP_RUN_BLOCK_TIMEOUT, "RINGFENCE_BLOCK_TIMEOUT"},
	{RP_RUN_PUBLISH_INTERVAL, "RINGFENCE_PUBLISH_INTERVAL"},
	{RP_RUN_PREFIX, RP_PREFIX_ENV},
};

#define RP_RUN_VAR_COUNT (sizeof(rp_run_vars) / sizeof(rp_run_vars[0]))

static const char *rp_run_opt_name(int key)
{
	for (const struct rp_opt *o = rp_run_opts; o->name; o++)
		if (o->key == key)
			return o->name;
	return "?";
}

static void rp_run_env_more(FILE *out)
{
	char line[256];

#define RP_RUN_ENV_HELP(name, type, env, def, min, max, help)                                      \
	snprintf(line, sizeof(line), "%s (default %s)", help, def);                                \
	rp_help_item(out, env, line);
	RF_CONFIG(RP_RUN_ENV_HELP)
#undef RP_RUN_ENV_HELP
}

/* Directory of this program, for finding the shim beside it; NULL if unknown. */
static const char *rp_run_exe_dir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (slash == NULL)
		return NULL;
	*slash = '\0';
	return buf;
}

/* The shim and every variable in place, or the exit status explaining why not. */
static int rp_run_prepare(const struct rp_command *cmd, const char **values, const char *shim_opt)
{
	char exe_dir[PATH_MAX], shim[PATH_MAX], err[1024];
	const char *existing;
	struct rf_shm_config config;
	char *preload;
	int rc;

	rc = rp_shim_find(shim_opt, getenv(RP_SHIM_ENV), rp_run_exe_dir(exe_dir, sizeof(exe_dir)),
			  shim, sizeof(shim), err, sizeof(err));
	if (rc < 0)
		return rp_cli_usage(cmd, "%s", err);
	for (size_t i = 0; i < RP_RUN_VAR_COUNT; i++)
		if (values[i] != NULL && setenv(rp_run_vars[i].env, values[i], 1) < 0)
			goto nomem;
	/* The reporter's own variable means nothing to the shim, which would warn. */
	unsetenv(RP_SHIM_ENV);
	/*
	 * Inherited variables count as much as options: the shim reads them all.
	 * Unknown RINGFENCE_ names are left to the shim, which warns about them.
	 */
	if (rf_config_load(&config, environ, err, sizeof(err), NULL, NULL) < 0)
		return rp_cli_usage(cmd,
				    "invalid environment: %s; the shim would run passive (fix or "
				    "unset it, or override it with an option)",
				    err);
	existing = getenv("LD_PRELOAD");
	rc = rp_preload_compose(shim, existing, &preload);
	if (rc == -EINVAL)
		return rp_cli_usage(
			cmd,
			"the shim path %s contains a space or a colon, which LD_PRELOAD "
			"cannot carry; use a path without them",
			shim);
	if (rc < 0)
		goto nomem;
	rc = setenv("LD_PRELOAD", preload, 1);
	free(preload);
	if (rc < 0)
		goto nomem;
	return RP_EXIT_OK;
nomem:
	rp_cli_error(cmd, "%s", strerror(ENOMEM));
	return RP_EXIT_EXEC_FAILED;
}

static int rp_run_run(const struct rp_command *cmd, int argc, char **argv)
{
	const char *values[RP_RUN_VAR_COUNT] = {NULL};
	const char *shim_opt = NULL;
	struct rf_shm_config scratch;
	struct rp_getopt g = {0};
	char err[RF_SHM_ERROR_MAX];
	int c, rc, saved;

	rf_config_defaults(&scratch);
	while ((c = rp_cli_getopt(cmd, &g, argc, argv, 1)) != -1) {
		bool matched = false;

		for (size_t i = 0; i < RP_RUN_VAR_COUNT; i++) {
			if (rp_run_vars[i].key != c)
				continue;
			matched = true;
			if (rf_config_set(&scratch, rp_run_vars[i].env, optarg, err, sizeof(err)) <
			    0)
				return rp_cli_usage(cmd, "--%s: %s", rp_run_opt_name(c), err);
			values[i] = optarg;
		}
		if (matched)
			continue;
		switch (c) {
		case RP_RUN_SHIM:
			shim_opt = optarg;
			break;
		case 'h':
			rp_help_command(stdout, cmd);
			return RP_EXIT_OK;
		default:
			return RP_EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return rp_cli_usage(cmd,
				    "no command given: ringfence run [OPTIONS] -- CMD [ARGS...]");
	rc = rp_run_prepare(cmd, values, shim_opt);
	if (rc != RP_EXIT_OK)
		return rc;
	fflush(NULL);
	execvp(argv[optind], argv + optind);
	saved = errno;
	rp_cli_error(cmd, "cannot run %s: %s", argv[optind], strerror(saved));
	return saved == ENOENT ? RP_EXIT_EXEC_NOT_FOUND : RP_EXIT_EXEC_FAILED;
}

const struct rp_command rp_cmd_run = {
	.name = "run",
	.synopsis = "[OPTIONS] [--] CMD [ARGS...]",
	.summary = "run a command under the shim",
	.description = "Runs CMD with libringfence.so preloaded: each option sets its RINGFENCE_*\n"
		       "variable, the shim's absolute path goes in front of LD_PRELOAD (entries\n"
		       "already there are kept; one naming the shim, however spelt, is dropped so\n"
		       "the shim loads once), then CMD replaces ringfence (exec), so its exit\n"
		       "status is CMD's.\n"
		       "\n"
		       "Values are checked before CMD starts, options and inherited RINGFENCE_*\n"
		       "variables alike, by the shim's own rules: a shim given a bad value would\n"
		       "run passive (count, enforce nothing).",
	.opts = rp_run_opts,
	.notes = "The shim is looked for as given by --shim, else $RINGFENCE_SHIM; else\n"
		 "<dir of ringfence>/../shim/libringfence.so (build tree), then\n"
		 "<dir of ringfence>/" RF_SHIM_RELPATH_INSTALLED " (installed).\n"
		 "\n"
		 "Exit status: CMD's own once it runs; 2 for a bad option or value or a\n"
		 "shim that cannot be found; 126 when CMD cannot be executed; 127 when\n"
		 "CMD is not found.",
	.env = RP_HELP_PREFIX_ENV
	"  RINGFENCE_SHIM              the shim to preload when --shim is not given;\n"
	"                              removed from CMD's environment\n"
	"  LD_PRELOAD                  kept, with the shim in front\n"
	"Read by the shim (set by the options above, or inherited):\n",
	.env_more = rp_run_env_more,
	.run = rp_run_run,
};
