/*
 * rs_scrape.c - readings of every segment under a prefix, and their cache.
 */
#include "rs_scrape.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "rf_time.h"
#include "rp_format.h"
#include "rp_list.h"
#include "rp_segment.h"
#include "rp_stats.h"

/* ---- one reading -------------------------------------------------------- */

static void rs_scrape_note(struct rs_scrape *s, enum rp_read_error e, const char *message)
{
	s->errors[e]++;
	s->skipped++;
	if (s->nmessages < RS_SCRAPE_MESSAGES)
		snprintf(s->messages[s->nmessages++], RP_MESSAGE_MAX, "%s", message);
}

struct rs_scrape *rs_scrape_take(const char *prefix, unsigned leak_groups)
{
	struct rs_scrape *s = calloc(1, sizeof(*s));
	struct rp_snapshot snap;
	struct rp_failure fail;
	pid_t *pids = NULL;
	size_t npids = 0;

	if (s == NULL)
		return NULL;
	s->taken_ns = rf_clock_ns(CLOCK_MONOTONIC);
	s->list_error = rp_segment_list(prefix, &pids, &npids);
	if (s->list_error == 0 && npids > 0) {
		s->procs = calloc(npids, sizeof(*s->procs));
		if (s->procs == NULL) {
			free(pids);
			free(s);
			return NULL;
		}
	}
	for (size_t i = 0; i < npids; i++) {
		enum rp_read_error e =
			rp_segment_read_bounded(prefix, pids[i], RS_SEGMENT_SIZE_MAX, &snap, &fail);

		/* Removed since the listing (gc, or a process's exec): no news. */
		if (e == RP_READ_MISSING)
			continue;
		if (e != RP_READ_OK) {
			rs_scrape_note(s, e, fail.message);
			continue;
		}
		if (rp_prom_proc_take(&snap, leak_groups, &s->procs[s->count]) == 0)
			s->count++;
		else
			rs_scrape_note(s, RP_READ_IO, "out of memory for a process's figures");
		rp_snapshot_release(&snap);
	}
	free(pids);
	s->duration_ns = rf_clock_ns(CLOCK_MONOTONIC) - s->taken_ns;
	return s;
}

void rs_scrape_free(struct rs_scrape *scrape)
{
	if (scrape == NULL)
		return;
	for (size_t i = 0; i < scrape->count; i++)
		rp_prom_proc_release(&scrape->procs[i]);
	free(scrape->procs);
	free(scrape);
}

void rs_scrape_print_prometheus(FILE *out, const struct rs_scrape *scrape)
{
	rp_prom_family(out, "scrape_segments", "", "gauge",
		       "Segments this reading of /dev/shm exported (alive, exited and dead "
		       "processes)");
	fprintf(out, "ringfence_scrape_segments %zu\n", scrape->count);
	rp_prom_family(out, "scrape_skipped_segments", "", "gauge",
		       "Segments this reading skipped because they could not be read, by reader "
		       "error (another user's, not a segment, another layout version, truncated, "
		       "out of range, pid mismatch, input/output)");
	for (int e = RP_READ_OK + 1; e < RP_READ__COUNT; e++)
		if (e != RP_READ_MISSING)
			fprintf(out, "ringfence_scrape_skipped_segments{kind=\"%s\"} %" PRIu64 "\n",
				rp_read_error_kind((enum rp_read_error)e), scrape->errors[e]);
	rp_prom_family(out, "scrape_duration_seconds", "", "gauge",
		       "How long reading every segment took");
	fputs("ringfence_scrape_duration_seconds ", out);
	rp_prom_seconds(out, scrape->duration_ns);
	fputc('\n', out);
}

/* ---- the cache ---------------------------------------------------------- */

void rs_cache_init(struct rs_cache *cache, const char *prefix, unsigned leak_groups)
{
	memset(cache, 0, sizeof(*cache));
	pthread_mutex_init(&cache->lock, NULL);
	pthread_cond_init(&cache->done, NULL);
	snprintf(cache->prefix, sizeof(cache->prefix), "%s", prefix);
	cache->leak_groups = leak_groups;
}

void rs_cache_destroy(struct rs_cache *cache)
{
	rs_scrape_free(cache->current);
	cache->current = NULL;
	pthread_cond_destroy(&cache->done);
	pthread_mutex_destroy(&cache->lock);
}

/* The current reading, held, if it may be served now; under the lock. */
static struct rs_scrape *rs_cache_reuse(struct rs_cache *cache, bool any_age)
{
	struct rs_scrape *s = cache->current;

	if (s == NULL)
		return NULL;
	if (!any_age && cache->alive < RS_SCRAPES_ALIVE &&
	    rf_clock_ns(CLOCK_MONOTONIC) - s->taken_ns >= (int64_t)RS_SCRAPE_REUSE_NS)
		return NULL;
	s->refs++;
	return s;
}

struct rs_scrape *rs_cache_get(struct rs_cache *cache)
{
	struct rs_scrape *s, *old = NULL;

	pthread_mutex_lock(&cache->lock);
	if ((s = rs_cache_reuse(cache, false)) != NULL)
		goto out;
	if (cache->reading) {
		/* Someone takes a reading now: share it. */
		uint64_t seen = cache->readings;

		while (cache->reading && cache->readings == seen)
			pthread_cond_wait(&cache->done, &cache->lock);
		s = rs_cache_reuse(cache, true);
		goto out;
	}
	cache->reading = true;
	cache->alive++;
	pthread_mutex_unlock(&cache->lock);

	s = rs_scrape_take(cache->prefix, cache->leak_groups);

	pthread_mutex_lock(&cache->lock);
	cache->reading = false;
	cache->readings++;
	if (s == NULL) {
		cache->alive--;
		s = rs_cache_reuse(cache, true);
	} else {
		s->refs = 2; /* the cache's and the caller's */
		old = cache->current;
		cache->current = s;
		if (old != NULL && --old->refs == 0)
			cache->alive--;
		else
			old = NULL;
	}
	pthread_cond_broadcast(&cache->done);
out:
	pthread_mutex_unlock(&cache->lock);
	rs_scrape_free(old);
	return s;
}

void rs_cache_put(struct rs_cache *cache, struct rs_scrape *scrape)
{
	bool last;

	if (scrape == NULL)
		return;
	pthread_mutex_lock(&cache->lock);
	last = --scrape->refs == 0;
	if (last)
		cache->alive--;
	pthread_mutex_unlock(&cache->lock);
	if (last)
		rs_scrape_free(scrape);
}
