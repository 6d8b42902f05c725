/*
 * rf_produce.h - the produce calls as the core sees them: librdkafka's
 * rd_kafka_producev argument list re-parsed into rd_kafka_vu_t entries,
 * what a vu list's message costs, and each call's outcome counted.
 *
 * rd_kafka_producev is variadic and cannot be forwarded as is: its list is
 * re-parsed into entries for the real rd_kafka_produceva, with librdkafka
 * 2.0.2's semantics (src/rdkafka_msg.c, rd_kafka_producev): the last entry
 * of a kind wins, TOPIC and RKT set the same destination, the walk stops
 * at the first error, and an unknown type stops it (its arguments have an
 * unknown size). HEADER entries are not forwarded as HEADER vus, because
 * 2.0.2's produceva destroys such headers twice when the partitioner fails:
 * they are gathered into a headers list of our own, passed as HEADERS,
 * which stays ours (to destroy) when the call fails.
 *
 * Knows nothing of preloading: librdkafka's header functions come in as
 * pointers (the interposers pass the real ones; the unit tests too, linked
 * to librdkafka).
 */
#ifndef RF_PRODUCE_H
#define RF_PRODUCE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "rf_stats.h"

/* ---- counting ------------------------------------------------------------------ */

enum rf_produce_entry {
	RF_PRODUCE_ENTRY_PRODUCE,
	RF_PRODUCE_ENTRY_PRODUCEV,
	RF_PRODUCE_ENTRY_PRODUCEVA,
	RF_PRODUCE_ENTRY_PRODUCE_BATCH,
	RF_PRODUCE_ENTRY__COUNT
};

/* The counters of each entry point, in RF_STATS order: calls, msgs, bytes, failed. */
#define RF_PRODUCE_STATS_OF(entry) (RF_STAT_produce_calls + 4 * (entry))
_Static_assert(RF_STAT_producev_calls == RF_PRODUCE_STATS_OF(RF_PRODUCE_ENTRY_PRODUCEV) &&
		       RF_STAT_produceva_calls == RF_PRODUCE_STATS_OF(RF_PRODUCE_ENTRY_PRODUCEVA) &&
		       RF_STAT_produce_batch_calls ==
			       RF_PRODUCE_STATS_OF(RF_PRODUCE_ENTRY_PRODUCE_BATCH) &&
		       RF_STAT_produce_msgs == RF_STAT_produce_calls + 1 &&
		       RF_STAT_produce_bytes == RF_STAT_produce_calls + 2 &&
		       RF_STAT_produce_failed == RF_STAT_produce_calls + 3,
	       "RF_STATS: each entry point's calls, msgs, bytes and failed, in a row");

/*
 * One call of entry: messages accepted and rejected, payload bytes accepted.
 * Inline: the interposers pass a constant entry, once per call.
 */
static inline __attribute__((always_inline)) void rf_produce_account(enum rf_produce_entry entry,
								     uint64_t accepted,
								     uint64_t rejected,
								     uint64_t bytes)
{
	enum rf_stat first = (enum rf_stat)RF_PRODUCE_STATS_OF(entry);
	uint64_t *v = rf_stats_mine();

	if (__builtin_expect(v == NULL, 0)) {
		/* The thread's first count: rf_stats_add takes its block. */
		rf_stats_add(first, 1);
		rf_stats_add((enum rf_stat)(first + 1), accepted);
		rf_stats_add((enum rf_stat)(first + 2), bytes);
		rf_stats_add((enum rf_stat)(first + 3), rejected);
		return;
	}
	rf_stats_add_to(v, first, 1);
	if (accepted)
		rf_stats_add_to(v, (enum rf_stat)(first + 1), accepted);
	if (bytes)
		rf_stats_add_to(v, (enum rf_stat)(first + 2), bytes);
	if (rejected)
		rf_stats_add_to(v, (enum rf_stat)(first + 3), rejected);
}

/* ---- rd_kafka_producev's argument list --------------------------------------------- */

/* One entry per kind of argument, in the order the vus are handed on. */
enum rf_producev_kind {
	RF_PRODUCEV_DEST, /* TOPIC or RKT */
	RF_PRODUCEV_PARTITION,
	RF_PRODUCEV_VALUE,
	RF_PRODUCEV_KEY,
	RF_PRODUCEV_OPAQUE,
	RF_PRODUCEV_MSGFLAGS,
	RF_PRODUCEV_TIMESTAMP,
	RF_PRODUCEV_HEADERS, /* HEADERS, or the list built from HEADER entries */
	RF_PRODUCEV__COUNT
};

/* librdkafka's header functions the parse needs for HEADER entries. */
struct rf_producev_headers {
	rd_kafka_headers_t *(*headers_new)(size_t initial_count);
	rd_kafka_resp_err_t (*header_add)(rd_kafka_headers_t *hdrs, const char *name,
					  ssize_t name_size, const void *value, ssize_t value_size);
};

struct rf_producev {
	rd_kafka_vu_t vus[RF_PRODUCEV__COUNT]; /* only the kinds in used are set */
	uint32_t used;                         /* a bit per kind: 1 << kind */
	rd_kafka_headers_t *own_hdrs;          /* built from HEADER entries; the caller's to
						* destroy when the produce call fails */
};

/* Ready pv for rf_producev_parse. The vus are left as they are: a call a message. */
static inline void rf_producev_init(struct rf_producev *pv)
{
	pv->used = 0;
	pv->own_hdrs = NULL;
}

/*
 * Walk a producev argument list (after rk) into pv, readied by
 * rf_producev_init, the way librdkafka's producev does. Returns the error
 * librdkafka would have returned: __INVALID_ARG when no TOPIC or RKT was
 * given (it checks that first), else the first error the walk met, else
 * NO_ERROR. headers may lack functions (a librdkafka without them): HEADER
 * entries then fail with __NOT_IMPLEMENTED.
 */
rd_kafka_resp_err_t rf_producev_parse(struct rf_producev *pv, va_list ap,
				      const struct rf_producev_headers *headers);

struct rf_vus_message;

/*
 * The entries pv holds, in kind order, into vus[RF_PRODUCEV__COUNT];
 * returns how many. msg gets what rf_vus_message would find in them,
 * without a second walk.
 */
size_t rf_producev_vus(const struct rf_producev *pv, rd_kafka_vu_t *vus,
		       struct rf_vus_message *msg);

/* ---- what a vu list describes ------------------------------------------------------ */

struct rf_vus_message {
	rd_kafka_vu_t *value;              /* the VALUE entry that counts (the last), or NULL */
	rd_kafka_vu_t *msgflags;           /* the MSGFLAGS entry that counts, or NULL */
	const rd_kafka_headers_t *headers; /* a HEADERS entry's list, or NULL */
	size_t keylen;                     /* of the KEY entry that counts */
	size_t header_count, header_bytes; /* of HEADER entries: names and values */
};

/*
 * What the message of a vu list consists of, the last entry of each kind
 * winning as in librdkafka. The headers of a HEADERS list are not counted
 * here (that needs librdkafka's functions): add them with rf_headers_cost.
 */
void rf_vus_message(rd_kafka_vu_t *vus, size_t cnt, struct rf_vus_message *out);

/* Payload bytes of a vu list (its last VALUE), 0 without one. */
size_t rf_vus_value_size(const rd_kafka_vu_t *vus, size_t cnt);

#endif /* RF_PRODUCE_H */
