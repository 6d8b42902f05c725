/*
 * rp_go_group.c - goroutines grouped by creation site and start function,
 * judged with the thread rules.
 */
#define _GNU_SOURCE
#include "rp_go_group.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool rp_go_start_is_system(const char *start, bool fing_running)
{
	if (start == NULL || strncmp(start, "runtime.", 8) != 0)
		return false;
	if (strcmp(start, "runtime.main") == 0)
		return false;
	if (strcmp(start, "runtime.runfinq") == 0)
		return !fing_running;
	return true;
}

const char *rp_go_kind_name(enum rp_go_kind kind)
{
	switch (kind) {
	case RP_GO_KIND_RUNTIME:
		return "runtime";
	case RP_GO_KIND_LIBRARY:
		return "library";
	default:
		return "program";
	}
}

static enum rp_go_kind rp_go_kind_of(const char *start, bool fing_running)
{
	if (rp_go_start_is_system(start, fing_running))
		return RP_GO_KIND_RUNTIME;
	if (rf_pattern_list_match(RP_GO_LIBRARY_LOOPS, start))
		return RP_GO_KIND_LIBRARY;
	return RP_GO_KIND_PROGRAM;
}

/* ---- a small hash map from a 64-bit key to an index ------------------------ */

struct rp_go_map {
	uint64_t *keys;
	uint32_t *vals; /* index + 1; 0 is an empty slot */
	size_t mask;
};

/* Room for entries at most half full, so it never fills. */
static int rp_go_map_init(struct rp_go_map *m, uint64_t entries)
{
	size_t n = 16;

	while (n < entries * 2 + 2)
		n *= 2;
	m->keys = calloc(n, sizeof(*m->keys));
	m->vals = calloc(n, sizeof(*m->vals));
	m->mask = n - 1;
	return m->keys && m->vals ? 0 : -ENOMEM;
}

static void rp_go_map_free(struct rp_go_map *m)
{
	free(m->keys);
	free(m->vals);
}

static uint64_t rp_go_mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

/* The slot of key: the one holding it, or the empty one where it goes. */
static size_t rp_go_map_slot(const struct rp_go_map *m, uint64_t key)
{
	size_t i = rp_go_mix(key) & m->mask;

	while (m->vals[i] != 0 && m->keys[i] != key)
		i = (i + 1) & m->mask;
	return i;
}

/* ---- creation sites ---------------------------------------------------------- */

/* One (gopc, startpc) pair of a sample, before pairs are merged by their symbols. */
struct rp_go_pair {
	uint64_t gopc, startpc;
	struct rp_go_loc created;
	const char *start;
	uint32_t group;
};

static int rp_go_key_cmp(const struct rp_go_loc *ca, const char *sa, const struct rp_go_loc *cb,
			 const char *sb)
{
	int c = strcmp(ca->function, cb->function);

	if (c == 0)
		c = strcmp(ca->file, cb->file);
	if (c == 0)
		c = ca->line < cb->line ? -1 : ca->line > cb->line;
	if (c == 0)
		c = strcmp(sa, sb);
	return c;
}

static int rp_go_pair_cmp(const void *a, const void *b)
{
	const struct rp_go_pair *x = *(const struct rp_go_pair *const *)a;
	const struct rp_go_pair *y = *(const struct rp_go_pair *const *)b;

	return rp_go_key_cmp(&x->created, x->start, &y->created, y->start);
}

/*
 * The distinct (gopc, startpc) pairs of s, each symbolised once; pair_of[i]
 * is goroutine i's pair. Pairs whose hashes collide are told apart by
 * probing on.
 */
static int rp_go_pairs_collect(struct rp_go_symbols *syms, const struct rp_go_sample *s,
			       struct rp_go_pair **out, uint64_t *nout, uint32_t *pair_of)
{
	struct rp_go_pair *pairs = calloc(s->count ? s->count : 1, sizeof(*pairs));
	struct rp_go_map m;
	uint64_t n = 0;

	if (pairs == NULL || rp_go_map_init(&m, s->count) < 0) {
		free(pairs);
		return -ENOMEM;
	}
	for (uint64_t i = 0; i < s->count; i++) {
		const struct rp_go_goroutine *g = &s->g[i];
		uint64_t key = rp_go_mix(g->gopc) ^ (g->startpc * 0x9e3779b97f4a7c15ULL);
		size_t slot = rp_go_mix(key) & m.mask;

		while (m.vals[slot] != 0 &&
		       (m.keys[slot] != key || pairs[m.vals[slot] - 1].gopc != g->gopc ||
			pairs[m.vals[slot] - 1].startpc != g->startpc))
			slot = (slot + 1) & m.mask;
		if (m.vals[slot] == 0) {
			const struct rp_go_pcinfo *c = rp_go_symbols_lookup(syms, g->gopc, true);

			/* The go statement's own function (innermost, if it was inlined),
			 * and the function the goroutine starts in (through a go wrapper). */
			pairs[n] =
				(struct rp_go_pair){.gopc = g->gopc,
						    .startpc = g->startpc,
						    .created = c->locs[0],
						    .start = rp_go_symbols_start(syms, g->startpc)};
			m.keys[slot] = key;
			m.vals[slot] = (uint32_t)(++n);
		}
		pair_of[i] = m.vals[slot] - 1;
	}
	rp_go_map_free(&m);
	*out = pairs;
	*nout = n;
	return 0;
}

/* The group of a creation site and start function, by binary search of the sorted groups. */
static struct rp_go_group *rp_go_group_find(struct rp_go_report *r, const struct rp_go_pair *p)
{
	uint64_t lo = 0, hi = r->ngroups;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		struct rp_go_group *g = &r->groups[mid];
		int c = rp_go_key_cmp(&p->created, p->start, &g->created, g->start);

		if (c == 0)
			return g;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Add the first sample's counts to the groups of now (sorted by key at this point). */
static int rp_go_before_count(struct rp_go_symbols *syms, struct rp_go_report *r)
{
	const struct rp_go_sample *b = r->before;
	uint32_t *pair_of = malloc((b->count ? b->count : 1) * sizeof(*pair_of));
	struct rp_go_pair *pairs = NULL;
	uint64_t npairs = 0;
	int rc = pair_of != NULL ? rp_go_pairs_collect(syms, b, &pairs, &npairs, pair_of) : -ENOMEM;

	for (uint64_t i = 0; rc == 0 && i < b->count; i++) {
		struct rp_go_group *g = rp_go_group_find(r, &pairs[pair_of[i]]);

		if (g != NULL)
			g->before++;
	}
	free(pairs);
	free(pair_of);
	return rc;
}

/* ---- judging ------------------------------------------------------------------- */

/*
 * How long goroutine g of the second sample has been blocked, at least: from
 * waitsince when the runtime set it (*known), else the interval when the
 * first sample saw the same goroutine blocked at the same place with the
 * same reason (it may have run in between and parked there again: a loop
 * that parks at one place looks the same, hence "at least"), else 0.
 */
static int64_t rp_go_blocked_ns(const struct rp_go_report *r, const struct rp_go_map *goids,
				const struct rp_go_goroutine *g, bool *known)
{
	const struct rp_go_goroutine *b;
	size_t slot;

	*known = false;
	if (g->state != RP_GO_STATE_WAITING && g->state != RP_GO_STATE_SYSCALL)
		return 0;
	if (g->waitsince > 0 && g->waitsince <= r->now->taken_ns) {
		*known = true;
		return r->now->taken_ns - g->waitsince;
	}
	if (r->before == NULL)
		return 0;
	slot = rp_go_map_slot(goids, (uint64_t)g->goid);
	if (goids->vals[slot] == 0)
		return 0;
	b = &r->before->g[goids->vals[slot] - 1];
	if (b->state == g->state && b->waitreason == g->waitreason && b->sched_pc == g->sched_pc &&
	    b->sched_sp == g->sched_sp)
		return r->interval_ns;
	return 0;
}

static enum rf_thread_class rp_go_classify(const struct rp_go_report *r,
					   const struct rp_go_group *grp, int64_t blocked)
{
	struct rf_thread_facts f = {
		.alive = true,
		.detached = true, /* goroutines are never joined */
		.age_ns = (uint64_t)blocked,
		.name = "",
		.start_name = grp->start,
		.start_name2 = grp->created.function,
		.group_alive = grp->count,
		.group_growth = grp->growth > 0 ? (uint64_t)grp->growth : 0,
	};

	if (grp->kind != RP_GO_KIND_PROGRAM)
		return RF_THREAD_CLASS_LIBRARY;
	return rf_thread_classify(&r->rules, &f);
}

static void rp_go_judge(struct rp_go_report *r, const struct rp_go_map *goids,
			const uint32_t *group_of)
{
	const struct rp_go_sample *s = r->now;

	for (uint64_t i = 0; i < s->count; i++) {
		const struct rp_go_goroutine *g = &s->g[i];
		struct rp_go_group *grp = &r->groups[group_of[i]];
		bool known;
		int64_t blocked = rp_go_blocked_ns(r, goids, g, &known);
		enum rf_thread_class cls = rp_go_classify(r, grp, blocked);

		grp->states[g->state]++;
		if (g->state == RP_GO_STATE_WAITING)
			grp->reasons[g->waitreason]++;
		if (known) {
			grp->wait_known++;
			if (blocked > grp->longest_wait_ns)
				grp->longest_wait_ns = blocked;
		}
		grp->classes[cls]++;
		r->totals[cls]++;
		if (rf_thread_class_is_leak(cls))
			r->leaked++;
	}
	for (uint64_t k = 0; k < r->ngroups; k++) {
		struct rp_go_group *grp = &r->groups[k];
		int c = 0;

		while (c < RF_THREAD_CLASS__COUNT - 1 && grp->classes[c] == 0)
			c++;
		grp->cls = (enum rf_thread_class)c;
		grp->leak = rf_thread_class_is_leak(grp->cls);
	}
}

/* ---- blocked places ------------------------------------------------------------ */

struct rp_go_place {
	uint32_t group;
	uint64_t key;   /* hash of state, wait reason and frames */
	uint64_t index; /* a goroutine */
};

static int rp_go_place_cmp(const void *a, const void *b)
{
	const struct rp_go_place *x = a, *y = b;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static uint64_t rp_go_place_key(const struct rp_go_goroutine *g)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ ((uint64_t)g->state << 8 | g->waitreason);

	for (uint16_t i = 0; i < g->nframes; i++)
		h = rp_go_mix(h ^ g->frames[i]);
	return h;
}

/* Insert a place into a group's kept places by count; what falls off is counted as other. */
static void rp_go_place_keep(struct rp_go_group *grp, uint64_t count,
			     const struct rp_go_goroutine *g)
{
	uint32_t k = grp->nblocked;

	if (k == RP_GO_BLOCKED_MAX && grp->blocked[k - 1].count >= count) {
		grp->blocked_other += count;
		return;
	}
	if (k == RP_GO_BLOCKED_MAX)
		grp->blocked_other += grp->blocked[--k].count;
	else
		grp->nblocked++;
	for (; k > 0 && grp->blocked[k - 1].count < count; k--)
		grp->blocked[k] = grp->blocked[k - 1];
	grp->blocked[k] = (struct rp_go_blocked){
		.count = count, .state = g->state, .waitreason = g->waitreason, .example = g};
}

/*
 * The frames of each kept place. The top frame is a return address unless it
 * is a goroutine's entry (one that never ran resumes at startpc); those below
 * are return addresses.
 */
static void rp_go_places_resolve(struct rp_go_symbols *syms, struct rp_go_group *grp)
{
	for (uint32_t k = 0; k < grp->nblocked; k++) {
		struct rp_go_blocked *b = &grp->blocked[k];
		const struct rp_go_goroutine *g = b->example;
		bool user = false;

		for (uint16_t i = 0; i < g->nframes && i < RP_GO_DEPTH_MAX; i++) {
			const struct rp_go_pcinfo *pi = rp_go_symbols_lookup(
				syms, g->frames[i], i > 0 || g->frames[i] != g->startpc);

			b->frames[i] = pi;
			if (!user && !rp_go_function_is_runtime(pi->locs[pi->nlocs - 1].function)) {
				b->first_user = i;
				user = true;
			}
		}
	}
}

/* Keep the RP_GO_BLOCKED_MAX most common places of each group, their frames symbolised. */
static int rp_go_places_build(struct rp_go_symbols *syms, struct rp_go_report *r,
			      const uint32_t *group_of)
{
	const struct rp_go_sample *s = r->now;
	struct rp_go_place *p = malloc((s->count ? s->count : 1) * sizeof(*p));

	if (p == NULL)
		return -ENOMEM;
	for (uint64_t i = 0; i < s->count; i++)
		p[i] = (struct rp_go_place){group_of[i], rp_go_place_key(&s->g[i]), i};
	qsort(p, s->count, sizeof(*p), rp_go_place_cmp);
	for (uint64_t i = 0, j; i < s->count; i = j) {
		for (j = i; j < s->count && p[j].group == p[i].group && p[j].key == p[i].key; j++)
			;
		rp_go_place_keep(&r->groups[p[i].group], j - i, &s->g[p[i].index]);
	}
	free(p);
	for (uint64_t k = 0; k < r->ngroups; k++)
		rp_go_places_resolve(syms, &r->groups[k]);
	return 0;
}

/* ---- the report ---------------------------------------------------------------- */

static int rp_go_group_cmp(const void *a, const void *b)
{
	const struct rp_go_group *x = a, *y = b;

	if (x->cls != y->cls)
		return x->cls < y->cls ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return rp_go_key_cmp(&x->created, x->start, &y->created, y->start);
}

/*
 * Learn what each `go f(x)` wrapper calls from the goroutines of a sample
 * whose frames reach their bottom, before any group is keyed, so that a
 * group has the same start function in both samples.
 */
static void rp_go_wrappers_learn(struct rp_go_symbols *syms, const struct rp_go_sample *s)
{
	for (uint64_t i = 0; s != NULL && i < s->count; i++) {
		const struct rp_go_goroutine *g = &s->g[i];

		if (g->complete && g->nframes >= 2)
			rp_go_symbols_wrapped_learn(syms, g->startpc, g->frames, g->nframes);
	}
}

/* Groups from now's pairs: pairs with the same symbols (a go statement inlined in several
 * places) merge. The groups come out sorted by key. */
static int rp_go_groups_make(struct rp_go_report *r, struct rp_go_pair *pairs, uint64_t npairs)
{
	struct rp_go_pair **order = malloc((npairs ? npairs : 1) * sizeof(*order));

	r->groups = calloc(npairs ? npairs : 1, sizeof(*r->groups));
	if (order == NULL || r->groups == NULL) {
		free(order);
		return -ENOMEM;
	}
	for (uint64_t p = 0; p < npairs; p++)
		order[p] = &pairs[p];
	qsort(order, npairs, sizeof(*order), rp_go_pair_cmp);
	for (uint64_t p = 0; p < npairs; p++) {
		if (p == 0 || rp_go_pair_cmp(&order[p - 1], &order[p]) != 0)
			r->groups[r->ngroups++] = (struct rp_go_group){
				.created = order[p]->created,
				.start = order[p]->start,
				.kind = rp_go_kind_of(order[p]->start, r->now->fing_running),
				.longest_wait_ns = -1,
			};
		order[p]->group = (uint32_t)(r->ngroups - 1);
	}
	free(order);
	return 0;
}

int rp_go_report_build(struct rp_go_symbols *syms, const struct rp_go_sample *before,
		       const struct rp_go_sample *now, const struct rf_thread_rules *rules,
		       struct rp_go_report *r)
{
	uint32_t *pair_of = malloc((now->count ? now->count : 1) * sizeof(*pair_of));
	uint32_t *group_of = malloc((now->count ? now->count : 1) * sizeof(*group_of));
	struct rp_go_map goids = {0};
	struct rp_go_pair *pairs = NULL;
	uint64_t npairs = 0;
	int rc = -ENOMEM;

	*r = (struct rp_go_report){.now = now, .before = before, .rules = *rules};
	r->rules.at_exit = false;
	r->interval_ns = before != NULL ? now->taken_ns - before->taken_ns : 0;
	if (pair_of == NULL || group_of == NULL)
		goto out;
	rp_go_wrappers_learn(syms, now);
	rp_go_wrappers_learn(syms, before);
	rc = rp_go_pairs_collect(syms, now, &pairs, &npairs, pair_of);
	if (rc == 0)
		rc = rp_go_groups_make(r, pairs, npairs);
	if (rc < 0)
		goto out;
	for (uint64_t i = 0; i < now->count; i++) {
		group_of[i] = pairs[pair_of[i]].group;
		r->groups[group_of[i]].count++;
	}
	if (before != NULL) {
		rc = rp_go_before_count(syms, r);
		if (rc == 0)
			rc = rp_go_map_init(&goids, before->count);
		if (rc < 0)
			goto out;
		for (uint64_t i = 0; i < before->count; i++) {
			size_t slot = rp_go_map_slot(&goids, (uint64_t)before->g[i].goid);

			goids.keys[slot] = (uint64_t)before->g[i].goid;
			goids.vals[slot] = (uint32_t)(i + 1);
		}
	}
	for (uint64_t k = 0; k < r->ngroups; k++) {
		struct rp_go_group *g = &r->groups[k];

		if (before == NULL)
			g->before = g->count;
		g->growth = (int64_t)g->count - (int64_t)g->before;
	}
	rp_go_judge(r, &goids, group_of);
	rc = rp_go_places_build(syms, r, group_of);
	if (rc == 0)
		qsort(r->groups, r->ngroups, sizeof(*r->groups), rp_go_group_cmp);
out:
	rp_go_map_free(&goids);
	free(pairs);
	free(pair_of);
	free(group_of);
	if (rc < 0)
		rp_go_report_release(r);
	return rc;
}

void rp_go_report_release(struct rp_go_report *r)
{
	free(r->groups);
	r->groups = NULL;
	r->ngroups = 0;
}
