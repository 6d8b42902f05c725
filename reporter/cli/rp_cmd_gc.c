/*
 * rp_cmd_gc.c - `ringfence gc`: unlink the segments whose process is gone.
 *
 * Segments outlive their process on purpose (the last figures of a killed
 * process are the point), so something has to clean up; only the reader's
 * verdict and /proc decide, never the age of a segment, and only what
 * rp_claim verifies as the caller's own segment is ever removed. A dry run
 * and a real run take their decision in the same function (rp_gc_decide).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "rp_claim.h"
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
	 "has the pid in their name, when verified as the caller's own"},
	{"help", 'h', NULL, "show this help"},
	{NULL, 0, NULL, NULL},
};

struct rp_gc {
	const struct rp_command *cmd;
	bool dry_run;
	bool corrupt;
	int status; /* the first failure's exit status */
};

/* What gc does with one name: the one decision, for a dry run and a real run alike. */
enum rp_gc_action {
	RP_GC_SKIP,       /* no segment, or a live process's: nothing to say */
	RP_GC_UNREADABLE, /* not ours to judge (another user's, or unreadable): stderr */
	RP_GC_KEEP,       /* kept, and why */
	RP_GC_REMOVE,     /* verified as the caller's segment of a process that is gone */
};

struct rp_gc_decision {
	enum rp_gc_action action;
	char name[RF_SHM_NAME_MAX];
	char path[RP_PATH_MAX];
	char why[RP_MESSAGE_MAX + 256];
	dev_t dev; /* the file verified, when it is to be removed */
	ino_t ino;
};

/* The message without the path it starts with: the line names the path already. */
static const char *rp_gc_reason(const struct rp_failure *fail, const char *path)
{
	size_t len = strlen(path);

	if (strncmp(fail->message, path, len) == 0 && strncmp(fail->message + len, ": ", 2) == 0)
		return fail->message + len + 2;
	return fail->message;
}

/*
 * Whether the file the reader judged is the caller's own segment, as far as
 * its bytes and metadata can tell (rp_claim.h): only such a file is ever
 * removed. false with d->why set when it is not.
 */
static bool rp_gc_verified(const struct rp_snapshot *snap, struct rp_gc_decision *d)
{
	struct rp_claim claim;

	if (rp_claim_file(snap->name, snap->path, &claim) == -ENOENT) {
		d->action = RP_GC_SKIP; /* gone meanwhile */
		return false;
	}
	d->action = RP_GC_KEEP;
	if (!claim.ours) {
		snprintf(d->why, sizeof(d->why), "%s; not verified as the caller's own segment",
			 claim.why);
		return false;
	}
	if (snap->ino != 0 && (claim.dev != snap->dev || claim.ino != snap->ino)) {
		snprintf(d->why, sizeof(d->why), "replaced by another file while it was judged");
		return false;
	}
	d->dev = claim.dev;
	d->ino = claim.ino;
	return true;
}

/*
 * The decision on /<prefix>.<pid>, taken alike for a dry run and a real run:
 * the reader's verdict, then /proc for a segment it cannot interpret, then
 * rp_claim's verification of whatever would be removed.
 */
static void rp_gc_decide(const struct rp_gc *gc, const char *prefix, pid_t pid,
			 struct rp_gc_decision *d)
{
	char state[32], age[32];
	struct rp_snapshot snap;
	struct rp_failure fail;
	enum rp_read_error e = rp_segment_read(prefix, pid, &snap, &fail);

	memset(d, 0, sizeof(*d));
	memcpy(d->name, snap.name, sizeof(d->name));
	memcpy(d->path, snap.path, sizeof(d->path));
	if (e == RP_READ_OK) {
		if (snap.live.state != RP_STATE_ALIVE && rp_gc_verified(&snap, d)) {
			rp_state_label(&snap.live, &snap.hdr, state, sizeof(state));
			rp_age_format(rf_clock_ns(CLOCK_REALTIME), snap.hdr.publish_realtime_ns,
				      age, sizeof(age));
			snprintf(d->why, sizeof(d->why), "%s, last published %s ago", state, age);
			d->action = RP_GC_REMOVE;
		}
		rp_snapshot_release(&snap);
		return;
	}
	if (e == RP_READ_MISSING)
		return;
	if (!rp_read_error_corrupt(e)) {
		d->action = RP_GC_UNREADABLE;
		snprintf(d->why, sizeof(d->why), "%s", fail.message);
		return;
	}
	/* Its contents prove nothing, so only the pid in its name can: no such process. */
	if (rp_pid_exists(pid)) {
		d->action = RP_GC_KEEP;
		snprintf(d->why, sizeof(d->why), "%s; pid %d is a live process",
			 rp_gc_reason(&fail, snap.path), (int)pid);
		return;
	}
	if (!rp_gc_verified(&snap, d))
		return;
	if (!gc->corrupt) {
		d->action = RP_GC_KEEP;
		snprintf(d->why, sizeof(d->why), "%s; --corrupt removes it",
			 rp_gc_reason(&fail, snap.path));
		return;
	}
	d->action = RP_GC_REMOVE;
	snprintf(d->why, sizeof(d->why), "%s", rp_gc_reason(&fail, snap.path));
}

/*
 * Unlink the very file that was verified. Between the verdict and the
 * unlink the name may have been taken by a new shimmed process that reused
 * the pid: checking the inode narrows that window to nothing a person could
 * hit.
 */
static void rp_gc_remove(struct rp_gc *gc, const struct rp_gc_decision *d)
{
	struct stat st;
	int err;

	if (lstat(d->path, &st) == 0 && (st.st_dev != d->dev || st.st_ino != d->ino)) {
		printf("kept %s (replaced by another file since it was judged)\n", d->path);
		return;
	}
	if (shm_unlink(d->name) == 0) {
		printf("removed %s (%s)\n", d->path, d->why);
		return;
	}
	err = errno;
	if (err == ENOENT)
		return; /* someone else collected it */
	rp_cli_error(gc->cmd, "cannot remove %s: %s", d->path, strerror(err));
	if (gc->status == RP_EXIT_OK)
		gc->status = rp_read_error_status(err == EACCES || err == EPERM ? RP_READ_PERMISSION
										: RP_READ_IO);
}

static void rp_gc_one(struct rp_gc *gc, const char *prefix, pid_t pid)
{
	struct rp_gc_decision d;

	rp_gc_decide(gc, prefix, pid, &d);
	switch (d.action) {
	case RP_GC_SKIP:
		break;
	case RP_GC_UNREADABLE:
		rp_cli_error(gc->cmd, "kept %s", d.why);
		break;
	case RP_GC_KEEP:
		printf("kept %s (%s)\n", d.path, d.why);
		break;
	case RP_GC_REMOVE:
		if (gc->dry_run)
			printf("would remove %s (%s)\n", d.path, d.why);
		else
			rp_gc_remove(gc, &d);
		break;
	}
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
		"Only what gc verifies as the caller's own segment is removed: a regular\n"
		"file (never a link, a FIFO or a directory), owned by the caller, at most\n"
		"64 MiB, holding a segment of some layout version or what the shim leaves\n"
		"cut short (empty, zeros, the start of a segment). Anything else under a\n"
		"segment's name is kept with a line saying what it is. --dry-run takes the\n"
		"same decisions and says the same.\n"
		"\n"
		"The exit status is 0 unless a removal failed (then the status of\n"
		"'permission' or 'io' below).",
	.opts = rp_gc_opts,
	.notes = NULL,
	.env = RP_HELP_PREFIX_ENV,
	.run = rp_gc_run,
};
