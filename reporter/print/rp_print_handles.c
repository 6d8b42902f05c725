/*
 * rp_print_handles.c - the budget's figures per librdkafka handle.
 *
 * Time since a handle's last poll is measured up to the segment's last
 * publish (both stamps come from the writer's CLOCK_MONOTONIC), so it says
 * how the handle stood when the figures were taken, not how stale they are.
 */
#include "rp_print_handles.h"

#include <inttypes.h>
#include <stdbool.h>

#include "rp_format.h"

static const char *const rp_handle_states[] = {
	[RF_SHM_HANDLE_FREE] = "free",
	[RF_SHM_HANDLE_OPEN] = "open",
	[RF_SHM_HANDLE_DESTROYED] = "destroyed",
};

/* Nanoseconds since the handle's last poll, or -1 when it never polled. */
static int64_t rp_handle_poll_age(const struct rp_snapshot *snap, const struct rf_shm_handle *h)
{
	int64_t ref = snap->hdr.publish_monotonic_ns;

	if (h->last_poll_monotonic_ns <= 0)
		return -1;
	return ref > h->last_poll_monotonic_ns ? ref - h->last_poll_monotonic_ns : 0;
}

/* Whether snap has the counters the share is made of (an older writer's may not). */
static bool rp_nowait_known(const struct rp_snapshot *snap)
{
	return rp_snapshot_has_stat(snap, RF_STAT_budget_nowait) &&
	       rp_snapshot_has_stat(snap, RF_STAT_budget_waits);
}

/* Share of admitted messages that did not wait, or -1 when none was admitted. */
static double rp_nowait_share(const struct rp_snapshot *snap)
{
	uint64_t admitted = snap->stats[RF_STAT_budget_nowait] + snap->stats[RF_STAT_budget_waits];

	return admitted == 0 ? -1.0 : (double)snap->stats[RF_STAT_budget_nowait] / (double)admitted;
}

void rp_handles_print_text(FILE *out, const struct rp_snapshot *snap)
{
	const struct rf_shm_handle *handles;
	uint64_t count;
	double share = rp_nowait_share(snap);

	if (rp_nowait_known(snap) && share >= 0)
		fprintf(out, "budget\n  %-26s %.4f  share of messages admitted without waiting\n",
			"nowait_share", share);
	handles = rp_snapshot_table(snap, RF_SHM_SECTION_HANDLES, &count);
	if (count == 0)
		return;
	fprintf(out, "handles\n  %-24s %-16s %-9s %14s %14s %10s %10s %8s\n", "NAME", "CLIENT.ID",
		"STATE", "HELD", "ACKED-UNSERVED", "DROPPED", "LAST-POLL", "POLLER");
	for (uint64_t i = 0; i < count; i++) {
		const struct rf_shm_handle *h = &handles[i];
		char name[RP_SANITIZED_MAX(RF_SHM_HANDLE_NAME_MAX)];
		char client[RP_SANITIZED_MAX(RF_SHM_HANDLE_NAME_MAX)];
		char age[32] = "never";
		int64_t since = rp_handle_poll_age(snap, h);

		rp_text_sanitize(h->name, 24, name, sizeof(name));
		rp_text_sanitize(h->client_id, 16, client, sizeof(client));
		if (since >= 0)
			rp_age_format(since, 0, age, sizeof(age));
		fprintf(out,
			"  %-24s %-16s %-9s %14" PRIu64 " %14" PRIu64 " %10" PRIu64 " %10s %8d\n",
			name, client, rp_handle_states[h->state], h->bytes_held,
			h->acked_unfreed_bytes, h->dropped_msgs, age, (int)h->poller_tid);
	}
}

void rp_handles_print_json(FILE *out, const struct rp_snapshot *snap)
{
	const struct rf_shm_handle *handles;
	double share = rp_nowait_share(snap);
	uint64_t count;

	fputs(",\n  \"budget\": {", out);
	if (rp_nowait_known(snap)) {
		fputs("\n    \"nowait_share\": ", out);
		if (share >= 0)
			fprintf(out, "%.6f", share);
		else
			fputs("null", out);
		fputs("\n  ", out);
	}
	fputs("},\n  \"handles\": [", out);
	handles = rp_snapshot_table(snap, RF_SHM_SECTION_HANDLES, &count);
	for (uint64_t i = 0; i < count; i++) {
		const struct rf_shm_handle *h = &handles[i];
		int64_t since = rp_handle_poll_age(snap, h);

		fputs(i ? ",\n    {\"name\": " : "\n    {\"name\": ", out);
		rp_json_string(out, h->name);
		fputs(", \"client_id\": ", out);
		rp_json_string(out, h->client_id);
		fprintf(out,
			", \"state\": \"%s\", \"bytes_held\": %" PRIu64
			", \"acked_unfreed_bytes\": %" PRIu64 ", \"dropped_msgs\": %" PRIu64
			", \"dropped_bytes\": %" PRIu64 ", \"poller_tid\": %d, \"since_poll_ns\": ",
			rp_handle_states[h->state], h->bytes_held, h->acked_unfreed_bytes,
			h->dropped_msgs, h->dropped_bytes, (int)h->poller_tid);
		if (since >= 0)
			fprintf(out, "%" PRId64 "}", since);
		else
			fputs("null}", out);
	}
	fputs(count ? "\n  ]" : "]", out);
}
