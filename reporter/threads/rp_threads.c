/*
 * rp_threads.c - the verdict on every thread of a snapshot, and its groups.
 */
#include "rp_threads.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rp_format.h"
#include "rf_time.h"

static bool rp_same_state(const struct rp_group_view *v, const struct rf_shm_thread *t)
{
	return v->state == t->state && v->syscall == t->syscall && strcmp(v->wchan, t->wchan) == 0;
}

/* Leaks first, then more threads first, then more created first. */
static int rp_group_cmp(const void *a, const void *b)
{
	const struct rp_group_view *x = a, *y = b;

	if (x->leak != y->leak)
		return x->leak ? -1 : 1;
	if (x->leak && x->cls != y->cls)
		return x->cls < y->cls ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->g->created != y->g->created)
		return x->g->created > y->g->created ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

int rp_threads_analyse(const struct rp_snapshot *snap, const struct rp_threads_options *opts,
		       struct rp_threads *out)
{
	const struct rf_shm_thread_group *groups;
	uint64_t count;

	memset(out, 0, sizeof(*out));
	out->snap = snap;
	out->info = rp_snapshot_table(snap, RF_SHM_SECTION_THREAD_INFO, &count);
	if (count == 0)
		out->info = NULL;
	groups = rp_snapshot_table(snap, RF_SHM_SECTION_THREAD_GROUPS, &out->ngroups);
	out->threads = rp_snapshot_table(snap, RF_SHM_SECTION_THREADS, &out->nthreads);
	out->samples = rp_snapshot_table(snap, RF_SHM_SECTION_THREAD_SAMPLES, &out->nsamples);
	out->at_exit = snap->live.state != RP_STATE_ALIVE;
	out->now = out->at_exit ? snap->hdr.publish_monotonic_ns : rf_clock_ns(CLOCK_MONOTONIC);
	out->rules.age_ns = snap->hdr.config.thread_age;
	out->rules.group_max = snap->hdr.config.thread_group;
	out->rules.ignore = snap->hdr.config.thread_ignore;
	out->rules.ignore_more = opts ? opts->ignore : NULL;
	out->rules.at_exit = out->at_exit;
	out->groups = calloc(out->ngroups ? out->ngroups : 1, sizeof(*out->groups));
	if (out->groups == NULL)
		return -ENOMEM;
	for (uint64_t i = 0; i < out->ngroups; i++) {
		struct rp_group_view *v = &out->groups[i];
		v->index = (uint32_t)i;
		v->g = &groups[i];
		v->age_min = v->age_max = -1;
		v->state_for = -1;
		if (opts != NULL && opts->syms != NULL) {
			struct rp_frame f;
			rp_symbols_lookup(opts->syms, v->g->start_routine, false, &f);
			memcpy(v->start_name, f.function, sizeof(v->start_name));
			v->start_name[sizeof(v->start_name) - 1] = '\0';
			if (v->g->nframes > 0) {
				rp_symbols_lookup(opts->syms, v->g->frames[0], true, &f);
				memcpy(v->creator, f.function, sizeof(v->creator));
				v->creator[sizeof(v->creator) - 1] = '\0';
			}
		}
	}
	for (uint64_t i = 0; i < out->nthreads; i++) {
		const struct rf_shm_thread *t = &out->threads[i];
		struct rp_group_view *v = &out->groups[t->group]; /* validated: < ngroups */
		bool alive = !(t->flags & RF_SHM_THREAD_EXITED);
		int64_t age = rp_ns_since(out->now, t->create_ns);
		struct rf_thread_facts f = {
			.alive = alive,
			.detached = (t->flags & RF_SHM_THREAD_DETACHED) != 0,
			.age_ns = (uint64_t)age,
			.name = t->name,
			.start_name = v->g->start_name,
			.start_name2 = v->start_name,
			.creator = v->creator,
			.group_alive = v->g->alive,
			.group_growth = v->g->growth,
		};
		enum rf_thread_class cls = rf_thread_classify(&out->rules, &f);

		v->counts[cls]++;
		out->totals[cls]++;
		if (v->name[0] == '\0' && t->name[0] != '\0')
			memcpy(v->name, t->name, sizeof(v->name));
		if (!alive)
			continue;
		if (v->age_min < 0 || age < v->age_min)
			v->age_min = age;
		if (age > v->age_max)
			v->age_max = age;
		/* Majority vote for the group's usual state (Boyer-Moore). */
		if (t->state == 0)
			continue;
		if (v->state_threads == 0) {
			v->state = t->state;
			v->syscall = t->syscall;
			memcpy(v->wchan, t->wchan, sizeof(v->wchan));
			v->state_threads = 1;
		} else if (rp_same_state(v, t)) {
			v->state_threads++;
		} else {
			v->state_threads--;
		}
	}
	for (uint64_t i = 0; i < out->ngroups; i++)
		if (out->groups[i].state_threads > 0)
			out->groups[i].state_threads = 0;
		else
			out->groups[i].state = 0;
	for (uint64_t i = 0; i < out->nthreads; i++) {
		const struct rf_shm_thread *t = &out->threads[i];
		struct rp_group_view *v = &out->groups[t->group];

		if ((t->flags & RF_SHM_THREAD_EXITED) || v->state == 0 || !rp_same_state(v, t))
			continue;
		v->state_threads++;
		int64_t state_for = rp_ns_since(out->now, t->state_since_ns);
		if (t->state_since_ns > 0 && state_for > v->state_for)
			v->state_for = state_for;
	}
	for (uint64_t i = 0; i < out->nsamples; i++) {
		struct rp_group_view *v = &out->groups[out->samples[i].group];
		if (v->sample == NULL)
			v->sample = &out->samples[i];
	}
	for (uint64_t i = 0; i < out->ngroups; i++) {
		struct rp_group_view *v = &out->groups[i];
		v->cls = RF_THREAD_CLASS__COUNT; /* none listed: every thread finished */
		for (int c = 0; c < RF_THREAD_CLASS__COUNT; c++)
			if (v->counts[c] > 0) {
				v->cls = (enum rf_thread_class)c;
				v->count = v->counts[c];
				break;
			}
		v->leak = v->cls != RF_THREAD_CLASS__COUNT && rf_thread_class_is_leak(v->cls);
		/* None listed with a name (all finished, say): the group's own,
		 * checked to be terminated. */
		if (v->name[0] == '\0')
			memcpy(v->name, v->g->thread_name, sizeof(v->name));
	}
	qsort(out->groups, out->ngroups, sizeof(out->groups[0]), rp_group_cmp);
	return 0;
}

void rp_threads_release(struct rp_threads *t)
{
	free(t->groups);
	t->groups = NULL;
}

uint64_t rp_threads_leaked(const struct rp_threads *t)
{
	return t->totals[RF_THREAD_CLASS_LEAKED] + t->totals[RF_THREAD_CLASS_STUCK];
}

struct rp_symbols *rp_threads_symbols_open(const struct rp_snapshot *snap)
{
	uint64_t n;
	const struct rf_shm_module *mods = rp_snapshot_table(snap, RF_SHM_SECTION_MODULES, &n);

	return rp_symbols_open(mods, (size_t)n);
}
