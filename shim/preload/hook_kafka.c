/*
 * hook_kafka.c - interposers of librdkafka's handle lifecycle and polling,
 * and the interceptors the shim adds to every producer handle.
 *
 * rd_kafka_new: learns how the handle's delivery reports are served (a
 *   callback or DR events: payloads are then freed by whoever polls),
 *   registers an on_new interceptor that adds on_acknowledgement, and lets
 *   librdkafka reference arena payloads instead of copying them into its
 *   request buffers (message.copy.max.bytes 0, unless the application chose
 *   a value: then each message is charged for that copy too).
 * rd_kafka_poll / rd_kafka_flush / rd_kafka_queue_poll on the main queue:
 *   tell the budget which thread serves a handle's delivery reports, the
 *   fact its deadlock check rests on.
 * rd_kafka_last_error: a produce call the shim refuses itself reports its
 *   error there too, as librdkafka does for its own refusals.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "hook_kafka.h"
#include "rf_budget.h"
#include "rf_kafka_handle.h"
#include "rf_real.h"
#include "rf_log.h"
#include "rf_shim.h"
#include "rf_tid.h"
#include "rf_time.h"

__thread rd_kafka_resp_err_t rf_tls_last_error __attribute__((tls_model("initial-exec")));
__thread int rf_tls_in_produce __attribute__((tls_model("initial-exec")));

RF_EXPORT rd_kafka_resp_err_t rd_kafka_last_error(void)
{
	rf_real_rd_kafka_last_error_fn real = RF_REAL(rd_kafka_last_error);

	if (rf_tls_last_error != RD_KAFKA_RESP_ERR_NO_ERROR)
		return rf_tls_last_error;
	return real != NULL ? real() : RD_KAFKA_RESP_ERR_NO_ERROR;
}

void rf_kafka_headers_cost(const rd_kafka_headers_t *hdrs, size_t *count, size_t *bytes)
{
	rf_real_rd_kafka_header_cnt_fn cnt = RF_REAL(rd_kafka_header_cnt);
	rf_real_rd_kafka_header_get_all_fn get = RF_REAL(rd_kafka_header_get_all);
	const char *name;
	const void *value;
	size_t size, n;

	if (hdrs == NULL || cnt == NULL || get == NULL)
		return;
	n = cnt(hdrs);
	*count += n;
	for (size_t i = 0; i < n && get(hdrs, i, &name, &value, &size) == 0; i++)
		*bytes += strlen(name) + size;
}

/* ---- Interceptors --------------------------------------------------------------- */

/* Any other acknowledgement: an uncopied message's charge recomputed, a purge counted. */
static __attribute__((noinline)) void rf_on_ack_slow(rd_kafka_message_t *m, int slot)
{
	rf_real_rd_kafka_message_headers_fn headers;
	rf_real_rd_kafka_message_status_fn status;
	rd_kafka_headers_t *hdrs = NULL;
	size_t hcount = 0, hbytes = 0;
	int saved = errno, purged;

	/* An arena payload carries its own charge; only an uncopied one is recomputed. */
	if (!rf_budget_owns(m->payload) && (headers = RF_REAL(rd_kafka_message_headers)) != NULL &&
	    headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR)
		rf_kafka_headers_cost(hdrs, &hcount, &hbytes);
	purged = m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
		 m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT;
	/* Re-queued after a lost connection, a purged message may be on the broker already. */
	if (purged && (status = RF_REAL(rd_kafka_message_status)) != NULL &&
	    status(m) == RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED)
		purged = 2;
	rf_budget_ack(slot, m->payload, m->len,
		      rf_budget_msg_extra(m->key_len, hcount, hbytes) +
			      rf_kafka_handle_extra(slot, m->len),
		      purged, rf_tls_in_produce);
	errno = saved;
}

/*
 * Once per message, on a broker thread: a delivered copy, most of them, is
 * settled inline from its record (no call, no saved register); the rest
 * out of line.
 */
static rd_kafka_resp_err_t rf_on_ack(rd_kafka_t *rk, rd_kafka_message_t *m, void *ic_opaque)
{
	(void)rk;
	if (__builtin_expect(rf_budget_owns(m->payload) && m->err == RD_KAFKA_RESP_ERR_NO_ERROR, 1))
		rf_budget_ack_copied((int)(intptr_t)ic_opaque, m->payload, rf_tls_in_produce);
	else
		rf_on_ack_slow(m, (int)(intptr_t)ic_opaque);
	return RD_KAFKA_RESP_ERR_NO_ERROR;
}

static rd_kafka_resp_err_t rf_on_new(rd_kafka_t *rk, const rd_kafka_conf_t *conf, void *ic_opaque,
				     char *errstr, size_t errstr_size)
{
	rf_real_rd_kafka_interceptor_add_on_acknowledgement_fn add =
		RF_REAL(rd_kafka_interceptor_add_on_acknowledgement);

	(void)conf;
	(void)errstr;
	(void)errstr_size;
	if (add != NULL)
		add(rk, "ringfence", rf_on_ack, ic_opaque);
	return RD_KAFKA_RESP_ERR_NO_ERROR;
}

/* ---- Handles -------------------------------------------------------------------- */

/* Whether a property is set to a non-empty value; its text in buf. */
static int rf_conf_value(const rd_kafka_conf_t *conf, const char *name, char *buf, size_t len)
{
	rf_real_rd_kafka_conf_get_fn get = RF_REAL(rd_kafka_conf_get);
	size_t size = len;

	buf[0] = '\0';
	return get != NULL && get(conf, name, buf, &size) == RD_KAFKA_CONF_OK && buf[0] != '\0';
}

/* Delivery reports reach the application through poll: a callback or DR events. */
static int rf_conf_needs_poll(const rd_kafka_conf_t *conf)
{
	char buf[64];

	if (rf_conf_value(conf, "dr_msg_cb", buf, sizeof(buf)) ||
	    rf_conf_value(conf, "dr_cb", buf, sizeof(buf)))
		return 1;
	return rf_conf_value(conf, "enabled_events", buf, sizeof(buf)) &&
	       (strtoull(buf, NULL, 10) & RD_KAFKA_EVENT_DR);
}

/* librdkafka's default for message.copy.max.bytes in 2.0.2. */
#define RF_KAFKA_COPY_MAX_DEFAULT "65535"
/*
 * What the shim sets instead: 0. Arena payloads stay put until librdkafka
 * frees them, so they need not be copied again into request buffers. A
 * small limit would be faster for small messages (a referenced payload
 * costs librdkafka a buffer segment and an iovec of its own:
 * docs/benchmarks.md), but with any limit above 0 librdkafka 2.0.2 sizes
 * every request buffer for copies of all its messages
 * (rd_kafka_msgset_writer_alloc_buf: min(queued bytes, limit x messages),
 * up to message.max.bytes), copied or not: room per request in flight that
 * no per-message charge covers (docs/budget.md).
 */
#define RF_KAFKA_COPY_MAX "0"

/*
 * Set message.copy.max.bytes to RF_KAFKA_COPY_MAX unless the application
 * chose its own limit, which it keeps. Returns the limit in force: each
 * message is charged for that copy.
 */
static size_t rf_conf_copy_limit(rd_kafka_conf_t *conf)
{
	rf_real_rd_kafka_conf_set_fn set = RF_REAL(rd_kafka_conf_set);
	char buf[32], err[128];

	if (rf_conf_value(conf, "message.copy.max.bytes", buf, sizeof(buf)) &&
	    strcmp(buf, RF_KAFKA_COPY_MAX_DEFAULT) != 0)
		return (size_t)strtoull(buf, NULL, 10);
	if (!rf_budget_copies())
		return strtoull(RF_KAFKA_COPY_MAX_DEFAULT, NULL, 10); /* observe: left alone */
	if (set == NULL || set(conf, "message.copy.max.bytes", RF_KAFKA_COPY_MAX, err,
			       sizeof(err)) != RD_KAFKA_CONF_OK) {
		rf_log("could not set message.copy.max.bytes=%s: %s", RF_KAFKA_COPY_MAX,
		       set ? err : "no rd_kafka_conf_set");
		return strtoull(RF_KAFKA_COPY_MAX_DEFAULT, NULL, 10);
	}
	return strtoull(RF_KAFKA_COPY_MAX, NULL, 10);
}

/* Cleanup handler of a cancelled rd_kafka_new or rd_kafka_destroy: the handle's slot closes. */
static void rf_kafka_slot_cancelled(void *slot)
{
	int saved = errno;

	rf_budget_handle_close((int)(intptr_t)slot);
	errno = saved;
}

/*
 * The real rd_kafka_new, under a cleanup handler whose scope holds nothing
 * but it. A thread cancelled inside (it waits there for librdkafka's main
 * thread to start: a cancellation point) gets no handle, and neither does
 * anyone else: nothing can be produced to the half-made handle, so nothing
 * will be charged or acknowledged under its slot, which closes as after a
 * failed creation, free for the next handle. The conf is left alone, even
 * one the shim made: the half-made handle's threads may still read what its
 * copy of the conf points to.
 */
static __attribute__((noinline)) rd_kafka_t *rf_kafka_new_real(rf_real_rd_kafka_new_fn real,
							       int slot, rd_kafka_type_t type,
							       rd_kafka_conf_t *conf, char *errstr,
							       size_t errstr_size)
{
	rd_kafka_t *rk;

	pthread_cleanup_push(rf_kafka_slot_cancelled, (void *)(intptr_t)slot);
	rk = real(type, conf, errstr, errstr_size);
	pthread_cleanup_pop(0);
	return rk;
}

RF_EXPORT rd_kafka_t *rd_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, char *errstr,
				   size_t errstr_size)
{
	rf_real_rd_kafka_new_fn real = RF_REAL(rd_kafka_new);
	rf_real_rd_kafka_conf_new_fn conf_new = RF_REAL(rd_kafka_conf_new);
	rf_real_rd_kafka_conf_interceptor_add_on_new_fn add_on_new =
		RF_REAL(rd_kafka_conf_interceptor_add_on_new);
	rf_real_rd_kafka_name_fn name = RF_REAL(rd_kafka_name);
	char client_id[RF_SHM_HANDLE_NAME_MAX];
	int own_conf = 0, slot;
	rd_kafka_t *rk;

	rf_shim_init();
	if (real == NULL) {
		errno = ENOSYS;
		return NULL;
	}
	if (type != RD_KAFKA_PRODUCER || !rf_budget_enabled() || conf_new == NULL ||
	    add_on_new == NULL)
		return real(type, conf, errstr, errstr_size);

	if (conf == NULL) {
		/* librdkafka would use defaults; an empty conf is the same, and takes our interceptor. */
		conf = conf_new();
		own_conf = 1;
	}
	slot = rf_kafka_handle_open(NULL, rf_conf_needs_poll(conf), rf_tid());
	if (!rf_conf_value(conf, "client.id", client_id, sizeof(client_id)))
		client_id[0] = '\0';
	rf_kafka_handle_copies(slot, rf_conf_copy_limit(conf));
	/* __CONFLICT: already added to this conf by an earlier, failed rd_kafka_new. */
	add_on_new(conf, "ringfence", rf_on_new, (void *)(intptr_t)slot);

	rk = rf_kafka_new_real(real, slot, type, conf, errstr, errstr_size);
	if (rk == NULL) {
		int saved = errno;
		rf_budget_handle_close(slot);
		if (own_conf) {
			rf_real_rd_kafka_conf_destroy_fn destroy = RF_REAL(rd_kafka_conf_destroy);
			if (destroy != NULL)
				destroy(conf);
		}
		errno = saved;
		return NULL;
	}
	rf_kafka_handle_bind(slot, rk);
	rf_kafka_handle_name(slot, name != NULL ? name(rk) : "", client_id);
	return rk;
}

/*
 * The real rd_kafka_destroy, under a cleanup handler. A thread cancelled
 * inside leaves the handle half torn down. In librdkafka 2.0.2 the call has
 * two cancellation points: the warning about messages still queued, when
 * the log line is written on the calling thread (the handle is then
 * untouched), and the join of its main thread (the handle has been told to
 * terminate; the main thread goes on failing and freeing every message and
 * joining the broker threads, and the handle's own memory is never freed).
 * Either way the application gave the handle up, so its slot closes as
 * after a whole destroy: it no longer counts as open, no wait for budget
 * counts on its poller, and drop-oldest never purges it (rd_kafka_purge
 * would race the teardown). Its outstanding charges are left as they are:
 * each message is credited when librdkafka acknowledges it or frees its
 * payload, as the teardown does, and the interceptor and free() find the
 * slot by themselves. Crediting them here would give arena records back
 * while librdkafka may still send or free them. A closed slot is reused
 * only once it holds nothing (rf_kafka_handle_open), so no late credit
 * lands on another handle; a slot whose messages librdkafka never releases
 * (the handle untouched, its reports never served) stays listed, holding
 * them.
 */
static __attribute__((noinline)) void rf_kafka_destroy_real(rf_real_rd_kafka_destroy_fn real,
							    int slot, rd_kafka_t *rk)
{
	pthread_cleanup_push(rf_kafka_slot_cancelled, (void *)(intptr_t)slot);
	real(rk);
	pthread_cleanup_pop(0);
}

RF_EXPORT void rd_kafka_destroy(rd_kafka_t *rk)
{
	rf_real_rd_kafka_destroy_fn real = RF_REAL(rd_kafka_destroy);
	int slot = rf_kafka_handle_slot(rk);

	if (real != NULL)
		rf_kafka_destroy_real(real, slot, rk);
	/* After the real destroy: every message of the handle has been released. */
	rf_budget_handle_close(slot);
}

RF_EXPORT rd_kafka_topic_t *rd_kafka_topic_new(rd_kafka_t *rk, const char *topic,
					       rd_kafka_topic_conf_t *conf)
{
	rf_real_rd_kafka_topic_new_fn real = RF_REAL(rd_kafka_topic_new);
	rd_kafka_topic_t *rkt;
	int saved, slot;

	if (real == NULL) {
		errno = ENOSYS;
		return NULL;
	}
	slot = rf_kafka_handle_slot(rk);
	rkt = real(rk, topic, conf);
	saved = errno;
	if (rkt != NULL)
		rf_kafka_topic_bind(rkt, slot);
	errno = saved;
	return rkt;
}

/* A poll to record (rf_kafka_poll_recorded): who, and when. */
static __attribute__((noinline)) void rf_kafka_polled_record(const rd_kafka_t *rk)
{
	/* The coarse clock (a few ms of resolution) is plenty for "time since the last poll". */
	rf_kafka_poll_record(rk, rf_tid(), rf_clock_ns(CLOCK_MONOTONIC_COARSE));
}

static inline void rf_kafka_polled(const rd_kafka_t *rk)
{
	if (__builtin_expect(!rf_kafka_poll_recorded(rk), 0))
		rf_kafka_polled_record(rk);
}

static __attribute__((noinline)) int rf_kafka_poll_slow(rd_kafka_t *rk, int timeout_ms)
{
	rf_real_rd_kafka_poll_fn real = RF_REAL(rd_kafka_poll);

	rf_kafka_polled_record(rk);
	return real != NULL ? real(rk, timeout_ms) : 0;
}

/* Many programs poll once per message: a poll already recorded goes straight on. */
RF_EXPORT int rd_kafka_poll(rd_kafka_t *rk, int timeout_ms)
{
	/* Cached only: the lookup, and the record, take the slow path (no frame here). */
	rf_real_rd_kafka_poll_fn real = RF_REAL_CACHED(rd_kafka_poll);

	if (__builtin_expect(real != NULL && rf_kafka_poll_recorded(rk), 1))
		return real(rk, timeout_ms);
	return rf_kafka_poll_slow(rk, timeout_ms);
}

RF_EXPORT rd_kafka_resp_err_t rd_kafka_flush(rd_kafka_t *rk, int timeout_ms)
{
	rf_real_rd_kafka_flush_fn real = RF_REAL(rd_kafka_flush);

	rf_kafka_polled(rk);
	return real != NULL ? real(rk, timeout_ms) : RD_KAFKA_RESP_ERR__NOT_IMPLEMENTED;
}

/* Main queues handed out, so that polling one counts as polling its handle. */
#define RF_KAFKA_QUEUES 64
static struct {
	const rd_kafka_queue_t *queue;
	const rd_kafka_t *rk;
} rf_kafka_queues[RF_KAFKA_QUEUES];

RF_EXPORT rd_kafka_queue_t *rd_kafka_queue_get_main(rd_kafka_t *rk)
{
	rf_real_rd_kafka_queue_get_main_fn real = RF_REAL(rd_kafka_queue_get_main);
	rd_kafka_queue_t *queue = real != NULL ? real(rk) : NULL;

	if (queue != NULL && rf_kafka_handle_slot(rk) != RF_KAFKA_SLOT_UNKNOWN) {
		static unsigned next;
		unsigned i = __atomic_fetch_add(&next, 1, __ATOMIC_RELAXED) % RF_KAFKA_QUEUES;

		/* A hint table: an overwritten entry only loses poller tracking. */
		__atomic_store_n(&rf_kafka_queues[i].rk, rk, __ATOMIC_RELAXED);
		__atomic_store_n(&rf_kafka_queues[i].queue, queue, __ATOMIC_RELEASE);
	}
	return queue;
}

RF_EXPORT rd_kafka_event_t *rd_kafka_queue_poll(rd_kafka_queue_t *rkqu, int timeout_ms)
{
	rf_real_rd_kafka_queue_poll_fn real = RF_REAL(rd_kafka_queue_poll);

	for (int i = 0; i < RF_KAFKA_QUEUES; i++)
		if (__atomic_load_n(&rf_kafka_queues[i].queue, __ATOMIC_ACQUIRE) == rkqu) {
			rf_kafka_polled(__atomic_load_n(&rf_kafka_queues[i].rk, __ATOMIC_RELAXED));
			break;
		}
	return real != NULL ? real(rkqu, timeout_ms) : NULL;
}
