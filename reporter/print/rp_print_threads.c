/*
 * rp_print_threads.c - the thread report of `threads` and `check`, in text
 * and JSON.
 */
#include "rp_print_threads.h"

#include <inttypes.h>
#include <string.h>

#include "rp_format.h"

static const char *rp_syscall_name(int32_t nr)
{
	static const struct {
		int nr;
		const char *name;
	} names[] = {
		{0, "read"},
		{1, "write"},
		{7, "poll"},
		{23, "select"},
		{24, "sched_yield"},
		{34, "pause"},
		{35, "nanosleep"},
		{42, "connect"},
		{43, "accept"},
		{45, "recvfrom"},
		{47, "recvmsg"},
		{61, "wait4"},
		{128, "rt_sigtimedwait"},
		{130, "rt_sigsuspend"},
		{202, "futex"},
		{230, "clock_nanosleep"},
		{232, "epoll_wait"},
		{270, "pselect6"},
		{271, "ppoll"},
		{281, "epoll_pwait"},
		{288, "accept4"},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].nr == nr)
			return names[i].name;
	return NULL;
}

static const char *rp_state_word(uint32_t state)
{
	switch (state) {
	case 'R':
		return "running";
	case 'S':
		return "sleeping";
	case 'D':
		return "disk sleep";
	case 'T':
		return "stopped";
	case 't':
		return "traced";
	case 'Z':
		return "zombie";
	default:
		return "unknown";
	}
}

static const char *rp_sample_status_name(uint32_t status)
{
	static const char *const names[] = {
		[RF_SHM_SAMPLE_NONE] = "none",       [RF_SHM_SAMPLE_OK] = "ok",
		[RF_SHM_SAMPLE_BLOCKED] = "blocked", [RF_SHM_SAMPLE_TIMEOUT] = "timeout",
		[RF_SHM_SAMPLE_GONE] = "gone",       [RF_SHM_SAMPLE_DISABLED] = "disabled",
	};

	return status < sizeof(names) / sizeof(names[0]) ? names[status] : "unknown";
}

static const char *rp_class_name(enum rf_thread_class cls)
{
	return cls == RF_THREAD_CLASS__COUNT ? "finished" : rf_thread_class_name(cls);
}

static const char *rp_end_name(uint32_t end)
{
	static const char *const names[] = {"running", "returned", "exited", "cancelled"};

	return end < 4 ? names[end] : "unknown";
}

/* The longest rp_state_describe: letter, word, wait channel and syscall. */
#define RP_STATE_TEXT_MAX (RP_SANITIZED_MAX(1) + RP_SANITIZED_MAX(RF_SHM_WCHAN_MAX) + 96)

/*
 * "S (sleeping) in futex_wait_queue, syscall futex" into buf. The letter is
 * a byte of the segment like any string there: an escape shows as \x1b.
 */
static void rp_state_describe(const struct rp_group_view *v, char *buf, size_t len)
{
	char wchan[RP_SANITIZED_MAX(RF_SHM_WCHAN_MAX)], sys[48], letter[RP_SANITIZED_MAX(1)];
	const char *name = rp_syscall_name(v->syscall);

	rp_text_sanitize((const char[]){(char)v->state, '\0'}, 0, letter, sizeof(letter));
	rp_text_sanitize(v->wchan, 0, wchan, sizeof(wchan));
	if (v->syscall == -1)
		snprintf(sys, sizeof(sys), ", in user space");
	else if (v->syscall >= 0 && name)
		snprintf(sys, sizeof(sys), ", syscall %s", name);
	else if (v->syscall >= 0)
		snprintf(sys, sizeof(sys), ", syscall %" PRId32, v->syscall);
	else
		sys[0] = '\0';
	snprintf(buf, len, "%s (%s)%s%s%s", letter, rp_state_word(v->state), wchan[0] ? " in " : "",
		 wchan, sys);
}

/* The file name of f's module, sanitised; "" when f lies in no recorded module. */
static void rp_frame_module(const struct rp_frame *f, char *mod, size_t len)
{
	const char *base = strrchr(f->module, '/');

	rp_text_sanitize(base ? base + 1 : f->module, 0, mod, len);
}

static void rp_frame_text(FILE *out, int i, const struct rp_frame *f)
{
	char fn[RP_SANITIZED_MAX(512)], file[RP_SANITIZED_MAX(512)], mod[RP_SANITIZED_MAX(256)];

	rp_text_sanitize(f->function, 0, fn, sizeof(fn));
	rp_text_sanitize(f->file, 0, file, sizeof(file));
	rp_frame_module(f, mod, sizeof(mod));
	fprintf(out, "      #%-2d 0x%016" PRIx64 " ", i, f->pc);
	if (fn[0])
		fprintf(out, "%s+0x%" PRIx64, fn, f->offset);
	else if (mod[0])
		fprintf(out, "%s+0x%" PRIx64, mod, f->module_offset);
	else
		fputs("?", out);
	if (file[0])
		fprintf(out, "  %s:%d", file, f->line);
	if (mod[0])
		fprintf(out, "  (%s)", mod);
	fputc('\n', out);
}

static void rp_stack_text(FILE *out, struct rp_symbols *syms, const uint64_t *frames, uint32_t n,
			  bool first_is_pc)
{
	struct rp_frame f;

	for (uint32_t i = 0; i < n && i < RF_SHM_THREAD_FRAMES; i++) {
		rp_symbols_lookup(syms, frames[i], !(first_is_pc && i == 0), &f);
		rp_frame_text(out, (int)i, &f);
	}
}

static void rp_age_text(int64_t ns, char *buf, size_t len)
{
	rp_age_format(ns, 0, buf, len);
}

static void rp_group_text(FILE *out, const struct rp_threads *t, const struct rp_group_view *v,
			  struct rp_symbols *syms, int n)
{
	const struct rf_shm_thread_group *g = v->g;
	char a[32], b[32], state[RP_STATE_TEXT_MAX], name[RP_SANITIZED_MAX(RF_SHM_THREAD_NAME_MAX)];
	struct rp_frame start;

	fprintf(out, "#%d  %" PRIu64 " thread%s %s", n, v->count, v->count == 1 ? "" : "s",
		rp_class_name(v->cls));
	for (int c = 0; c < RF_THREAD_CLASS__COUNT; c++)
		if (v->counts[c] > 0 && c != (int)v->cls)
			fprintf(out, ", %" PRIu64 " %s", v->counts[c], rf_thread_class_name(c));
	fputc('\n', out);
	fprintf(out,
		"    alive %" PRIu64 ", unjoined %" PRIu64 ", created %" PRIu64 ", exited %" PRIu64
		", most alive %" PRIu64 ", growth %" PRIu64 "\n",
		g->alive, g->unjoined, g->created, g->exited, g->alive_max, g->growth);
	if (rp_snapshot_has_stat(t->snap, RF_STAT_heap_interposed) &&
	    t->snap->stats[RF_STAT_heap_interposed])
		fprintf(out,
			"    heap %" PRIu64 " bytes live (allocated by its threads, not freed)\n",
			g->heap_live_bytes);
	if (v->age_min >= 0) {
		rp_age_text(v->age_min, a, sizeof(a));
		rp_age_text(v->age_max, b, sizeof(b));
		fprintf(out, "    age %s to %s\n", a, b);
	}
	if (v->state != 0) {
		rp_state_describe(v, state, sizeof(state));
		if (v->state_for >= 0) {
			rp_age_text(v->state_for, a, sizeof(a));
			fprintf(out, "    state [%s, %s] (%" PRIu64 " of its threads)\n", state, a,
				v->state_threads);
		} else {
			fprintf(out, "    state [%s] (%" PRIu64 " of its threads)\n", state,
				v->state_threads);
		}
	}
	rp_symbols_lookup(syms, g->start_routine, false, &start);
	if (start.function[0] == '\0' && g->start_name[0] != '\0')
		rp_symbols_demangle(g->start_name, start.function, sizeof(start.function));
	rp_text_sanitize(v->name, 0, name, sizeof(name));
	fprintf(out, "    start routine ");
	if (start.function[0]) {
		char fn[RP_SANITIZED_MAX(512)];
		rp_text_sanitize(start.function, 0, fn, sizeof(fn));
		fprintf(out, "%s", fn);
	} else if (start.module[0]) {
		/* A function its file does not name (static, in a stripped library). */
		char mod[RP_SANITIZED_MAX(256)];
		rp_frame_module(&start, mod, sizeof(mod));
		fprintf(out, "%s+0x%" PRIx64, mod, start.module_offset);
	} else {
		fprintf(out, "0x%" PRIx64, g->start_routine);
	}
	if (name[0])
		fprintf(out, ", thread name \"%s\"", name);
	fputc('\n', out);
	if (g->flags & RF_SHM_GROUP_OVERFLOW) {
		fprintf(out, "    (the group table was full: threads of many creation stacks)\n");
	} else {
		fprintf(out, "    created at:\n");
		rp_stack_text(out, syms, g->frames, g->nframes, false);
	}
	if (v->sample != NULL && v->sample->status == RF_SHM_SAMPLE_OK) {
		rp_age_format(t->now, v->sample->taken_ns, a, sizeof(a));
		fprintf(out, "    now (tid %" PRId32 ", sampled %s ago):\n", v->sample->tid, a);
		rp_stack_text(out, syms, v->sample->frames, v->sample->nframes, true);
	} else if (v->sample != NULL) {
		fprintf(out, "    now: no sample (%s)\n", rp_sample_status_name(v->sample->status));
	}
}

/*
 * Counters are only appended to RF_STATS, so a segment that has
 * heap_interposed has the heap counters before it: the heap line checks one.
 */
_Static_assert(RF_STAT_heap_live_bytes < RF_STAT_heap_interposed &&
		       RF_STAT_heap_live_peak_bytes < RF_STAT_heap_interposed &&
		       RF_STAT_heap_unattributed_bytes < RF_STAT_heap_interposed,
	       "the heap line assumes its counters come before heap_interposed");

/* The process's heap, or nothing when an older writer's segment lacks it. */
static void rp_heap_text(FILE *out, const struct rp_snapshot *snap)
{
	if (!rp_snapshot_has_stat(snap, RF_STAT_heap_interposed))
		return;
	if (snap->stats[RF_STAT_heap_interposed])
		fprintf(out,
			"heap: %" PRIu64 " bytes live (peak %" PRIu64 "), %" PRIu64
			" outside the groups (main thread, untracked threads)\n",
			snap->stats[RF_STAT_heap_live_bytes],
			snap->stats[RF_STAT_heap_live_peak_bytes],
			snap->stats[RF_STAT_heap_unattributed_bytes]);
	else
		fprintf(out, "heap: not accounted (another allocator's malloc comes first)\n");
}

void rp_threads_print_text(FILE *out, const struct rp_threads *t, struct rp_symbols *syms,
			   bool leaks_only)
{
	const struct rp_snapshot *snap = t->snap;
	char cmd[RP_SANITIZED_MAX(RF_SHM_CMDLINE_MAX)], state[32], age[32];
	uint64_t nleak = 0;
	int n = 0;

	rp_text_sanitize(snap->hdr.cmdline, 0, cmd, sizeof(cmd));
	rp_state_label(&snap->live, &snap->hdr, state, sizeof(state));
	rp_age_text((int64_t)t->rules.age_ns, age, sizeof(age));
	fprintf(out, "pid %d (%s) %s\n", (int)snap->pid, state, cmd);
	fprintf(out, "rules: %s (RINGFENCE_THREAD_AGE %s, RINGFENCE_THREAD_GROUP %" PRIu64 ")\n",
		t->at_exit ? "at exit: every thread alive at the end is leaked"
			   : "running: stuck = older than the age, in a growing or oversized group",
		age, t->rules.group_max);
	fprintf(out,
		"threads: %" PRIu64 " listed: %" PRIu64 " leaked, %" PRIu64 " stuck, %" PRIu64
		" unjoined, %" PRIu64 " running, %" PRIu64 " library, %" PRIu64 " ignored",
		t->nthreads, t->totals[RF_THREAD_CLASS_LEAKED], t->totals[RF_THREAD_CLASS_STUCK],
		t->totals[RF_THREAD_CLASS_UNJOINED], t->totals[RF_THREAD_CLASS_RUNNING],
		t->totals[RF_THREAD_CLASS_LIBRARY], t->totals[RF_THREAD_CLASS_IGNORED]);
	/* Counters an older writer's segment lacks are left out, not shown as 0. */
	if (rp_snapshot_has_stat(snap, RF_STAT_threads_created))
		fprintf(out, "; created %" PRIu64, snap->stats[RF_STAT_threads_created]);
	if (rp_snapshot_has_stat(snap, RF_STAT_threads_exited))
		fprintf(out, "%sexited %" PRIu64,
			rp_snapshot_has_stat(snap, RF_STAT_threads_created) ? ", " : "; ",
			snap->stats[RF_STAT_threads_exited]);
	fputc('\n', out);
	if (t->info != NULL && t->info->threads_total > t->nthreads)
		fprintf(out, "(%" PRIu64 " threads tracked, the first %" PRIu64 " listed)\n",
			t->info->threads_total, t->nthreads);
	rp_heap_text(out, snap);
	if (t->sample_note != NULL)
		fprintf(out, "current stacks: %s\n", t->sample_note);
	for (uint64_t i = 0; i < t->ngroups; i++)
		nleak += t->groups[i].leak;
	fprintf(out, "\n%s (%" PRIu64 ")\n", "LEAK GROUPS", nleak);
	if (nleak == 0)
		fprintf(out, "none\n");
	for (uint64_t i = 0; i < t->ngroups; i++) {
		if (!t->groups[i].leak)
			continue;
		fputc('\n', out);
		rp_group_text(out, t, &t->groups[i], syms, ++n);
	}
	if (leaks_only)
		return;
	fprintf(out, "\nOTHER GROUPS (%" PRIu64 ")\n", t->ngroups - nleak);
	for (uint64_t i = 0; i < t->ngroups; i++) {
		if (t->groups[i].leak)
			continue;
		fputc('\n', out);
		rp_group_text(out, t, &t->groups[i], syms, ++n);
	}
}

static void rp_frame_json(FILE *out, const struct rp_frame *f)
{
	fprintf(out, "{\"pc\": \"0x%" PRIx64 "\", \"function\": ", f->pc);
	if (f->function[0])
		rp_json_string(out, f->function);
	else
		fputs("null", out);
	fprintf(out, ", \"offset\": %" PRIu64 ", \"file\": ", f->offset);
	if (f->file[0])
		rp_json_string(out, f->file);
	else
		fputs("null", out);
	fprintf(out, ", \"line\": %d, \"module\": ", f->line);
	if (f->module[0])
		rp_json_string(out, f->module);
	else
		fputs("null", out);
	fprintf(out, ", \"module_offset\": %" PRIu64 "}", f->module_offset);
}

static void rp_stack_json(FILE *out, struct rp_symbols *syms, const uint64_t *frames, uint32_t n,
			  bool first_is_pc)
{
	struct rp_frame f;

	fputc('[', out);
	for (uint32_t i = 0; i < n && i < RF_SHM_THREAD_FRAMES; i++) {
		fputs(i ? ", " : "", out);
		rp_symbols_lookup(syms, frames[i], !(first_is_pc && i == 0), &f);
		rp_frame_json(out, &f);
	}
	fputc(']', out);
}

static void rp_group_json(FILE *out, const struct rp_threads *t, const struct rp_group_view *v,
			  struct rp_symbols *syms)
{
	const struct rf_shm_thread_group *g = v->g;
	struct rp_frame start;
	const char *sep = "";

	fputs("    {\"class\": ", out);
	rp_json_string(out, rp_class_name(v->cls));
	fprintf(out, ", \"leak\": %s, \"count\": %" PRIu64 ", \"classes\": {",
		v->leak ? "true" : "false", v->count);
	for (int c = 0; c < RF_THREAD_CLASS__COUNT; c++) {
		fprintf(out, "%s\"%s\": %" PRIu64, sep, rf_thread_class_name(c), v->counts[c]);
		sep = ", ";
	}
	fprintf(out,
		"}, \"alive\": %" PRIu64 ", \"unjoined\": %" PRIu64 ", \"created\": %" PRIu64
		", \"exited\": %" PRIu64 ", \"alive_max\": %" PRIu64 ", \"growth\": %" PRIu64
		", \"heap_live_bytes\": %" PRIu64,
		g->alive, g->unjoined, g->created, g->exited, g->alive_max, g->growth,
		g->heap_live_bytes);
	if (v->age_min >= 0)
		fprintf(out, ", \"age_min_ns\": %" PRId64 ", \"age_max_ns\": %" PRId64, v->age_min,
			v->age_max);
	else
		fputs(", \"age_min_ns\": null, \"age_max_ns\": null", out);
	fputs(", \"state\": ", out);
	if (v->state != 0) {
		char st[2] = {(char)v->state, '\0'};
		const char *name = rp_syscall_name(v->syscall);

		fputs("{\"state\": ", out);
		rp_json_string(out, st);
		fputs(", \"wchan\": ", out);
		rp_json_string(out, v->wchan);
		fprintf(out, ", \"syscall\": %" PRId32 ", \"syscall_name\": ", v->syscall);
		if (name)
			rp_json_string(out, name);
		else
			fputs("null", out);
		fprintf(out, ", \"threads\": %" PRIu64 ", \"for_ns\": ", v->state_threads);
		if (v->state_for >= 0)
			fprintf(out, "%" PRId64 "}", v->state_for);
		else
			fputs("null}", out);
	} else {
		fputs("null", out);
	}
	rp_symbols_lookup(syms, g->start_routine, false, &start);
	if (start.function[0] == '\0' && g->start_name[0] != '\0')
		rp_symbols_demangle(g->start_name, start.function, sizeof(start.function));
	fputs(", \"start_routine\": ", out);
	rp_frame_json(out, &start);
	fputs(", \"thread_name\": ", out);
	rp_json_string(out, v->name);
	fprintf(out, ", \"overflow\": %s, \"creation_stack\": ",
		(g->flags & RF_SHM_GROUP_OVERFLOW) ? "true" : "false");
	rp_stack_json(out, syms, g->frames, g->nframes, false);
	fputs(", \"sample\": ", out);
	if (v->sample != NULL) {
		fprintf(out, "{\"tid\": %" PRId32 ", \"status\": ", v->sample->tid);
		rp_json_string(out, rp_sample_status_name(v->sample->status));
		fputs(", \"frames\": ", out);
		rp_stack_json(out, syms, v->sample->frames,
			      v->sample->status == RF_SHM_SAMPLE_OK ? v->sample->nframes : 0, true);
		fputc('}', out);
	} else {
		fputs("null", out);
	}
	fputs(", \"threads\": [", out);
	sep = "";
	for (uint64_t i = 0; i < t->nthreads; i++) {
		const struct rf_shm_thread *th = &t->threads[i];
		char st[2] = {(char)th->state, '\0'};

		if (th->group != v->index)
			continue;
		fprintf(out,
			"%s{\"tid\": %" PRId32 ", \"creator_tid\": %" PRId32 ", \"name\": ", sep,
			th->tid, th->creator_tid);
		rp_json_string(out, th->name);
		fprintf(out,
			", \"age_ns\": %" PRId64 ", \"end\": ", rp_ns_since(t->now, th->create_ns));
		rp_json_string(out, rp_end_name(th->end));
		fprintf(out, ", \"detached\": %s, \"c11\": %s, \"state\": ",
			(th->flags & RF_SHM_THREAD_DETACHED) ? "true" : "false",
			(th->flags & RF_SHM_THREAD_C11) ? "true" : "false");
		if (th->state)
			rp_json_string(out, st);
		else
			fputs("null", out);
		fputs(", \"wchan\": ", out);
		rp_json_string(out, th->wchan);
		fprintf(out, ", \"syscall\": %" PRId32 "}", th->syscall);
		sep = ", ";
	}
	fputs("]}", out);
}

/*
 * "key": value of counter stat in a JSON object, after *sep, when snap has
 * it: an older writer's segment lacks the newest counters, and a key that
 * cannot be filled is left out rather than shown as 0.
 */
static void rp_counter_json(FILE *out, const struct rp_snapshot *snap, enum rf_stat stat,
			    const char *key, bool boolean, const char **sep)
{
	if (!rp_snapshot_has_stat(snap, stat))
		return;
	fprintf(out, "%s\"%s\": ", *sep, key);
	if (boolean)
		fputs(snap->stats[stat] ? "true" : "false", out);
	else
		fprintf(out, "%" PRIu64, snap->stats[stat]);
	*sep = ", ";
}

void rp_threads_print_json(FILE *out, const struct rp_threads *t, struct rp_symbols *syms,
			   bool leaks_only)
{
	const struct rp_snapshot *snap = t->snap;
	const char *sep = "";

	fprintf(out, "{\n  \"pid\": %d,\n  \"state\": ", (int)snap->pid);
	rp_json_string(out, rp_state_name(snap->live.state));
	fputs(",\n  \"command\": ", out);
	rp_json_string(out, snap->hdr.cmdline);
	fprintf(out,
		",\n  \"rule\": \"%s\",\n  \"thread_age_ns\": %" PRIu64
		",\n  \"thread_group\": %" PRIu64 ",\n  \"totals\": {",
		t->at_exit ? "at-exit" : "running", t->rules.age_ns, t->rules.group_max);
	for (int c = 0; c < RF_THREAD_CLASS__COUNT; c++) {
		fprintf(out, "%s\"%s\": %" PRIu64, sep, rf_thread_class_name(c), t->totals[c]);
		sep = ", ";
	}
	fprintf(out, ", \"listed\": %" PRIu64 ", \"tracked\": %" PRIu64 "},\n", t->nthreads,
		t->info ? t->info->threads_total : t->nthreads);
	fputs("  \"counters\": {", out);
	sep = "";
	rp_counter_json(out, snap, RF_STAT_threads_created, "created", false, &sep);
	rp_counter_json(out, snap, RF_STAT_threads_exited, "exited", false, &sep);
	rp_counter_json(out, snap, RF_STAT_threads_alive, "alive", false, &sep);
	rp_counter_json(out, snap, RF_STAT_threads_unjoined, "unjoined", false, &sep);
	rp_counter_json(out, snap, RF_STAT_threads_suspect, "suspect", false, &sep);
	rp_counter_json(out, snap, RF_STAT_threads_untracked, "untracked", false, &sep);
	fputs("},\n  \"heap\": {", out);
	sep = "";
	rp_counter_json(out, snap, RF_STAT_heap_interposed, "interposed", true, &sep);
	rp_counter_json(out, snap, RF_STAT_heap_live_bytes, "live_bytes", false, &sep);
	rp_counter_json(out, snap, RF_STAT_heap_live_peak_bytes, "peak_bytes", false, &sep);
	rp_counter_json(out, snap, RF_STAT_heap_unattributed_bytes, "unattributed_bytes", false,
			&sep);
	fputs("},\n", out);
	fprintf(out, "  \"sample\": {\"requested\": %s, \"answered\": %s, \"note\": ",
		t->sample_requested ? "true" : "false",
		t->sample_requested && t->sample_note == NULL ? "true" : "false");
	if (t->sample_note)
		rp_json_string(out, t->sample_note);
	else
		fputs("null", out);
	fprintf(out, ", \"signal\": %u},\n  \"groups\": [", t->info ? t->info->sample_signal : 0);
	sep = "\n";
	for (uint64_t i = 0; i < t->ngroups; i++) {
		if (leaks_only && !t->groups[i].leak)
			continue;
		fputs(sep, out);
		rp_group_json(out, t, &t->groups[i], syms);
		sep = ",\n";
	}
	fputs("\n  ]\n}\n", out);
}
