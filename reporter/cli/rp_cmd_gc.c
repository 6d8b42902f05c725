/*
 * rp_cmd_gc.c - `ringfence gc`: unlink the segments whose process is gone.
 *
 * Segments outlive their process on purpose (the last figures of a killed
 * process are the point), so something has to clean up; only the reader's
 * verdict and /proc decide, never the age of a segment.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "rp_cli.h"
#include "rp_help.h"
#include "rp_format.h"
#include "rp_list.h"
#include "rp_segment.h"
#include "rf_time.h"

enum {
	RP_GC_PREFIX = 256,
	RP_GC_DRY_RUN,
	RP_GC_CORRUPT,
};

static const struct rp_opt rp_gc_opts[] = {
	{"prefix", RP_GC_PREFIX, "NAME", RP_HELP_PREFIX_OPT},
	{"dry-run", RP_GC_DRY_RUN, NULL, "say what would be removed, remove nothing"},
	{"corrupt", RP_GC_CORRUPT, NULL,
	 "also remove segments that cannot be interpreted (bad magic, other "
	 "version, truncated, out-of-range layout, pid mismatch) once no process "
	 "has the pid in their name"},
	{"help", 'h', NULL, "show this help"},
	{NULL, 0, NULL, NULL},
};

struct rp_gc {
	const struct rp_command *cmd;
	bool dry_run;
	bool corrupt;
	int status; /* the first failure's exit status */
};

/*
 * Unlink the very file that was judged. Between the read and the unlink the
 * pid may have been reused by a new shimmed process that replaced the segment:
 * checking the inode narrows that window to nothing a person could hit.
 */
static void rp_gc_remove(struct rp_gc *gc, const struct rp_snapshot *snap, const char *why)
{
	struct stat st;
	int err;

	if (gc->dry_run) {
		printf("would remove %s (%s)\n", snap->path, why);
		return;
	}
	if (snap->ino == 0) {
		printf("kept %s: it could not be opened, so what would be removed is unknown\n",
		       snap->path);
		return;
	}
	if (lstat(snap->path, &st) == 0 && (st.st_dev != snap->dev || st.st_ino != snap->ino)) {
		printf("kept %s: replaced by a new segment since it was read\n", snap->path);
		return;
	}
	if (shm_unlink(snap->name) == 0) {
		printf("removed %s (%s)\n", snap->path, why);
		return;
	}
	err = errno;
	if (err == ENOENT)
		return; /* someone else collected it */
	rp_cli_error(gc->cmd, "cannot remove %s: %s", snap->path, strerror(err));
	if (gc->status == RP_EXIT_OK)
		gc->status = rp_read_error_status(err == EACCES || err == EPERM ? RP_READ_PERMISSION
										: RP_READ_IO);
}

/* The message without the path it starts with: the line names the path already. */
static const char *rp_gc_reason(const struct rp_failure *fail, const char *path)
{
	size_t len = strlen(path);

	if (strncmp(fail->message, path, len) == 0 && strncmp(fail->message + len, ": ", 2) == 0)
		return fail->message + len + 2;
	return fail->message;
}

static void rp_gc_one(struct rp_gc *gc, const char *prefix, pid_t pid)
{
	char why[RP_MESSAGE_MAX + 64], state[32], age[32];
	struct rp_snapshot snap;
	struct rp_failure fail;
	enum rp_read_error e = rp_segment_read(prefix, pid, &snap, &fail);

	if (e == RP_READ_OK) {
		if (snap.live.state != RP_STATE_ALIVE) {
			rp_state_label(&snap.live, &snap.hdr, state, sizeof(state));
			rp_age_format(rf_clock_ns(CLOCK_REALTIME), snap.hdr.publish_realtime_ns,
				      age, sizeof(age));
			snprintf(why, sizeof(why), "%s, last published %s ago", state, age);
			rp_gc_remove(gc, &snap, why);
		}
		rp_snapshot_release(&snap);
		return;
	}
	if (e == RP_READ_MISSING)
		return;
	if (!rp_read_error_corrupt(e)) {
		/* Not ours to judge (another user's, or unreadable): leave it, say why. */
		rp_cli_error(gc->cmd, "kept %s", fail.message);
		return;
	}
	if (!gc->corrupt) {
		printf("kept %s (%s; --corrupt removes it once pid %d is gone)\n", snap.path,
		       rp_gc_reason(&fail, snap.path), (int)pid);
		return;
	}
	/* Its contents prove nothing, so only the pid in its name can: no such process. */
	if (rp_pid_exists(pid)) {
		printf("kept %s (%s; pid %d is a live process)\n", snap.path,
		       rp_gc_reason(&fail, snap.path), (int)pid);
		return;
	}
	snprintf(why, sizeof(why), "%s", rp_gc_reason(&fail, snap.path));
	rp_gc_remove(gc, &snap, why);
}

static int rp_gc_run(const struct rp_command *cmd, int argc, char **argv)
{
	char prefix[RF_CONFIG_NAME_MAX], err[RP_MESSAGE_MAX];
	struct rp_gc gc = {.cmd = cmd, .status = RP_EXIT_OK};
	const char *prefix_opt = NULL;
	struct rp_getopt g = {0};
	size_t count = 0;
	pid_t *pids;
	int c, rc;

	while ((c = rp_cli_getopt(cmd, &g, argc, argv, 0)) != -1) {
		switch (c) {
		case RP_GC_PREFIX:
			prefix_opt = optarg;
			break;
		case RP_GC_DRY_RUN:
			gc.dry_run = true;
			break;
		case RP_GC_CORRUPT:
			gc.corrupt = true;
			break;
		case 'h':
			rp_help_command(stdout, cmd);
			return RP_EXIT_OK;
		default:
			return RP_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return rp_cli_usage(cmd, "unexpected argument '%s': gc takes no operands",
				    argv[optind]);
	if (rp_prefix_resolve(prefix_opt, prefix, err, sizeof(err)) < 0)
		return rp_cli_usage(cmd, "%s", err);
	rc = rp_segment_list(prefix, &pids, &count);
	if (rc < 0) {
		rp_cli_error(cmd, "cannot list " RP_SHM_DIR ": %s", strerror(-rc));
		return rp_read_error_status(RP_READ_IO);
	}
	for (size_t i = 0; i < count; i++)
		rp_gc_one(&gc, prefix, pids[i]);
	free(pids);
	return gc.status;
}

const struct rp_command rp_cmd_gc = {
	.name = "gc",
	.synopsis = "[--prefix NAME] [--dry-run] [--corrupt]",
	.summary = "remove the segments of processes that are gone",
	.description =
		"Segments outlive their process on purpose: the last figures of a process\n"
		"killed without exit stay readable. gc unlinks every segment whose process\n"
		"exited or is dead, printing one line per segment removed; segments of live\n"
		"processes are kept. A segment that cannot be interpreted is reported and\n"
		"kept unless --corrupt is given. A segment that cannot be read at all\n"
		"(another user's: mode 0600) is reported on stderr and kept.\n"
		"\n"
		"The exit status is 0 unless a removal failed (then the status of\n"
		"'permission' or 'io' below).",
	.opts = rp_gc_opts,
	.notes = NULL,
	.env = RP_HELP_PREFIX_ENV,
	.run = rp_gc_run,
};
