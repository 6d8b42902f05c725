/*
 * rs_scrape.h - one reading of every segment under a prefix, as `serve`
 * exposes it, and the cache that shares readings between scrapes.
 *
 * A reading (struct rs_scrape) lists the segments, reads them one at a time
 * (each copy is released before the next is read), and keeps what the
 * Prometheus families show of each (struct rp_prom_proc, about a kilobyte);
 * a segment that cannot be read is skipped and counted by its reader error.
 * It never writes to a segment and never asks a process for anything.
 *
 * The cache makes scrapes cheap to serve and bounds the memory they take:
 * one reading at a time is taken, scrapes that arrive meanwhile wait for it
 * and share it, a reading younger than RS_SCRAPE_REUSE_NS is served again,
 * and at most RS_SCRAPES_ALIVE readings are held at once (by responses
 * still being sent); past that, the newest is served whatever its age.
 */
#ifndef RS_SCRAPE_H
#define RS_SCRAPE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rf_shm.h"
#include "rp_print_prom.h"
#include "rp_snapshot.h"

/* A segment bigger than this is skipped (layout error): a reading stays small. */
#define RS_SEGMENT_SIZE_MAX (4 * RF_MIB)
/* Readings taken within this of each other are one. */
#define RS_SCRAPE_REUSE_NS (1000 * RF_MS)
/* Readings held at once, by the cache and by responses being sent. */
#define RS_SCRAPES_ALIVE 3
/* Reader messages a reading keeps (the first ones), for the landing page. */
#define RS_SCRAPE_MESSAGES 8

struct rs_scrape {
	unsigned refs;  /* under the cache's lock */
	int list_error; /* 0, or the -errno of listing /dev/shm */
	struct rp_prom_proc *procs;
	size_t count;
	uint64_t errors[RP_READ__COUNT]; /* segments skipped, by reader error */
	uint64_t skipped;
	int64_t taken_ns;    /* CLOCK_MONOTONIC at the start of the reading */
	int64_t duration_ns; /* how long the reading took */
	unsigned nmessages;
	char messages[RS_SCRAPE_MESSAGES][RP_MESSAGE_MAX];
};

struct rs_cache {
	pthread_mutex_t lock;
	pthread_cond_t done; /* a reading was taken */
	char prefix[RF_CONFIG_NAME_MAX];
	unsigned leak_groups; /* per process */
	struct rs_scrape *current;
	bool reading;
	unsigned alive;    /* readings not yet freed */
	uint64_t readings; /* taken since start */
};

/* A cache for the segments under prefix (a valid one), leak_groups per process. */
void rs_cache_init(struct rs_cache *cache, const char *prefix, unsigned leak_groups);
void rs_cache_destroy(struct rs_cache *cache);

/*
 * A reading for a scrape, held until rs_cache_put: the current one when it
 * is young enough (or too many are held), else a new one, taken by this
 * caller or by the one already taking it. NULL only when no memory was left
 * for one.
 */
struct rs_scrape *rs_cache_get(struct rs_cache *cache);
void rs_cache_put(struct rs_cache *cache, struct rs_scrape *scrape);

/*
 * A reading of every segment under prefix, taken now; NULL when no memory
 * was left. rs_scrape_free releases it.
 */
struct rs_scrape *rs_scrape_take(const char *prefix, unsigned leak_groups);
void rs_scrape_free(struct rs_scrape *scrape);

/*
 * The families of the reading itself (segments read, skipped by reader
 * error, how long it took), after the processes' in `serve`'s exposition.
 */
void rs_scrape_print_prometheus(FILE *out, const struct rs_scrape *scrape);

#endif /* RS_SCRAPE_H */
