/*
 * rp_print_stat.c - `stat`: one process's header, configuration and
 * counters, for people and for programs (JSON); Prometheus is
 * rp_print_prom.c.
 */
#include "rp_print_stat.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "rf_config.h"
#include "rp_format.h"
#include "rp_print_handles.h"
#include "rp_stats.h"

/* ---- configuration values --------------------------------------------- */

/*
 * A value of each RF_CONFIG type, RP_CONFIG_TEXT_<type> in the text of `stat`
 * and RP_CONFIG_JSON_<type> in its JSON.
 */

static void rp_config_text_size(uint64_t v, char *buf, size_t len)
{
	rf_size_format(v, buf, len);
}

static void rp_config_text_duration(uint64_t v, char *buf, size_t len)
{
	rf_duration_format(v, buf, len);
}

static void rp_config_text_policy(uint64_t v, char *buf, size_t len)
{
	snprintf(buf, len, "%s", rf_policy_name(v));
}

static void rp_config_text_name(const char *v, char *buf, size_t len)
{
	rp_text_sanitize(v, 0, buf, len);
}

static void rp_config_text_count(uint64_t v, char *buf, size_t len)
{
	snprintf(buf, len, "%" PRIu64, v);
}

static void rp_config_text_list(const char *v, char *buf, size_t len)
{
	rp_text_sanitize(v[0] ? v : "(none)", 0, buf, len);
}

#define RP_CONFIG_TEXT_SIZE rp_config_text_size
#define RP_CONFIG_TEXT_DURATION rp_config_text_duration
#define RP_CONFIG_TEXT_POLICY rp_config_text_policy
#define RP_CONFIG_TEXT_NAME rp_config_text_name
#define RP_CONFIG_TEXT_COUNT rp_config_text_count
#define RP_CONFIG_TEXT_BOOL rp_config_text_count
#define RP_CONFIG_TEXT_LIST rp_config_text_list

static void rp_config_json_number(FILE *out, uint64_t v)
{
	fprintf(out, "%" PRIu64, v);
}

static void rp_config_json_policy(FILE *out, uint64_t v)
{
	rp_json_string(out, rf_policy_name(v));
}

static void rp_config_json_bool(FILE *out, uint64_t v)
{
	fputs(v ? "true" : "false", out);
}

#define RP_CONFIG_JSON_SIZE rp_config_json_number
#define RP_CONFIG_JSON_DURATION rp_config_json_number
#define RP_CONFIG_JSON_POLICY rp_config_json_policy
#define RP_CONFIG_JSON_NAME rp_json_string
#define RP_CONFIG_JSON_COUNT rp_config_json_number
#define RP_CONFIG_JSON_BOOL rp_config_json_bool
#define RP_CONFIG_JSON_LIST rp_json_string

/* ---- stat, text ------------------------------------------------------- */

#define RP_LABEL "%-15s"

static void rp_time_line_print(FILE *out, const char *label, int64_t at_ns, int64_t now_ns,
			       const char *suffix)
{
	char when[96], age[32];

	rp_time_format(at_ns, when, sizeof(when));
	if (at_ns <= 0) {
		fprintf(out, RP_LABEL "%s\n", label, when);
		return;
	}
	rp_age_format(now_ns, at_ns, age, sizeof(age));
	fprintf(out, RP_LABEL "%s (%s%s)\n", label, when, age, suffix);
}

static void rp_state_print_text(FILE *out, const struct rp_snapshot *snap, int64_t now_ns)
{
	char when[96], age[32], sig[16];
	const char *note;

	switch (snap->live.state) {
	case RP_STATE_ALIVE:
		fprintf(out, RP_LABEL "alive\n", "state");
		break;
	case RP_STATE_EXITED:
	case RP_STATE_KILLED:
		rp_time_format(snap->hdr.exit_realtime_ns, when, sizeof(when));
		rp_age_format(now_ns, snap->hdr.exit_realtime_ns, age, sizeof(age));
		if (snap->live.state == RP_STATE_KILLED) {
			rp_signal_name(snap->hdr.exit_signal, sig, sizeof(sig));
			fprintf(out, RP_LABEL "killed by signal %" PRId32 " (SIG%s) at %s (%s ago)",
				"state", snap->hdr.exit_signal, sig, when, age);
		} else if (snap->hdr.exit_status_known) {
			fprintf(out, RP_LABEL "exited with status %" PRId32 " at %s (%s ago)",
				"state", snap->hdr.exit_status, when, age);
		} else {
			fprintf(out, RP_LABEL "exited, status unknown, at %s (%s ago)", "state",
				when, age);
		}
		note = rp_end_note(&snap->live);
		fprintf(out, "%s%s\n", note != NULL ? ", " : "", note != NULL ? note : "");
		break;
	case RP_STATE_DEAD:
		fprintf(out, RP_LABEL "dead: %s\n", "state", rp_end_note(&snap->live));
		break;
	}
}

/* A JSON member: SEP"KEY": VALUE, or null when there is none. */
static void rp_json_number_or_null(FILE *out, const char *sep, const char *key, bool has,
				   int64_t value)
{
	if (has)
		fprintf(out, "%s\"%s\": %" PRId64, sep, key, value);
	else
		fprintf(out, "%s\"%s\": null", sep, key);
}

static void rp_json_string_or_null(FILE *out, const char *sep, const char *key, const char *value)
{
	fprintf(out, "%s\"%s\": ", sep, key);
	if (value != NULL)
		rp_json_string(out, value);
	else
		fputs("null", out);
}

void rp_stat_print_end_json(FILE *out, const struct rp_snapshot *snap, const char *between)
{
	const struct rf_shm_header *hdr = &snap->hdr;
	const char *recorder = rp_exit_recorder_name(&snap->live);

	rp_json_number_or_null(out, "", "exit_status", rp_exit_status_known(&snap->live, hdr),
			       hdr->exit_status);
	rp_json_number_or_null(out, between, "exit_signal", snap->live.state == RP_STATE_KILLED,
			       hdr->exit_signal);
	rp_json_string_or_null(out, between, "exit_recorded_by", recorder);
	rp_json_number_or_null(out, between, "exit_time_ns", recorder != NULL,
			       hdr->exit_realtime_ns);
	rp_json_string_or_null(out, between, "state_note", rp_end_note(&snap->live));
}

/*
 * Threads waiting for budget, in one sentence: how many, how long the first
 * has waited, how much the heap grew meanwhile. false when none waits (or
 * an older writer's segment lacks the figures).
 */
static bool rp_waiting_summary(const struct rp_snapshot *snap, char *buf, size_t len)
{
	uint64_t threads, growth;
	int64_t longest;
	char age[32];
	bool alive = snap->live.state == RP_STATE_ALIVE;

	if (!rp_snapshot_has_stat(snap, RF_STAT_budget_waiting_heap_growth_bytes) ||
	    (threads = snap->stats[RF_STAT_budget_waiting]) == 0)
		return false;
	longest = snap->stats[RF_STAT_budget_waiting_longest_ns] > INT64_MAX
			  ? INT64_MAX
			  : (int64_t)snap->stats[RF_STAT_budget_waiting_longest_ns];
	growth = snap->stats[RF_STAT_budget_waiting_heap_growth_bytes];
	rp_age_format(longest, 0, age, sizeof(age));
	snprintf(buf, len,
		 "%" PRIu64
		 " thread%s %s for budget%s, the first for %s; live heap grew by %" PRIu64
		 " bytes (%.1f MiB) meanwhile",
		 threads, threads == 1 ? "" : "s",
		 alive ? (threads == 1 ? "waits" : "wait")
		       : (threads == 1 ? "was waiting" : "were waiting"),
		 alive ? " now" : " at the last publish", age, growth,
		 (double)growth / (1024.0 * 1024.0));
	return true;
}

void rp_stat_print_text(FILE *out, const struct rp_snapshot *snap, int64_t now_ns)
{
	const struct rf_shm_header *hdr = &snap->hdr;
	char text[RP_SANITIZED_MAX(RF_SHM_CMDLINE_MAX)];

	fprintf(out, RP_LABEL "%d\n", "pid", (int)snap->pid);
	fprintf(out, RP_LABEL "%s\n", "segment", snap->path);
	rp_text_sanitize(hdr->cmdline, 0, text, sizeof(text));
	fprintf(out, RP_LABEL "%s\n", "command", text[0] ? text : "(unknown)");
	rp_state_print_text(out, snap, now_ns);
	rp_text_sanitize(hdr->shim_version, 0, text, sizeof(text));
	fprintf(out, RP_LABEL "%s\n", "shim version", text);
	rp_time_line_print(out, "started", hdr->start_realtime_ns, now_ns, " ago");
	rp_time_line_print(out, "published", hdr->publish_realtime_ns, now_ns, " ago");
	if (snap->torn)
		fprintf(out,
			RP_LABEL "torn: no consistent copy (the process stopped or died "
				 "while publishing); figures may be inconsistent\n",
			"figures");
	if (hdr->passive)
		fprintf(out, RP_LABEL "yes: the shim counts but enforces nothing\n", "passive");
	if (hdr->config_error[0]) {
		rp_text_sanitize(hdr->config_error, 0, text, sizeof(text));
		fprintf(out, RP_LABEL "%s\n", "config error", text);
	}
	if (rp_waiting_summary(snap, text, sizeof(text)))
		fprintf(out, RP_LABEL "%s\n", "waiting", text);

	fprintf(out, "configuration\n");
#define RP_CONFIG_TEXT(name, type, env, def, min, max, help)                                       \
	RP_CONFIG_TEXT_##type(hdr->config.name, text, sizeof(text));                               \
	fprintf(out, "  %-22s %-12s %s: %s\n", #name, text, env, help);
	RF_CONFIG(RP_CONFIG_TEXT)
#undef RP_CONFIG_TEXT

	/* Only the counters the segment has: an older writer's lacks the newest. */
	fprintf(out, "counters\n");
	int width = 0;
	for (unsigned i = 0; i < snap->stats_count; i++)
		if ((int)strlen(rp_stats_info[i].name) > width)
			width = (int)strlen(rp_stats_info[i].name);
	for (unsigned i = 0; i < snap->stats_count; i++) {
		const char *unit = rp_stat_unit_text(rp_stats_info[i].unit);

		fprintf(out, "  %-*s %20" PRIu64 "  %s%s%s%s\n", width, rp_stats_info[i].name,
			snap->stats[i], rp_stats_info[i].help, unit ? " (" : "", unit ? unit : "",
			unit ? ")" : "");
	}
	rp_handles_print_text(out, snap);
}

/* ---- stat, JSON ------------------------------------------------------- */

static void rp_json_key(FILE *out, const char *indent, const char *key)
{
	fprintf(out, "%s\"%s\": ", indent, key);
}

void rp_stat_print_json(FILE *out, const struct rp_snapshot *snap)
{
	const struct rf_shm_header *hdr = &snap->hdr;
	char waiting[256];
	const char *sep = "";

	fprintf(out, "{\n  \"pid\": %d,\n", (int)snap->pid);
	rp_json_key(out, "  ", "segment");
	rp_json_string(out, snap->path);
	fputs(",\n", out);
	rp_json_key(out, "  ", "command");
	rp_json_string(out, hdr->cmdline);
	fputs(",\n", out);
	rp_json_key(out, "  ", "state");
	rp_json_string(out, rp_state_name(snap->live.state));
	fputs(",\n  ", out);
	rp_stat_print_end_json(out, snap, ",\n  ");
	fputs(",\n", out);
	rp_json_key(out, "  ", "shim_version");
	rp_json_string(out, hdr->shim_version);
	fputs(",\n", out);
	fprintf(out, "  \"start_time_ns\": %" PRId64 ",\n", hdr->start_realtime_ns);
	fprintf(out, "  \"publish_time_ns\": %" PRId64 ",\n", hdr->publish_realtime_ns);
	if (rp_waiting_summary(snap, waiting, sizeof(waiting))) {
		fprintf(out,
			"  \"waiting\": {\"threads\": %" PRIu64 ", \"longest_ns\": %" PRIu64
			", \"heap_growth_bytes\": %" PRIu64 ", \"summary\": ",
			snap->stats[RF_STAT_budget_waiting],
			snap->stats[RF_STAT_budget_waiting_longest_ns],
			snap->stats[RF_STAT_budget_waiting_heap_growth_bytes]);
		rp_json_string(out, waiting);
		fputs("},\n", out);
	} else {
		fputs("  \"waiting\": null,\n", out);
	}
	fprintf(out, "  \"torn\": %s,\n", snap->torn ? "true" : "false");
	fprintf(out, "  \"passive\": %s,\n", hdr->passive ? "true" : "false");
	rp_json_key(out, "  ", "config_error");
	if (hdr->config_error[0])
		rp_json_string(out, hdr->config_error);
	else
		fputs("null", out);
	fputs(",\n  \"config\": {", out);
#define RP_CONFIG_JSON(name, type, env, def, min, max, help)                                       \
	fprintf(out, "%s\n    \"%s\": ", sep, #name);                                              \
	RP_CONFIG_JSON_##type(out, hdr->config.name);                                              \
	sep = ",";
	RF_CONFIG(RP_CONFIG_JSON)
#undef RP_CONFIG_JSON
	fputs("\n  },\n  \"counters\": {", out);
	sep = "";
	for (unsigned i = 0; i < snap->stats_count; i++) {
		fprintf(out, "%s\n    \"%s\": %" PRIu64, sep, rp_stats_info[i].name,
			snap->stats[i]);
		sep = ",";
	}
	fputs("\n  }", out);
	rp_handles_print_json(out, snap);
	fputs("\n}", out);
}
