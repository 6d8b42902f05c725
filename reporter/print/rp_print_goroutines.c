/*
 * rp_print_goroutines.c - the goroutine report of `goroutines` and `check`,
 * in text and JSON.
 */
#include "rp_print_goroutines.h"

#include <inttypes.h>
#include <string.h>

#include "rp_format.h"

/* Columns a name or path from the target takes at most in text, cut with "...". */
#define RP_GO_TEXT_COLS 240
/* Longest ignore pattern printed (the command line's patterns fit in 1023 bytes). */
#define RP_GO_PATTERN_MAX 1024

/* s from the target, safe for a terminal and cut to RP_GO_TEXT_COLS. */
struct rp_go_text {
	char s[RP_SANITIZED_MAX(RP_GO_TEXT_COLS)];
};

static const char *rp_go_text(const char *s, struct rp_go_text *t)
{
	rp_text_sanitize(s != NULL ? s : "", RP_GO_TEXT_COLS, t->s, sizeof(t->s));
	return t->s;
}

static void rp_go_age(int64_t ns, char *buf, size_t len)
{
	rp_age_format(ns, 0, buf, len);
}

/* What the goroutines of a place are doing: their wait reason, else their state. */
static const char *rp_go_place_doing(const struct rp_goroutines *g, const struct rp_go_blocked *b,
				     char *buf, size_t len)
{
	if (b->state == RP_GO_STATE_WAITING) {
		const char *w = rp_go_wait_reason(&g->rt, b->waitreason, buf, len);

		return w[0] ? w : "waiting";
	}
	return rp_go_state_name((enum rp_go_state)b->state);
}

static const struct rp_go_sample *rp_go_now(const struct rp_goroutines *g)
{
	return g->report.now;
}

/* ---- text ------------------------------------------------------------------ */

static void rp_go_loc_text(FILE *out, const char *indent, const struct rp_go_loc *l)
{
	struct rp_go_text fn, file;

	fprintf(out, "%s%s", indent, l->function[0] ? rp_go_text(l->function, &fn) : "?");
	if (l->file[0])
		fprintf(out, "  %s:%d", rp_go_text(l->file, &file), l->line);
	fputc('\n', out);
}

static void rp_go_states_text(FILE *out, const struct rp_goroutines *g,
			      const struct rp_go_group *grp)
{
	const char *sep = "";
	char wbuf[48];

	fprintf(out, "    states     ");
	for (int s = 0; s < RP_GO_STATE__COUNT; s++) {
		if (grp->states[s] == 0)
			continue;
		fprintf(out, "%s%s %" PRIu64, sep, rp_go_state_name((enum rp_go_state)s),
			grp->states[s]);
		sep = " ";
	}
	sep = " (";
	for (unsigned w = 0; w < RP_GO_WAIT_REASONS; w++) {
		struct rp_go_text name;
		const char *r;

		if (grp->reasons[w] == 0)
			continue;
		r = rp_go_wait_reason(&g->rt, w, wbuf, sizeof(wbuf));
		fprintf(out, "%s%s %" PRIu64, sep, r[0] ? rp_go_text(r, &name) : "no reason",
			grp->reasons[w]);
		sep = ", ";
	}
	fprintf(out, "%s\n", sep[0] == ',' ? ")" : "");
}

static void rp_go_place_text(FILE *out, const struct rp_goroutines *g,
			     const struct rp_go_blocked *b)
{
	uint16_t nframes = b->example->nframes;
	struct rp_go_text doing;
	unsigned shown = 0;
	char wbuf[48];

	rp_go_text(rp_go_place_doing(g, b, wbuf, sizeof(wbuf)), &doing);
	if (nframes == 0) {
		fprintf(out, "    %" PRIu64 " %s (no frames: running)\n", b->count, doing.s);
		return;
	}
	fprintf(out, "    %" PRIu64 " %s at:\n", b->count, doing.s);
	for (uint16_t i = b->first_user; i < nframes && shown < RP_GO_TEXT_FRAMES; i++) {
		const struct rp_go_pcinfo *pi = b->frames[i];
		/* Go's tracebacks hide the wrapper a `go f(x)` starts in (the physical
		 * function, the last location); so does this. */
		uint32_t nlocs = pi->wrapper ? pi->nlocs - 1 : pi->nlocs;

		for (uint32_t l = 0; l < nlocs && shown < RP_GO_TEXT_FRAMES; l++, shown++)
			rp_go_loc_text(out, "      ", &pi->locs[l]);
	}
}

static void rp_go_group_text(FILE *out, const struct rp_goroutines *g,
			     const struct rp_go_group *grp, int n)
{
	const struct rp_go_report *r = &g->report;
	struct rp_go_text start;
	char a[32], b[32];

	fprintf(out, "#%d  %" PRIu64 " goroutine%s %s", n, grp->classes[grp->cls],
		grp->classes[grp->cls] == 1 ? "" : "s", rf_thread_class_name(grp->cls));
	for (int c = 0; c < RF_THREAD_CLASS__COUNT; c++)
		if (grp->classes[c] > 0 && c != (int)grp->cls)
			fprintf(out, ", %" PRIu64 " %s", grp->classes[c],
				rf_thread_class_name((enum rf_thread_class)c));
	fputc('\n', out);
	if (r->before != NULL) {
		rp_go_age(r->interval_ns, a, sizeof(a));
		fprintf(out,
			"    growth     %+" PRId64 " in %s (%" PRIu64 " at the first sample)\n",
			grp->growth, a, grp->before);
	}
	/* Go names no creator for the main goroutine: the runtime starts it. */
	if (strcmp(grp->start, "runtime.main") == 0)
		fprintf(out, "    created by the runtime (the main goroutine)\n");
	else
		rp_go_loc_text(out, "    created at ", &grp->created);
	fprintf(out, "    start      %s\n", grp->start[0] ? rp_go_text(grp->start, &start) : "?");
	rp_go_states_text(out, g, grp);
	if (grp->wait_known > 0) {
		rp_go_age(grp->longest_wait_ns, b, sizeof(b));
		fprintf(out, "    waited     up to %s (known for %" PRIu64 " of %" PRIu64 ")\n", b,
			grp->wait_known, grp->count);
	}
	for (uint32_t k = 0; k < grp->nblocked; k++)
		rp_go_place_text(out, g, &grp->blocked[k]);
	if (grp->blocked_other > 0)
		fprintf(out, "    %" PRIu64 " elsewhere\n", grp->blocked_other);
}

static void rp_go_header_text(FILE *out, const struct rp_goroutines *g)
{
	const struct rp_go_report *r = &g->report;
	const struct rp_go_sample *s = rp_go_now(g);
	struct rp_go_text version;
	char a[32];

	fprintf(out, "pid %d (%s): %" PRIu64 " goroutines in %" PRIu64 " groups", (int)g->pid,
		g->rt.version[0] ? rp_go_text(g->rt.version, &version) : "Go version unknown",
		s->count, r->ngroups);
	if (r->before != NULL) {
		rp_go_age(r->interval_ns, a, sizeof(a));
		fprintf(out, ", 2 samples %s apart\n", a);
	} else {
		fprintf(out, ", 1 sample (no growth measured)\n");
	}
	if (s->truncated || s->unreadable > 0)
		fprintf(out,
			"note: %" PRIu64 " of %" PRIu64 " goroutine entries read%s, %" PRIu64
			" unreadable\n",
			s->count + s->dead + s->unreadable, s->allglen,
			s->truncated ? " (capped)" : "", s->unreadable);
	rp_go_age((int64_t)r->rules.age_ns, a, sizeof(a));
	fprintf(out,
		"rules: stuck = blocked longer than the age, in a group that grew or holds more "
		"than the group limit (age %s, group %" PRIu64 "); wait reasons from %s\n",
		a, r->rules.group_max,
		strcmp(g->rt.wait_reasons_from, "target") == 0 ? "the target"
							       : g->rt.wait_reasons_from);
	fprintf(out, "goroutines: %" PRIu64 ":", s->count);
	for (int c = RF_THREAD_CLASS_STUCK; c < RF_THREAD_CLASS__COUNT; c++)
		if (c != RF_THREAD_CLASS_UNJOINED)
			fprintf(out, "%s %" PRIu64 " %s", c == RF_THREAD_CLASS_STUCK ? "" : ",",
				r->totals[c], rf_thread_class_name((enum rf_thread_class)c));
	fputc('\n', out);
}

void rp_goroutines_print_text(FILE *out, const struct rp_goroutines *g, bool leaks_only)
{
	const struct rp_go_report *r = &g->report;
	uint64_t nleak = 0, nown = 0;
	int n = 0;

	rp_go_header_text(out, g);
	for (uint64_t k = 0; k < r->ngroups; k++) {
		nleak += r->groups[k].leak;
		nown += r->groups[k].kind != RP_GO_KIND_PROGRAM;
	}
	fprintf(out, "\nLEAK GROUPS (%" PRIu64 ")\n", nleak);
	for (uint64_t k = 0; k < r->ngroups; k++) {
		if (!r->groups[k].leak)
			continue;
		fputc('\n', out);
		rp_go_group_text(out, g, &r->groups[k], ++n);
	}
	if (leaks_only)
		return;
	fprintf(out, "\nOTHER GROUPS (%" PRIu64 ")\n", r->ngroups - nleak - nown);
	for (uint64_t k = 0; k < r->ngroups; k++) {
		if (r->groups[k].leak || r->groups[k].kind != RP_GO_KIND_PROGRAM)
			continue;
		fputc('\n', out);
		rp_go_group_text(out, g, &r->groups[k], ++n);
	}
	fprintf(out, "\nTHE RUNTIME'S AND LIBRARIES' OWN (%" PRIu64 "): never leaks\n", nown);
	for (uint64_t k = 0; k < r->ngroups; k++) {
		const struct rp_go_group *grp = &r->groups[k];
		struct rp_go_text start;

		if (grp->kind == RP_GO_KIND_PROGRAM)
			continue;
		fprintf(out, "    %-8s %4" PRIu64 "  %s\n", rp_go_kind_name(grp->kind), grp->count,
			rp_go_text(grp->start, &start));
	}
	fprintf(out,
		"\nread in %.1f ms (%" PRIu64 " system calls, %" PRIu64
		" bytes), setup %.1f ms, grouping %.1f ms\n",
		(double)g->read_ns / 1e6, g->samples[0].calls + g->samples[1].calls,
		g->samples[0].bytes + g->samples[1].bytes, (double)g->setup_ns / 1e6,
		(double)g->group_ns / 1e6);
}

/* ---- JSON ------------------------------------------------------------------ */

static void rp_go_loc_json(FILE *out, const struct rp_go_loc *l)
{
	fputs("{\"function\": ", out);
	rp_json_string(out, l->function);
	fputs(", \"file\": ", out);
	rp_json_string(out, l->file);
	fprintf(out, ", \"line\": %d}", l->line);
}

static void rp_go_place_json(FILE *out, const struct rp_goroutines *g,
			     const struct rp_go_blocked *b)
{
	const struct rp_go_goroutine *ex = b->example;
	char wbuf[48];

	fprintf(out, "{\"count\": %" PRIu64 ", \"state\": \"%s\", \"wait_reason\": ", b->count,
		rp_go_state_name((enum rp_go_state)b->state));
	if (b->state == RP_GO_STATE_WAITING)
		rp_json_string(out, rp_go_wait_reason(&g->rt, b->waitreason, wbuf, sizeof(wbuf)));
	else
		fputs("null", out);
	fprintf(out, ", \"goid\": %" PRId64 ", \"first_user_frame\": %u, \"frames\": [", ex->goid,
		(unsigned)b->first_user);
	for (uint16_t i = 0; i < ex->nframes; i++) {
		const struct rp_go_pcinfo *pi = b->frames[i];

		fprintf(out, "%s{\"pc\": %" PRIu64 ", \"wrapper\": %s, \"inlined\": [",
			i ? ", " : "", ex->frames[i], pi->wrapper ? "true" : "false");
		for (uint32_t l = 0; l < pi->nlocs; l++) {
			fputs(l ? ", " : "", out);
			rp_go_loc_json(out, &pi->locs[l]);
		}
		fputs("]}", out);
	}
	fputs("]}", out);
}

static void rp_go_group_json(FILE *out, const struct rp_goroutines *g,
			     const struct rp_go_group *grp)
{
	const char *sep = "";
	char wbuf[48];

	fprintf(out,
		"    {\"class\": \"%s\", \"leak\": %s, \"kind\": \"%s\", \"count\": %" PRIu64
		", \"before\": %" PRIu64 ", \"growth\": %" PRId64 ", \"created\": ",
		rf_thread_class_name(grp->cls), grp->leak ? "true" : "false",
		rp_go_kind_name(grp->kind), grp->count, grp->before, grp->growth);
	rp_go_loc_json(out, &grp->created);
	fputs(", \"start\": ", out);
	rp_json_string(out, grp->start);
	fputs(", \"states\": {", out);
	for (int s = 0; s < RP_GO_STATE__COUNT; s++)
		fprintf(out, "%s\"%s\": %" PRIu64, s ? ", " : "",
			rp_go_state_name((enum rp_go_state)s), grp->states[s]);
	fputs("}, \"wait_reasons\": {", out);
	for (unsigned w = 0; w < RP_GO_WAIT_REASONS; w++) {
		if (grp->reasons[w] == 0)
			continue;
		fputs(sep, out);
		rp_json_string(out, rp_go_wait_reason(&g->rt, w, wbuf, sizeof(wbuf)));
		fprintf(out, ": %" PRIu64, grp->reasons[w]);
		sep = ", ";
	}
	fputs("}, \"verdicts\": {", out);
	sep = "";
	for (int c = 0; c < RF_THREAD_CLASS__COUNT; c++) {
		if (grp->classes[c] == 0)
			continue;
		fprintf(out, "%s\"%s\": %" PRIu64, sep,
			rf_thread_class_name((enum rf_thread_class)c), grp->classes[c]);
		sep = ", ";
	}
	fprintf(out, "}, \"wait_known\": %" PRIu64 ", \"longest_wait_ns\": ", grp->wait_known);
	if (grp->longest_wait_ns >= 0)
		fprintf(out, "%" PRId64, grp->longest_wait_ns);
	else
		fputs("null", out);
	fputs(", \"blocked\": [", out);
	for (uint32_t k = 0; k < grp->nblocked; k++) {
		fputs(k ? ", " : "", out);
		rp_go_place_json(out, g, &grp->blocked[k]);
	}
	fprintf(out, "], \"blocked_other\": %" PRIu64 "}", grp->blocked_other);
}

/* Every pattern of a comma-separated list as a JSON string, after sep. */
static const char *rp_go_patterns_json(FILE *out, const char *list, const char *sep)
{
	char pattern[RP_GO_PATTERN_MAX];

	for (const char *p = list; p != NULL && *p;) {
		size_t n = strcspn(p, ",");

		if (n > 0 && n < sizeof(pattern)) {
			memcpy(pattern, p, n);
			pattern[n] = '\0';
			fputs(sep, out);
			rp_json_string(out, pattern);
			sep = ", ";
		}
		p += n + (p[n] == ',');
	}
	return sep;
}

void rp_goroutines_print_json(FILE *out, const struct rp_goroutines *g, bool leaks_only)
{
	const struct rp_go_report *r = &g->report;
	const struct rp_go_sample *s = rp_go_now(g);
	const char *sep = "";

	fprintf(out, "{\n  \"pid\": %d,\n  \"go_version\": ", (int)g->pid);
	rp_json_string(out, g->rt.version);
	fprintf(out,
		",\n  \"wait_reasons_from\": \"%s\",\n  \"samples\": %d,\n  \"interval_ns\": %" PRId64
		",\n  \"rules\": {\"age_ns\": %" PRIu64 ", \"group\": %" PRIu64 ", \"ignore\": [",
		g->rt.wait_reasons_from, r->before != NULL ? 2 : 1, r->interval_ns, r->rules.age_ns,
		r->rules.group_max);
	rp_go_patterns_json(out, r->rules.ignore_more,
			    rp_go_patterns_json(out, r->rules.ignore, ""));
	fprintf(out,
		"]},\n  \"allglen\": %" PRIu64 ",\n  \"goroutines\": %" PRIu64
		",\n  \"dead\": %" PRIu64 ",\n  \"unreadable\": %" PRIu64
		",\n  \"truncated\": %s,\n  \"leaked\": %" PRIu64 ",\n  \"totals\": {",
		s->allglen, s->count, s->dead, s->unreadable, s->truncated ? "true" : "false",
		r->leaked);
	for (int c = 0; c < RF_THREAD_CLASS__COUNT; c++)
		fprintf(out, "%s\"%s\": %" PRIu64, c ? ", " : "",
			rf_thread_class_name((enum rf_thread_class)c), r->totals[c]);
	fprintf(out,
		"},\n  \"timing_ms\": {\"setup\": %.3f, \"read\": %.3f, \"group\": %.3f},\n"
		"  \"read_calls\": %" PRIu64 ",\n  \"read_bytes\": %" PRIu64 ",\n  \"groups\": [",
		(double)g->setup_ns / 1e6, (double)g->read_ns / 1e6, (double)g->group_ns / 1e6,
		g->samples[0].calls + g->samples[1].calls,
		g->samples[0].bytes + g->samples[1].bytes);
	for (uint64_t k = 0; k < r->ngroups; k++) {
		if (leaks_only && !r->groups[k].leak)
			continue;
		fputs(sep[0] ? sep : "\n", out);
		rp_go_group_json(out, g, &r->groups[k]);
		sep = ",\n";
	}
	fputs("\n  ]\n}\n", out);
}
