/*
 * rp_print_prom.c - the Prometheus text exposition of processes.
 *
 * The exposition is a list of families (rp_prom_family_get): the process's
 * own (state, times, the shim), its configuration (RF_CONFIG), its counters
 * (RF_STATS), its handles and its largest leak groups. A family has one
 * sample per item of a process: one for most, one per state of the state
 * set, one per handle, one per leak group. The cursor walks families, then
 * processes, then items.
 */
#include "rp_print_prom.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "rf_config.h"
#include "rp_format.h"
#include "rp_stats.h"
#include "rp_threads.h"

/* ---- records ------------------------------------------------------------ */

void rp_prom_comm(const char *cmdline, char comm[RP_PROM_COMM_MAX])
{
	size_t len = strcspn(cmdline, " ");
	const char *base = cmdline;

	for (size_t i = 0; i < len; i++)
		if (cmdline[i] == '/')
			base = cmdline + i + 1;
	len -= (size_t)(base - cmdline);
	if (len > RP_PROM_COMM_MAX - 1)
		len = RP_PROM_COMM_MAX - 1;
	memcpy(comm, base, len);
	comm[len] = '\0';
}

/* Largest first, then by index: the same groups from one scrape to the next. */
static int rp_prom_group_cmp(const void *a, const void *b)
{
	const struct rp_prom_group *x = a, *y = b;

	if (x->threads != y->threads)
		return x->threads > y->threads ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static void rp_prom_string_copy(char *to, size_t len, const char *from)
{
	snprintf(to, len, "%s", from);
}

/* The leak groups of snap, the largest max_groups of them kept. */
static int rp_prom_groups_take(const struct rp_snapshot *snap, unsigned max_groups,
			       struct rp_prom_proc *out)
{
	struct rp_threads t;
	uint64_t leaks = 0;

	if (rp_threads_analyse(snap, NULL, &t) < 0) {
		rp_threads_release(&t);
		return -ENOMEM;
	}
	out->leaked_threads = rp_threads_leaked(&t);
	for (uint64_t i = 0; i < t.ngroups; i++)
		leaks += t.groups[i].leak;
	if (leaks > 0 && max_groups > 0) {
		out->groups = calloc(leaks, sizeof(*out->groups));
		if (out->groups == NULL) {
			rp_threads_release(&t);
			return -ENOMEM;
		}
	}
	for (uint64_t i = 0; i < t.ngroups && out->groups != NULL; i++) {
		const struct rp_group_view *v = &t.groups[i];
		struct rp_prom_group *g;

		if (!v->leak)
			continue;
		g = &out->groups[out->ngroups++];
		g->index = v->index;
		g->cls = v->cls;
		g->threads = v->count;
		g->alive = v->g->alive;
		g->heap_live_bytes = v->g->heap_live_bytes;
		rp_prom_string_copy(g->start_routine, sizeof(g->start_routine), v->g->start_name);
		rp_prom_string_copy(g->thread_name, sizeof(g->thread_name), v->name);
	}
	rp_threads_release(&t);
	if (out->ngroups > 1)
		qsort(out->groups, out->ngroups, sizeof(*out->groups), rp_prom_group_cmp);
	if (out->ngroups > max_groups)
		out->ngroups = max_groups;
	out->groups_omitted = leaks - out->ngroups;
	return 0;
}

/* Nanoseconds since the handle's last poll, up to the publish; -1 when it never polled. */
static int64_t rp_prom_poll_age(const struct rp_snapshot *snap, const struct rf_shm_handle *h)
{
	if (h->last_poll_monotonic_ns <= 0)
		return -1;
	return rp_ns_since(snap->hdr.publish_monotonic_ns, h->last_poll_monotonic_ns);
}

static int rp_prom_handles_take(const struct rp_snapshot *snap, struct rp_prom_proc *out)
{
	uint64_t n;
	const struct rf_shm_handle *handles = rp_snapshot_table(snap, RF_SHM_SECTION_HANDLES, &n);

	if (n == 0)
		return 0;
	out->handles = calloc(n, sizeof(*out->handles));
	if (out->handles == NULL)
		return -ENOMEM;
	for (uint64_t i = 0; i < n; i++) {
		const struct rf_shm_handle *h = &handles[i];
		struct rp_prom_handle *ph = &out->handles[i];

		memcpy(ph->name, h->name, sizeof(ph->name));
		memcpy(ph->client_id, h->client_id, sizeof(ph->client_id));
		ph->state = h->state;
		ph->held_bytes = h->bytes_held;
		ph->acked_unfreed_bytes = h->acked_unfreed_bytes;
		ph->dropped_msgs = h->dropped_msgs;
		ph->dropped_bytes = h->dropped_bytes;
		ph->poll_age_ns = rp_prom_poll_age(snap, h);
	}
	out->nhandles = (uint32_t)n;
	return 0;
}

int rp_prom_proc_take(const struct rp_snapshot *snap, unsigned max_groups, struct rp_prom_proc *out)
{
	const struct rf_shm_header *hdr = &snap->hdr;

	memset(out, 0, sizeof(*out));
	out->pid = snap->pid;
	rp_prom_comm(hdr->cmdline, out->comm);
	out->live = snap->live;
	out->exit_status_known = rp_exit_status_known(&snap->live, hdr);
	out->exit_status = hdr->exit_status;
	out->exit_signal = hdr->exit_signal;
	out->passive = hdr->passive != 0;
	out->torn = snap->torn;
	out->start_realtime_ns = hdr->start_realtime_ns;
	out->publish_realtime_ns = hdr->publish_realtime_ns;
	rp_prom_string_copy(out->shim_version, sizeof(out->shim_version), hdr->shim_version);
#define RP_PROM_CONFIG_COPY_SIZE(name) out->config.name = hdr->config.name;
#define RP_PROM_CONFIG_COPY_DURATION(name) out->config.name = hdr->config.name;
#define RP_PROM_CONFIG_COPY_COUNT(name) out->config.name = hdr->config.name;
#define RP_PROM_CONFIG_COPY_BOOL(name) out->config.name = hdr->config.name;
#define RP_PROM_CONFIG_COPY_POLICY(name) out->config.name = hdr->config.name;
#define RP_PROM_CONFIG_COPY_NAME(name)
#define RP_PROM_CONFIG_COPY_LIST(name)
#define RP_PROM_CONFIG_COPY(name, type, env, def, min, max, help) RP_PROM_CONFIG_COPY_##type(name)
	RF_CONFIG(RP_PROM_CONFIG_COPY)
#undef RP_PROM_CONFIG_COPY
	memcpy(out->stats, snap->stats, sizeof(out->stats));
	out->stats_count = snap->stats_count;
	if (rp_prom_handles_take(snap, out) < 0 || rp_prom_groups_take(snap, max_groups, out) < 0) {
		rp_prom_proc_release(out);
		return -ENOMEM;
	}
	return 0;
}

void rp_prom_proc_release(struct rp_prom_proc *proc)
{
	free(proc->handles);
	free(proc->groups);
	proc->handles = NULL;
	proc->groups = NULL;
	proc->nhandles = proc->ngroups = 0;
}

/* ---- families ----------------------------------------------------------- */

/* What a family's items are, and the labels each sample has after pid and comm. */
enum rp_prom_scope {
	RP_SCOPE_PROC,   /* one sample */
	RP_SCOPE_STATE,  /* one per state: state="alive", ... */
	RP_SCOPE_INFO,   /* one: version, policy */
	RP_SCOPE_HANDLE, /* one per handle: handle, client_id */
	RP_SCOPE_GROUP, /* one per exported leak group: group, verdict, start_routine, thread_name */
};

/* A sample's value: an unsigned or signed integer, or nanoseconds shown as seconds. */
struct rp_prom_value {
	enum {
		RP_VALUE_UINT,
		RP_VALUE_INT,
		RP_VALUE_NS,
	} kind;
	uint64_t u;
	int64_t i;
};

struct rp_prom_family;
typedef bool (*rp_prom_value_fn)(const struct rp_prom_family *f, const struct rp_prom_proc *p,
				 uint32_t item, struct rp_prom_value *v);

struct rp_prom_family {
	const char *name; /* without "ringfence_" */
	const char *type;
	const char *help;
	enum rp_prom_scope scope;
	rp_prom_value_fn value;
	unsigned id; /* the counter, or the setting, of a generated family */
	char name_buf[RP_STAT_PROM_NAME_MAX + 32];
	char help_buf[512];
};

static bool rp_prom_uint(struct rp_prom_value *v, uint64_t u)
{
	v->kind = RP_VALUE_UINT;
	v->u = u;
	return true;
}

static bool rp_prom_int(struct rp_prom_value *v, int64_t i)
{
	v->kind = RP_VALUE_INT;
	v->i = i;
	return true;
}

static bool rp_prom_ns(struct rp_prom_value *v, int64_t ns)
{
	v->kind = RP_VALUE_NS;
	v->i = ns;
	return true;
}

/* The states of the state set, in item order. */
static const enum rp_state rp_prom_states[] = {
	RP_STATE_ALIVE,
	RP_STATE_EXITED,
	RP_STATE_KILLED,
	RP_STATE_DEAD,
};
#define RP_PROM_STATES (sizeof(rp_prom_states) / sizeof(rp_prom_states[0]))

static bool rp_prom_up(const struct rp_prom_family *f, const struct rp_prom_proc *p, uint32_t item,
		       struct rp_prom_value *v)
{
	return rp_prom_uint(v, p->live.state == RP_STATE_ALIVE);
}

static bool rp_prom_state(const struct rp_prom_family *f, const struct rp_prom_proc *p,
			  uint32_t item, struct rp_prom_value *v)
{
	return rp_prom_uint(v, p->live.state == rp_prom_states[item]);
}

static bool rp_prom_exited(const struct rp_prom_family *f, const struct rp_prom_proc *p,
			   uint32_t item, struct rp_prom_value *v)
{
	return rp_prom_uint(v, p->live.state == RP_STATE_EXITED);
}

static bool rp_prom_exit_status(const struct rp_prom_family *f, const struct rp_prom_proc *p,
				uint32_t item, struct rp_prom_value *v)
{
	return p->exit_status_known && rp_prom_int(v, p->exit_status);
}

static bool rp_prom_exit_signal(const struct rp_prom_family *f, const struct rp_prom_proc *p,
				uint32_t item, struct rp_prom_value *v)
{
	return p->live.state == RP_STATE_KILLED && rp_prom_int(v, p->exit_signal);
}

static bool rp_prom_passive(const struct rp_prom_family *f, const struct rp_prom_proc *p,
			    uint32_t item, struct rp_prom_value *v)
{
	return rp_prom_uint(v, p->passive);
}

static bool rp_prom_torn(const struct rp_prom_family *f, const struct rp_prom_proc *p,
			 uint32_t item, struct rp_prom_value *v)
{
	return rp_prom_uint(v, p->torn);
}

static bool rp_prom_start(const struct rp_prom_family *f, const struct rp_prom_proc *p,
			  uint32_t item, struct rp_prom_value *v)
{
	return rp_prom_ns(v, p->start_realtime_ns);
}

static bool rp_prom_publish(const struct rp_prom_family *f, const struct rp_prom_proc *p,
			    uint32_t item, struct rp_prom_value *v)
{
	return rp_prom_ns(v, p->publish_realtime_ns);
}

static bool rp_prom_one(const struct rp_prom_family *f, const struct rp_prom_proc *p, uint32_t item,
			struct rp_prom_value *v)
{
	return rp_prom_uint(v, 1);
}

static bool rp_prom_leaked(const struct rp_prom_family *f, const struct rp_prom_proc *p,
			   uint32_t item, struct rp_prom_value *v)
{
	return rp_prom_uint(v, p->leaked_threads);
}

static bool rp_prom_omitted(const struct rp_prom_family *f, const struct rp_prom_proc *p,
			    uint32_t item, struct rp_prom_value *v)
{
	return rp_prom_uint(v, p->groups_omitted);
}

static const struct rp_prom_family rp_prom_proc_families[] = {
	{.name = "up",
	 .type = "gauge",
	 .help = "1 while the process lives, else 0",
	 .scope = RP_SCOPE_PROC,
	 .value = rp_prom_up,
	 .id = 0},
	{.name = "process_state",
	 .type = "gauge",
	 .help = "1 for the state the process is in, else 0: alive; exited (its exit published); killed "
		 "(its parent, ringfence run, recorded the signal); dead (ended without exit(), nobody "
		 "recorded how)",
	 .scope = RP_SCOPE_STATE,
	 .value = rp_prom_state,
	 .id = 0},
	{.name = "exited",
	 .type = "gauge",
	 .help = "1 when the process exited and its exit was published, else 0",
	 .scope = RP_SCOPE_PROC,
	 .value = rp_prom_exited,
	 .id = 0},
	{.name = "exit_status",
	 .type = "gauge",
	 .help = "The status the process exited with (only when known)",
	 .scope = RP_SCOPE_PROC,
	 .value = rp_prom_exit_status,
	 .id = 0},
	{.name = "exit_signal",
	 .type = "gauge",
	 .help = "The signal that ended the process (only when killed)",
	 .scope = RP_SCOPE_PROC,
	 .value = rp_prom_exit_signal,
	 .id = 0},
	{.name = "passive",
	 .type = "gauge",
	 .help = "1 when a configuration error left the shim counting only, else 0",
	 .scope = RP_SCOPE_PROC,
	 .value = rp_prom_passive,
	 .id = 0},
	{.name = "figures_torn",
	 .type = "gauge",
	 .help = "1 when no consistent copy of the figures could be taken (the process stopped or died "
		 "while publishing), else 0",
	 .scope = RP_SCOPE_PROC,
	 .value = rp_prom_torn,
	 .id = 0},
	{.name = "start_time_seconds",
	 .type = "gauge",
	 .help = "Start time of the process, seconds since the Unix epoch",
	 .scope = RP_SCOPE_PROC,
	 .value = rp_prom_start,
	 .id = 0},
	{.name = "publish_time_seconds",
	 .type = "gauge",
	 .help = "Time of the last publish of these figures, seconds since the Unix epoch",
	 .scope = RP_SCOPE_PROC,
	 .value = rp_prom_publish,
	 .id = 0},
	{.name = "shim_info",
	 .type = "gauge",
	 .help = "The shim in the process: its version and budget policy (always 1)",
	 .scope = RP_SCOPE_INFO,
	 .value = rp_prom_one,
	 .id = 0},
	{.name = "leaked_threads",
	 .type = "gauge",
	 .help = "Threads judged leaked (alive when the process ended, or stuck while it runs), as "
		 "ringfence check counts them",
	 .scope = RP_SCOPE_PROC,
	 .value = rp_prom_leaked,
	 .id = 0},
	{.name = "leak_groups_omitted",
	 .type = "gauge",
	 .help = "Leak groups (threads of one creation stack judged leaked, stuck or unjoined) beyond the "
		 "largest ones, which have series of their own",
	 .scope = RP_SCOPE_PROC,
	 .value = rp_prom_omitted,
	 .id = 0},
};
#define RP_PROM_PROC_FAMILIES (sizeof(rp_prom_proc_families) / sizeof(rp_prom_proc_families[0]))

/* The numeric settings: the policy is a label of shim_info, names and lists are not numbers. */
static const struct {
	const char *name, *env, *help;
	enum rf_config_type type;
	size_t offset;
} rp_prom_configs[] = {
#define RP_PROM_CONFIG_ENTRY(name, type, env, help)                                                \
	{#name, env, help, type, offsetof(struct rp_prom_config, name)},
#define RP_PROM_CONFIG_ENTRY_SIZE(name, env, help)                                                 \
	RP_PROM_CONFIG_ENTRY(name, RF_CONFIG_TYPE_SIZE, env, help)
#define RP_PROM_CONFIG_ENTRY_DURATION(name, env, help)                                             \
	RP_PROM_CONFIG_ENTRY(name, RF_CONFIG_TYPE_DURATION, env, help)
#define RP_PROM_CONFIG_ENTRY_COUNT(name, env, help)                                                \
	RP_PROM_CONFIG_ENTRY(name, RF_CONFIG_TYPE_COUNT, env, help)
#define RP_PROM_CONFIG_ENTRY_BOOL(name, env, help)                                                 \
	RP_PROM_CONFIG_ENTRY(name, RF_CONFIG_TYPE_BOOL, env, help)
#define RP_PROM_CONFIG_ENTRY_POLICY(name, env, help)
#define RP_PROM_CONFIG_ENTRY_NAME(name, env, help)
#define RP_PROM_CONFIG_ENTRY_LIST(name, env, help)
#define RP_PROM_CONFIG_X(name, type, env, def, min, max, help)                                     \
	RP_PROM_CONFIG_ENTRY_##type(name, env, help)
	RF_CONFIG(RP_PROM_CONFIG_X)
#undef RP_PROM_CONFIG_X
};
#define RP_PROM_CONFIGS (sizeof(rp_prom_configs) / sizeof(rp_prom_configs[0]))

static bool rp_prom_config(const struct rp_prom_family *f, const struct rp_prom_proc *p,
			   uint32_t item, struct rp_prom_value *v)
{
	uint64_t value;

	memcpy(&value, (const char *)&p->config + rp_prom_configs[f->id].offset, sizeof(value));
	if (rp_prom_configs[f->id].type == RF_CONFIG_TYPE_DURATION)
		return rp_prom_ns(v, value > INT64_MAX ? INT64_MAX : (int64_t)value);
	return rp_prom_uint(v, value);
}

static bool rp_prom_stat(const struct rp_prom_family *f, const struct rp_prom_proc *p,
			 uint32_t item, struct rp_prom_value *v)
{
	if (f->id >= p->stats_count)
		return false; /* an older writer's segment: absent, not 0 */
	if (rp_stats_info[f->id].unit == RF_STAT_UNIT_NS)
		return rp_prom_ns(v, p->stats[f->id] > INT64_MAX ? INT64_MAX
								 : (int64_t)p->stats[f->id]);
	return rp_prom_uint(v, p->stats[f->id]);
}

static bool rp_prom_handle(const struct rp_prom_family *f, const struct rp_prom_proc *p,
			   uint32_t item, struct rp_prom_value *v)
{
	const struct rp_prom_handle *h = &p->handles[item];

	switch (f->id) {
	case 0:
		return rp_prom_uint(v, h->state == RF_SHM_HANDLE_OPEN);
	case 1:
		return rp_prom_uint(v, h->held_bytes);
	case 2:
		return rp_prom_uint(v, h->acked_unfreed_bytes);
	case 3:
		return rp_prom_uint(v, h->dropped_msgs);
	case 4:
		return rp_prom_uint(v, h->dropped_bytes);
	default:
		return h->poll_age_ns >= 0 && rp_prom_ns(v, h->poll_age_ns);
	}
}

static const struct rp_prom_family rp_prom_handle_families[] = {
	{.name = "handle_open",
	 .type = "gauge",
	 .help = "1 while the librdkafka handle is open, 0 once destroyed (listed until its slot is "
		 "needed)",
	 .scope = RP_SCOPE_HANDLE,
	 .value = rp_prom_handle,
	 .id = 0},
	{.name = "handle_held_bytes",
	 .type = "gauge",
	 .help = "Budget charged to the handle's messages, not yet released",
	 .scope = RP_SCOPE_HANDLE,
	 .value = rp_prom_handle,
	 .id = 1},
	{.name = "handle_acked_unfreed_bytes",
	 .type = "gauge",
	 .help = "Budget held by the handle's acknowledged messages whose delivery reports nobody served "
		 "yet (a poll serves them)",
	 .scope = RP_SCOPE_HANDLE,
	 .value = rp_prom_handle,
	 .id = 2},
	{.name = "handle_dropped_msgs_total",
	 .type = "counter",
	 .help = "The handle's messages purged from its queues",
	 .scope = RP_SCOPE_HANDLE,
	 .value = rp_prom_handle,
	 .id = 3},
	{.name = "handle_dropped_bytes_total",
	 .type = "counter",
	 .help = "Payload bytes of the handle's messages purged from its queues",
	 .scope = RP_SCOPE_HANDLE,
	 .value = rp_prom_handle,
	 .id = 4},
	{.name = "handle_poll_age_seconds",
	 .type = "gauge",
	 .help = "Time from the handle's last poll to the last publish (no sample: never polled)",
	 .scope = RP_SCOPE_HANDLE,
	 .value = rp_prom_handle,
	 .id = 5},
};
#define RP_PROM_HANDLE_FAMILIES                                                                    \
	(sizeof(rp_prom_handle_families) / sizeof(rp_prom_handle_families[0]))

static bool rp_prom_group(const struct rp_prom_family *f, const struct rp_prom_proc *p,
			  uint32_t item, struct rp_prom_value *v)
{
	const struct rp_prom_group *g = &p->groups[item];

	switch (f->id) {
	case 0:
		return rp_prom_uint(v, g->threads);
	case 1:
		return rp_prom_uint(v, g->alive);
	default:
		return rp_prom_uint(v, g->heap_live_bytes);
	}
}

static const struct rp_prom_family rp_prom_group_families[] = {
	{.name = "leak_group_threads",
	 .type = "gauge",
	 .help = "Threads of a leak group (one creation stack) with its verdict: leaked (alive when the "
		 "process ended), stuck (old, in a growing or oversized group) or unjoined; the largest "
		 "groups of each process only",
	 .scope = RP_SCOPE_GROUP,
	 .value = rp_prom_group,
	 .id = 0},
	{.name = "leak_group_alive_threads",
	 .type = "gauge",
	 .help = "Threads of the leak group alive now",
	 .scope = RP_SCOPE_GROUP,
	 .value = rp_prom_group,
	 .id = 1},
	{.name = "leak_group_heap_live_bytes",
	 .type = "gauge",
	 .help = "Heap the leak group's threads allocated and did not free",
	 .scope = RP_SCOPE_GROUP,
	 .value = rp_prom_group,
	 .id = 2},
};
#define RP_PROM_GROUP_FAMILIES (sizeof(rp_prom_group_families) / sizeof(rp_prom_group_families[0]))

/*
 * Every family, in the order of the exposition: the process's own, its
 * settings, its counters, its handles', its leak groups'. Built once: the
 * generated names and helps live here.
 */
#define RP_PROM_FAMILIES_MAX                                                                       \
	(RP_PROM_PROC_FAMILIES + RP_PROM_CONFIGS + RF_STAT__COUNT + RP_PROM_HANDLE_FAMILIES +      \
	 RP_PROM_GROUP_FAMILIES)
static struct rp_prom_family rp_prom_families[RP_PROM_FAMILIES_MAX];
static pthread_once_t rp_prom_families_once = PTHREAD_ONCE_INIT;

static void rp_prom_families_init(void)
{
	static const char *const suffix[] = {
		[RF_CONFIG_TYPE_SIZE] = "_bytes",
		[RF_CONFIG_TYPE_DURATION] = "_seconds",
		[RF_CONFIG_TYPE_COUNT] = "",
		[RF_CONFIG_TYPE_BOOL] = "",
	};
	struct rp_prom_family *f = rp_prom_families;

	for (unsigned i = 0; i < RP_PROM_PROC_FAMILIES; i++)
		*f++ = rp_prom_proc_families[i];
	for (unsigned i = 0; i < RP_PROM_CONFIGS; i++, f++) {
		*f = (struct rp_prom_family){
			.type = "gauge", .scope = RP_SCOPE_PROC, .value = rp_prom_config, .id = i};
		snprintf(f->name_buf, sizeof(f->name_buf), "config_%s%s", rp_prom_configs[i].name,
			 suffix[rp_prom_configs[i].type]);
		snprintf(f->help_buf, sizeof(f->help_buf), "%s (%s)", rp_prom_configs[i].help,
			 rp_prom_configs[i].env);
		f->name = f->name_buf;
		f->help = f->help_buf;
	}
	for (unsigned i = 0; i < RF_STAT__COUNT; i++, f++) {
		const struct rp_stat_info *info = &rp_stats_info[i];

		*f = (struct rp_prom_family){
			.name = rp_stat_prom_name((enum rf_stat)i),
			.type = info->type == RF_STAT_TYPE_COUNTER ? "counter" : "gauge",
			.help = info->help,
			.scope = RP_SCOPE_PROC,
			.value = rp_prom_stat,
			.id = i,
		};
		/* The help of a time names no unit (rf_shm.h): Prometheus shows seconds. */
		if (info->unit == RF_STAT_UNIT_NS) {
			snprintf(f->help_buf, sizeof(f->help_buf), "%s (seconds)", info->help);
			f->help = f->help_buf;
		}
	}
	for (unsigned i = 0; i < RP_PROM_HANDLE_FAMILIES; i++)
		*f++ = rp_prom_handle_families[i];
	for (unsigned i = 0; i < RP_PROM_GROUP_FAMILIES; i++)
		*f++ = rp_prom_group_families[i];
}

/* Family f of the exposition; NULL past the last. */
static const struct rp_prom_family *rp_prom_family_get(unsigned f)
{
	pthread_once(&rp_prom_families_once, rp_prom_families_init);
	return f < RP_PROM_FAMILIES_MAX ? &rp_prom_families[f] : NULL;
}

/* ---- writing ------------------------------------------------------------ */

static uint32_t rp_prom_items(const struct rp_prom_family *f, const struct rp_prom_proc *p)
{
	switch (f->scope) {
	case RP_SCOPE_STATE:
		return RP_PROM_STATES;
	case RP_SCOPE_HANDLE:
		return p->nhandles;
	case RP_SCOPE_GROUP:
		return p->ngroups;
	default:
		return 1;
	}
}

static void rp_prom_value_print(FILE *out, const struct rp_prom_value *v)
{
	switch (v->kind) {
	case RP_VALUE_UINT:
		fprintf(out, "%" PRIu64, v->u);
		break;
	case RP_VALUE_INT:
		fprintf(out, "%" PRId64, v->i);
		break;
	case RP_VALUE_NS:
		rp_prom_seconds(out, v->i);
		break;
	}
}

static void rp_prom_sample_print(FILE *out, const struct rp_prom_family *f,
				 const struct rp_prom_proc *p, uint32_t item,
				 const struct rp_prom_value *v)
{
	fprintf(out, "ringfence_%s{pid=\"%d\",comm=\"", f->name, (int)p->pid);
	rp_prom_label(out, p->comm);
	fputc('"', out);
	switch (f->scope) {
	case RP_SCOPE_PROC:
		break;
	case RP_SCOPE_STATE:
		fprintf(out, ",state=\"%s\"", rp_state_name(rp_prom_states[item]));
		break;
	case RP_SCOPE_INFO:
		fputs(",version=\"", out);
		rp_prom_label(out, p->shim_version);
		fprintf(out, "\",policy=\"%s\"", rf_policy_name(p->config.policy));
		break;
	case RP_SCOPE_HANDLE:
		fputs(",handle=\"", out);
		rp_prom_label(out, p->handles[item].name);
		fputs("\",client_id=\"", out);
		rp_prom_label(out, p->handles[item].client_id);
		fputc('"', out);
		break;
	case RP_SCOPE_GROUP:
		fprintf(out, ",group=\"%" PRIu32 "\",verdict=\"%s\",start_routine=\"",
			p->groups[item].index, rf_thread_class_name(p->groups[item].cls));
		rp_prom_label(out, p->groups[item].start_routine);
		fputs("\",thread_name=\"", out);
		rp_prom_label(out, p->groups[item].thread_name);
		fputc('"', out);
		break;
	}
	fputs("} ", out);
	rp_prom_value_print(out, v);
	fputc('\n', out);
}

bool rp_prom_next(FILE *out, const struct rp_prom_proc *procs, size_t count,
		  struct rp_prom_cursor *c)
{
	const struct rp_prom_family *f;

	while ((f = rp_prom_family_get(c->family)) != NULL) {
		for (; c->proc < count; c->proc++, c->item = 0) {
			const struct rp_prom_proc *p = &procs[c->proc];
			uint32_t items = rp_prom_items(f, p);

			while (c->item < items) {
				struct rp_prom_value v;
				uint32_t item = c->item++;

				if (!f->value(f, p, item, &v))
					continue;
				if (!c->opened)
					rp_prom_family(out, f->name, "", f->type, f->help);
				c->opened = true;
				rp_prom_sample_print(out, f, p, item, &v);
				return true;
			}
		}
		*c = (struct rp_prom_cursor){.family = c->family + 1};
	}
	return false;
}

void rp_prom_print(FILE *out, const struct rp_prom_proc *procs, size_t count)
{
	struct rp_prom_cursor c = {0};

	while (rp_prom_next(out, procs, count, &c))
		;
}

void rp_stat_print_prometheus(FILE *out, const struct rp_snapshot *snaps, size_t count)
{
	struct rp_prom_proc *procs = calloc(count ? count : 1, sizeof(*procs));
	size_t n = 0;

	if (procs == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		if (rp_prom_proc_take(&snaps[i], RP_PROM_GROUPS_DEFAULT, &procs[n]) == 0)
			n++;
	rp_prom_print(out, procs, n);
	for (size_t i = 0; i < n; i++)
		rp_prom_proc_release(&procs[i]);
	free(procs);
}
