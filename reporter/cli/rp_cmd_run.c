/*
 * rp_cmd_run.c - `ringfence run`: start a command under the shim.
 *
 * Options become RINGFENCE_* variables, checked here by the shim's own parser
 * so a mistake stops the launch with the shim's message instead of leaving a
 * passive shim behind; then the shim goes in front of LD_PRELOAD and the
 * command starts as our child. We stay its parent: we forward the usual
 * termination signals to it, and once it has ended we know how, which the
 * shim does not when the process ends without libc's exit (a signal, or the
 * exit_group system call every Go program ends with): that goes into its
 * segment (rp_segment_exit.h). Then we end as it did. With --exec the
 * command replaces us instead, as it did before.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rf_build_config.h"
#include "rf_config.h"
#include "rp_cli.h"
#include "rp_help.h"
#include "rp_list.h"
#include "rp_preload.h"
#include "rp_segment_exit.h"

extern char **environ;

enum {
	RP_RUN_BUDGET = 256,
	RP_RUN_POLICY,
	RP_RUN_BLOCK_TIMEOUT,
	RP_RUN_PUBLISH_INTERVAL,
	RP_RUN_PREFIX,
	RP_RUN_SHIM,
	RP_RUN_EXEC,
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
	{"exec", RP_RUN_EXEC, NULL,
	 "let CMD replace ringfence (same pid, as a supervisor that signals or waits for that "
	 "pid expects) instead of staying its parent; its end is then not recorded when the "
	 "shim cannot see it"},
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

/* The termination signals a parent passes on to the child it waits for. */
static const int rp_run_forwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};

#define RP_RUN_FORWARDED (sizeof(rp_run_forwarded) / sizeof(rp_run_forwarded[0]))

static volatile sig_atomic_t rp_run_child;

static void rp_run_forward(int sig, siginfo_t *si, void *ctx)
{
	int saved = errno;

	(void)ctx;
	/* A terminal's signal (Ctrl-C) reached the child's process group, the
	 * child included: passing it on would deliver it twice. */
	if (si->si_code != SI_KERNEL && rp_run_child > 0)
		kill((pid_t)rp_run_child, sig);
	errno = saved;
}

/* The child: the command, or why it could not run (126, 127, as a shell says). */
static void rp_run_child_exec(const struct rp_command *cmd, char **argv, const sigset_t *mask)
{
	int saved;

	sigprocmask(SIG_SETMASK, mask, NULL);
	execvp(argv[0], argv);
	saved = errno;
	rp_cli_error(cmd, "cannot run %s: %s", argv[0], strerror(saved));
	fflush(stderr);
	_exit(saved == ENOENT ? RP_EXIT_EXEC_NOT_FOUND : RP_EXIT_EXEC_FAILED);
}

/* End as the child did: its status, or its signal raised again on ourselves. */
static int rp_run_end_as(const struct rp_command *cmd, int status)
{
	struct rlimit no_core = {0, 0};
	sigset_t one;
	int sig;

	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (!WIFSIGNALED(status)) {
		rp_cli_error(cmd, "the command ended with wait status 0x%x", (unsigned)status);
		return RP_EXIT_EXEC_FAILED;
	}
	sig = WTERMSIG(status);
	/* The child dumped core already if it was to: not a second one of ours. */
	setrlimit(RLIMIT_CORE, &no_core);
	signal(sig, SIG_DFL);
	sigemptyset(&one);
	sigaddset(&one, sig);
	sigprocmask(SIG_UNBLOCK, &one, NULL);
	raise(sig);
	/* A signal whose default is to be ignored ends nobody: the shell's convention. */
	return 128 + sig;
}

/*
 * Start argv as our child, pass the termination signals on, wait for it,
 * record its end in its segment when the shim could not, and end as it did.
 */
static int rp_run_parent(const struct rp_command *cmd, char **argv)
{
	struct sigaction sa = {.sa_sigaction = rp_run_forward, .sa_flags = SA_SIGINFO | SA_RESTART};
	char prefix[RF_CONFIG_NAME_MAX], err[256];
	sigset_t forwarded, old;
	siginfo_t info;
	int status = 0, rc;
	pid_t pid;

	sigemptyset(&forwarded);
	for (size_t i = 0; i < RP_RUN_FORWARDED; i++)
		sigaddset(&forwarded, rp_run_forwarded[i]);
	/* No signal may find the handler without a child to pass it to. */
	sigprocmask(SIG_BLOCK, &forwarded, &old);
	sa.sa_mask = forwarded;
	for (size_t i = 0; i < RP_RUN_FORWARDED; i++)
		sigaction(rp_run_forwarded[i], &sa, NULL);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		rc = errno;
		rp_cli_error(cmd, "cannot start %s: fork: %s", argv[0], strerror(rc));
		return RP_EXIT_EXEC_FAILED;
	}
	if (pid == 0)
		rp_run_child_exec(cmd, argv, &old); /* exec resets the handlers */
	rp_run_child = pid;
	sigprocmask(SIG_SETMASK, &old, NULL);

	/* Ended, not reaped: its pid cannot be reused while we record. */
	while ((rc = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT)) < 0 && errno == EINTR)
		;
	if (rc == 0 && rp_prefix_resolve(NULL, prefix, err, sizeof(err)) == 0) {
		int sig = info.si_code == CLD_EXITED ? 0 : info.si_status;

		rc = rp_segment_record_exit(prefix, pid,
					    info.si_code == CLD_EXITED ? info.si_status : 0, sig);
		if (rc < 0)
			rp_cli_error(cmd, "could not record how pid %d ended in its segment: %s",
				     (int)pid, strerror(-rc));
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	rp_run_child = 0;
	/* Its signals would now be ours: default again before ending as it did. */
	for (size_t i = 0; i < RP_RUN_FORWARDED; i++)
		signal(rp_run_forwarded[i], SIG_DFL);
	return rp_run_end_as(cmd, status);
}

static int rp_run_run(const struct rp_command *cmd, int argc, char **argv)
{
	const char *values[RP_RUN_VAR_COUNT] = {NULL};
	const char *shim_opt = NULL;
	struct rf_shm_config scratch;
	struct rp_getopt g = {0};
	char err[RF_SHM_ERROR_MAX];
	bool exec = false;
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
		case RP_RUN_EXEC:
			exec = true;
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
	if (!exec)
		return rp_run_parent(cmd, argv + optind);
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
		       "variable, and the shim's absolute path goes in front of LD_PRELOAD\n"
		       "(entries already there are kept; one naming the shim, however spelt, is\n"
		       "dropped so the shim loads once).\n"
		       "\n"
		       "CMD runs as a child of ringfence, which passes SIGHUP, SIGINT, SIGQUIT,\n"
		       "SIGTERM, SIGUSR1 and SIGUSR2 on to it, waits for it and ends as it did:\n"
		       "with its exit status, or killed by the same signal. When CMD ended\n"
		       "without libc's exit(), so that the shim could not publish its end (killed\n"
		       "by a signal, or the exit_group system call, as every Go program ends),\n"
		       "ringfence records in its segment how it ended: `ls` and `stat` then show\n"
		       "exited(N) or killed(SIG) instead of dead. With --exec, CMD replaces\n"
		       "ringfence (same pid) and nothing is recorded.\n"
		       "\n"
		       "Values are checked before CMD starts, options and inherited RINGFENCE_*\n"
		       "variables alike, by the shim's own rules: a shim given a bad value would\n"
		       "run passive (count, enforce nothing).",
	.opts = rp_run_opts,
	.notes = "The shim is looked for as given by --shim, else $RINGFENCE_SHIM; else\n"
		 "<dir of ringfence>/../shim/libringfence.so (build tree), then\n"
		 "<dir of ringfence>/" RF_SHIM_RELPATH_INSTALLED " (installed),\n"
		 "then " RF_SHIM_INSTALLED " (where it was installed).\n"
		 "\n"
		 "Exit status: CMD's own once it runs (killed by a signal: the same signal\n"
		 "ends ringfence, which a shell shows as 128 + its number); 2 for a bad\n"
		 "option or value or a shim that cannot be found; 126 when CMD cannot be\n"
		 "executed; 127 when CMD is not found.",
	.env = RP_HELP_PREFIX_ENV
	"  RINGFENCE_SHIM              the shim to preload when --shim is not given;\n"
	"                              removed from CMD's environment\n"
	"  LD_PRELOAD                  kept, with the shim in front\n"
	"Read by the shim (set by the options above, or inherited):\n",
	.env_more = rp_run_env_more,
	.run = rp_run_run,
};
