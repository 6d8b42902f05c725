/*
 * rp_print_ls.c - `ls`: a line, or a JSON object, per segment; unreadable
 * ones with the reader's verdict instead of figures.
 */
#include "rp_print_ls.h"

#include <inttypes.h>
#include <string.h>

#include "rp_format.h"
#include "rp_print_stat.h"
#include "rp_stats.h"

#define RP_LS_ROW "%-8s %-11s %-15s %12s %15s  %s\n"
#define RP_LS_FIXED_COLS (8 + 1 + 11 + 1 + 15 + 1 + 12 + 1 + 15 + 2)
#define RP_LS_COMMAND_MIN 16

void rp_ls_print_header(FILE *out)
{
	fprintf(out, RP_LS_ROW, "PID", "STATE", "SINCE", "MSGS", "BYTES", "COMMAND");
}

/* alive: uptime; exited: time since the exit; dead: since its last sign of life. */
static void rp_since_format(const struct rp_snapshot *snap, int64_t now_ns, char *buf, size_t len)
{
	char age[32];

	switch (snap->live.state) {
	case RP_STATE_ALIVE:
		rp_age_format(now_ns, snap->hdr.start_realtime_ns, age, sizeof(age));
		snprintf(buf, len, "up %s", age);
		break;
	case RP_STATE_EXITED:
	case RP_STATE_KILLED:
		rp_age_format(now_ns, snap->hdr.exit_realtime_ns, age, sizeof(age));
		snprintf(buf, len, "%s ago", age);
		break;
	case RP_STATE_DEAD:
		rp_age_format(now_ns, snap->hdr.publish_realtime_ns, age, sizeof(age));
		snprintf(buf, len, "seen %s ago", age);
		break;
	}
}

void rp_ls_print_row(FILE *out, const struct rp_snapshot *snap, int64_t now_ns, size_t width)
{
	char pid[16], state[32], since[48], msgs[24], bytes[24];
	char command[RP_SANITIZED_MAX(RF_SHM_CMDLINE_MAX)];
	size_t cols = 0;

	if (width > 0)
		cols = width > RP_LS_FIXED_COLS + RP_LS_COMMAND_MIN ? width - RP_LS_FIXED_COLS
								    : RP_LS_COMMAND_MIN;
	snprintf(pid, sizeof(pid), "%d", (int)snap->pid);
	rp_state_label(&snap->live, &snap->hdr, state, sizeof(state));
	if (snap->torn)
		strcat(state, "*");
	rp_since_format(snap, now_ns, since, sizeof(since));
	snprintf(msgs, sizeof(msgs), "%" PRIu64, rp_stats_produced_msgs(snap));
	snprintf(bytes, sizeof(bytes), "%" PRIu64, rp_stats_produced_bytes(snap));
	rp_text_sanitize(snap->hdr.cmdline, cols, command, sizeof(command));
	fprintf(out, RP_LS_ROW, pid, state, since, msgs, bytes, command);
}

void rp_ls_print_error(FILE *out, pid_t pid, const struct rp_failure *fail)
{
	/* Not cut to the width: the end of the message is the useful part. */
	fprintf(out, "%-8d %-11s %s\n", (int)pid, "error", fail->message);
}

static void rp_ls_json_common(FILE *out, pid_t pid, const char *path)
{
	fprintf(out, "  {\"pid\": %d, \"segment\": ", (int)pid);
	rp_json_string(out, path);
}

void rp_ls_print_json_row(FILE *out, const struct rp_snapshot *snap)
{
	const struct rf_shm_header *hdr = &snap->hdr;

	rp_ls_json_common(out, snap->pid, snap->path);
	fputs(", \"state\": ", out);
	rp_json_string(out, rp_state_name(snap->live.state));
	fputs(", ", out);
	rp_stat_print_end_json(out, snap, ", ");
	fprintf(out, ", \"start_time_ns\": %" PRId64 ", \"publish_time_ns\": %" PRId64,
		hdr->start_realtime_ns, hdr->publish_realtime_ns);
	fprintf(out, ", \"msgs\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"torn\": %s",
		rp_stats_produced_msgs(snap), rp_stats_produced_bytes(snap),
		snap->torn ? "true" : "false");
	fputs(", \"command\": ", out);
	rp_json_string(out, hdr->cmdline);
	fputs(", \"error\": null}", out);
}

void rp_ls_print_json_error(FILE *out, pid_t pid, const char *path, const struct rp_failure *fail)
{
	rp_ls_json_common(out, pid, path);
	fputs(", \"state\": \"error\", \"exit_status\": null, \"start_time_ns\": null, "
	      "\"publish_time_ns\": null, \"exit_time_ns\": null, \"msgs\": null, "
	      "\"bytes\": null, \"torn\": null, \"command\": null, \"error\": {\"kind\": ",
	      out);
	rp_json_string(out, rp_read_error_kind(fail->error));
	fprintf(out, ", \"exit_status\": %d, \"message\": ", rp_read_error_status(fail->error));
	rp_json_string(out, fail->message);
	fputs("}}", out);
}
