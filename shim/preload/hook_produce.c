/*
 * hook_produce.c - interposers of librdkafka's four produce entry points.
 *
 * Each one: bring the shim up, charge the message to the budget
 * (rf_budget.h: a copied payload goes into the arena and reaches librdkafka
 * with F_FREE), call the real function, settle the charge, report the
 * outcome to rf_produce_account, and return exactly what the real call
 * returned with errno as it left it. A message the budget refuses fails the
 * way librdkafka fails it: __QUEUE_FULL (errno ENOBUFS) for want of space,
 * MSG_SIZE_TOO_LARGE (errno EMSGSIZE) when larger than the whole budget.
 *
 * Payload ownership is kept exactly. F_COPY: the application keeps its
 * buffer, the copy is ours. F_FREE: on success the application's buffer is
 * freed here, as librdkafka would have freed it; on failure it stays the
 * application's. No flag: nothing is copied or substituted (the application
 * may recognise its buffer in the delivery report); the charge lasts until
 * librdkafka acknowledges the message.
 *
 * rd_kafka_producev is variadic and cannot be forwarded as is: its list is
 * re-parsed (rf_produce.h) into rd_kafka_vu_t entries for the real
 * rd_kafka_produceva.
 *
 * A call with RD_KAFKA_MSG_F_BLOCK may wait inside librdkafka, where a
 * thread can be cancelled: such calls, and only they, run under a cleanup
 * handler that settles the charge (see "Calls that block" below; cnd_wait
 * is interposed for them).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <threads.h>

#include <librdkafka/rdkafka.h>

#include "hook_kafka.h"
#include "rf_budget.h"
#include "rf_kafka_handle.h"
#include "rf_produce.h"
#include "rf_real.h"
#include "rf_log.h"
#include "rf_shim.h"

/*
 * Charge one message. Copied when the application gave up its buffer for the
 * call (F_COPY or F_FREE) and the policy copies. On success with a copy,
 * *payload and *msgflags are what the real call must get instead.
 */
static inline __attribute__((always_inline)) int rf_produce_admit(struct rf_budget_msg *m, int slot,
								  void **payload, size_t len,
								  size_t extra, int *msgflags)
{
	int rc;

	m->slot = slot;
	m->len = len;
	m->block = (*msgflags & RD_KAFKA_MSG_F_BLOCK) != 0;
	m->copy = rf_budget_copies() && *payload != NULL && len > 0 &&
		  (*msgflags & (RD_KAFKA_MSG_F_COPY | RD_KAFKA_MSG_F_FREE));
	m->extra = extra + rf_kafka_handle_extra(slot, len);
	rc = rf_budget_admit(m);
	if (rc == 0 && m->payload != NULL) {
		memcpy(m->payload, *payload, len);
		*payload = m->payload;
		*msgflags = (*msgflags & ~RD_KAFKA_MSG_F_COPY) | RD_KAFKA_MSG_F_FREE;
	}
	return rc;
}

/* The librdkafka error for a refusal by the budget. */
static rd_kafka_resp_err_t rf_produce_refusal(int rc)
{
	return rc == -EMSGSIZE ? RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE
			       : RD_KAFKA_RESP_ERR__QUEUE_FULL;
}

/*
 * After the real call: settle the charge, and give the application's F_FREE
 * buffer the fate librdkafka would have: freed when the message was taken,
 * and also when librdkafka freed the message during a refused call.
 */
static __attribute__((noinline)) void rf_produce_settle_slow(struct rf_budget_msg *m, int accepted,
							     void *app_payload, int app_flags)
{
	int saved = errno, freed_in_call = rf_budget_settle(m, accepted);

	if (m->payload != NULL && (accepted || freed_in_call) &&
	    (app_flags & (RD_KAFKA_MSG_F_FREE | RD_KAFKA_MSG_F_COPY)) == RD_KAFKA_MSG_F_FREE)
		free(app_payload);
	errno = saved; /* as the real call left it */
}

/* The common case inline: a copy librdkafka took, the application's buffer its own. */
static inline void rf_produce_settle(struct rf_budget_msg *m, int accepted, void *app_payload,
				     int app_flags)
{
	if (__builtin_expect(
		    accepted && !(app_flags & RD_KAFKA_MSG_F_FREE) && rf_budget_settle_live(m), 1))
		return;
	rf_produce_settle_slow(m, accepted, app_payload, app_flags);
}

/* ---- Calls that block ------------------------------------------------------------- */

/*
 * With RD_KAFKA_MSG_F_BLOCK librdkafka waits while the handle's queue is full
 * (rd_kafka_curr_msgs_add: cnd_wait, a cancellation point). A thread
 * cancelled there never comes back to settle, and the message's charge and
 * arena copy would stay for good. Such a call runs under a cleanup handler
 * that settles the message as librdkafka left it:
 *   - cancelled inside that wait (the cnd_wait below saw the thread go in
 *     and not come out): librdkafka 2.0.2 waits in rd_kafka_msg_new0 before
 *     it allocates the message, the only thing that would hold the payload,
 *     so the call is settled as refused: the arena copy and the charge come
 *     back, and the application's F_FREE buffer stays the application's, as
 *     librdkafka leaves it when a call fails;
 *   - cancelled anywhere else in the call: after the wait the message may
 *     be queued already (the wake-up of a broker thread that follows is a
 *     socket write), so it is settled as taken, as if the cancel had come
 *     after the call returned: its copy is credited when librdkafka frees
 *     it. Releasing it here could hand the record to another message while
 *     librdkafka still sends this one.
 * produce_batch tells the two apart by each message's err instead
 * (rf_batch_blocking).
 * Other calls never wait in librdkafka and pay nothing for this: the
 * handler is installed on the F_BLOCK path only (cnd_wait costs everyone
 * else a load and a compare).
 */
struct rf_produce_block {
	struct rf_budget_msg *m; /* the charge; NULL when nothing was charged */
	void *app_payload;       /* the application's payload and flags */
	int app_flags;
	rd_kafka_headers_t **own_hdrs; /* producev's own headers list: ours until taken */
	int in_wait;                   /* inside librdkafka's cnd_wait now */
};

/* The blocking call this thread is in (single-message calls), for cnd_wait. */
static __thread struct rf_produce_block *rf_tls_produce_block
	__attribute__((tls_model("initial-exec")));

/* librdkafka's wait for room in its queue; anyone else's cnd_wait passes straight on. */
RF_EXPORT int cnd_wait(cnd_t *cond, mtx_t *mtx)
{
	struct rf_produce_block *block = rf_tls_produce_block;
	rf_real_cnd_wait_fn real = RF_REAL(cnd_wait);
	int rc;

	if (real == NULL)
		return thrd_error;
	if (__builtin_expect(block == NULL, 1))
		return real(cond, mtx);
	block->in_wait = 1;
	rc = real(cond, mtx);
	block->in_wait = 0;
	return rc;
}

static void rf_produce_block_cancelled(void *arg)
{
	struct rf_produce_block *block = arg;
	int saved = errno;

	rf_tls_produce_block = NULL;
	rf_kafka_in_produce(0);
	if (block->m != NULL)
		rf_produce_settle_slow(block->m, !block->in_wait, block->app_payload,
				       block->app_flags);
	/* Not yet attached to a message: the list is still ours. */
	if (block->in_wait && block->own_hdrs != NULL && *block->own_hdrs != NULL) {
		rf_real_rd_kafka_headers_destroy_fn destroy = RF_REAL(rd_kafka_headers_destroy);

		if (destroy != NULL)
			destroy(*block->own_hdrs);
		*block->own_hdrs = NULL;
	}
	errno = saved;
}

/* The real rd_kafka_produce with F_BLOCK, under the cleanup handler; m: NULL when uncharged. */
static __attribute__((noinline)) int rf_produce_blocking(
	struct rf_budget_msg *m, void *app_payload, int app_flags, rf_real_rd_kafka_produce_fn real,
	rd_kafka_topic_t *rkt, int32_t partition, int msgflags, void *payload, size_t len,
	const void *key, size_t keylen, void *msg_opaque)
{
	struct rf_produce_block block = {
		.m = m, .app_payload = app_payload, .app_flags = app_flags};
	int rc;

	rf_tls_produce_block = &block;
	pthread_cleanup_push(rf_produce_block_cancelled, &block);
	rc = real(rkt, partition, msgflags, payload, len, key, keylen, msg_opaque);
	pthread_cleanup_pop(0);
	rf_tls_produce_block = NULL;
	return rc;
}

/* The real rd_kafka_produceva with F_BLOCK, under the cleanup handler. */
static __attribute__((noinline)) rd_kafka_error_t *rf_produceva_blocking(
	struct rf_produce_block *block, rf_real_rd_kafka_produceva_fn real, rd_kafka_t *rk,
	const rd_kafka_vu_t *vus, size_t cnt)
{
	rd_kafka_error_t *error;

	rf_tls_produce_block = block;
	pthread_cleanup_push(rf_produce_block_cancelled, block);
	error = real(rk, vus, cnt);
	pthread_cleanup_pop(0);
	rf_tls_produce_block = NULL;
	return error;
}

/*
 * rd_kafka_produce, one body for both paths: block is a constant, so the
 * common path carries nothing of the blocking one.
 */
static inline __attribute__((always_inline)) int rf_produce_call(int block, rd_kafka_topic_t *rkt,
								 int32_t partition, int msgflags,
								 void *payload, size_t len,
								 const void *key, size_t keylen,
								 void *msg_opaque)
{
	rf_real_rd_kafka_produce_fn real = RF_REAL(rd_kafka_produce);
	struct rf_budget_msg m;
	void *p = payload;
	int flags = msgflags, charged, rc;

	rf_shim_init();
	rf_kafka_last_error_set(RD_KAFKA_RESP_ERR_NO_ERROR);
	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	/* Read once: a call is settled as it was admitted. */
	charged = rf_budget_enabled();
	if (charged) {
		rc = rf_produce_admit(&m, rf_kafka_topic_slot(rkt), &p, len,
				      rf_budget_msg_extra(keylen, 0, 0), &flags);
		if (rc < 0) {
			rf_kafka_last_error_set(rf_produce_refusal(rc));
			rf_produce_account(RF_PRODUCE_ENTRY_PRODUCE, 0, 1, 0);
			errno = rc == -EMSGSIZE ? EMSGSIZE : ENOBUFS;
			return -1;
		}
	}
	rf_kafka_in_produce(1);
	if (block)
		rc = rf_produce_blocking(charged ? &m : NULL, payload, msgflags, real, rkt,
					 partition, flags, p, len, key, keylen, msg_opaque);
	else
		rc = real(rkt, partition, flags, p, len, key, keylen, msg_opaque);
	rf_kafka_in_produce(0);
	/* errno stays as the real call left it: settling and counting keep it. */
	if (charged)
		rf_produce_settle(&m, rc == 0, payload, msgflags);
	rf_produce_account(RF_PRODUCE_ENTRY_PRODUCE, rc == 0, rc != 0, rc == 0 ? len : 0);
	return rc;
}

static __attribute__((noinline)) int rf_produce_common(rd_kafka_topic_t *rkt, int32_t partition,
						       int msgflags, void *payload, size_t len,
						       const void *key, size_t keylen,
						       void *msg_opaque)
{
	return rf_produce_call(0, rkt, partition, msgflags, payload, len, key, keylen, msg_opaque);
}

static __attribute__((noinline)) int rf_produce_blocks(rd_kafka_topic_t *rkt, int32_t partition,
						       int msgflags, void *payload, size_t len,
						       const void *key, size_t keylen,
						       void *msg_opaque)
{
	return rf_produce_call(1, rkt, partition, msgflags, payload, len, key, keylen, msg_opaque);
}

/* Two jumps, the arguments left in place: the common path pays a test for the other. */
RF_EXPORT int rd_kafka_produce(rd_kafka_topic_t *rkt, int32_t partition, int msgflags,
			       void *payload, size_t len, const void *key, size_t keylen,
			       void *msg_opaque)
{
	if (__builtin_expect((msgflags & RD_KAFKA_MSG_F_BLOCK) != 0, 0))
		return rf_produce_blocks(rkt, partition, msgflags, payload, len, key, keylen,
					 msg_opaque);
	return rf_produce_common(rkt, partition, msgflags, payload, len, key, keylen, msg_opaque);
}

/* The real produceva, its error object turned into a code; block: it may block. */
static inline __attribute__((always_inline)) rd_kafka_resp_err_t rf_produceva_call(
	rd_kafka_t *rk, const rd_kafka_vu_t *vus, size_t cnt, struct rf_produce_block *block)
{
	rf_real_rd_kafka_produceva_fn produceva = RF_REAL(rd_kafka_produceva);
	rf_real_rd_kafka_error_code_fn error_code = RF_REAL(rd_kafka_error_code);
	rf_real_rd_kafka_error_destroy_fn error_destroy = RF_REAL(rd_kafka_error_destroy);
	rd_kafka_resp_err_t err;
	rd_kafka_error_t *error;

	if (produceva == NULL || error_code == NULL || error_destroy == NULL)
		return RD_KAFKA_RESP_ERR__NOT_IMPLEMENTED;
	error = block != NULL ? rf_produceva_blocking(block, produceva, rk, vus, cnt)
			      : produceva(rk, vus, cnt);
	if (error == NULL)
		return RD_KAFKA_RESP_ERR_NO_ERROR;
	err = error_code(error);
	error_destroy(error);
	return err;
}

/*
 * Charge the message of a vu list, msg what it consists of (rf_vus_message,
 * pointing into vus); on a copy, vus is rewritten.
 */
static int rf_vus_admit(struct rf_budget_msg *m, rd_kafka_t *rk, rd_kafka_vu_t *vus, size_t *cnt,
			size_t cap, struct rf_vus_message *msg, void **app_payload, int *app_flags)
{
	void *payload;
	int flags, rc;

	if (msg->headers != NULL)
		rf_kafka_headers_cost(msg->headers, &msg->header_count, &msg->header_bytes);
	payload = msg->value ? msg->value->u.mem.ptr : NULL;
	flags = msg->msgflags ? msg->msgflags->u.i : 0;
	*app_payload = payload;
	*app_flags = flags;
	rc = rf_produce_admit(
		m, rf_kafka_handle_slot(rk), &payload, msg->value ? msg->value->u.mem.size : 0,
		rf_budget_msg_extra(msg->keylen, msg->header_count, msg->header_bytes), &flags);
	if (rc == 0 && m->payload != NULL) {
		msg->value->u.mem.ptr = payload;
		if (msg->msgflags != NULL) {
			msg->msgflags->u.i = flags;
		} else if (*cnt < cap) {
			vus[*cnt].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
			vus[(*cnt)++].u.i = flags;
		}
	}
	return rc;
}

/*
 * The end of rd_kafka_producev once its message is charged to m (NULL when
 * nothing was): the real call unless err, settling, counting. block is a
 * constant: the common path carries nothing of the blocking one.
 */
static inline __attribute__((always_inline)) rd_kafka_resp_err_t rf_producev_end(
	int block, rd_kafka_t *rk, rd_kafka_vu_t *vus, size_t cnt, size_t value_size,
	rd_kafka_resp_err_t err, struct rf_budget_msg *m, void *app_payload, int app_flags,
	rd_kafka_headers_t **own_hdrs)
{
	int saved;

	if (!err) {
		struct rf_produce_block b = {.m = m,
					     .app_payload = app_payload,
					     .app_flags = app_flags,
					     .own_hdrs = own_hdrs};

		rf_kafka_in_produce(1);
		err = rf_produceva_call(rk, vus, cnt, block ? &b : NULL);
		rf_kafka_in_produce(0);
	}
	saved = errno;
	if (m != NULL)
		rf_produce_settle(m, !err, app_payload, app_flags);
	if (err && *own_hdrs != NULL) {
		rf_real_rd_kafka_headers_destroy_fn destroy = RF_REAL(rd_kafka_headers_destroy);
		if (destroy != NULL)
			destroy(*own_hdrs);
	}
	rf_produce_account(RF_PRODUCE_ENTRY_PRODUCEV, !err, err != 0, err ? 0 : value_size);
	errno = saved;
	return err;
}

static __attribute__((noinline)) rd_kafka_resp_err_t rf_producev_blocks(
	rd_kafka_t *rk, rd_kafka_vu_t *vus, size_t cnt, size_t value_size, struct rf_budget_msg *m,
	void *app_payload, int app_flags, rd_kafka_headers_t **own_hdrs)
{
	return rf_producev_end(1, rk, vus, cnt, value_size, RD_KAFKA_RESP_ERR_NO_ERROR, m,
			       app_payload, app_flags, own_hdrs);
}

RF_EXPORT rd_kafka_resp_err_t rd_kafka_producev(rd_kafka_t *rk, ...)
{
	const struct rf_producev_headers headers = {
		.headers_new = RF_REAL(rd_kafka_headers_new),
		.header_add = RF_REAL(rd_kafka_header_add),
	};
	struct rf_producev pv;
	rd_kafka_vu_t vus[RF_PRODUCEV__COUNT + 1]; /* room for a MSGFLAGS entry of our own */
	struct rf_vus_message msg;
	struct rf_budget_msg m;
	rd_kafka_resp_err_t err;
	void *app_payload = NULL;
	int app_flags = 0, charged = 0;
	size_t cnt, value_size;
	va_list ap;

	rf_shim_init();
	rf_kafka_last_error_set(RD_KAFKA_RESP_ERR_NO_ERROR);
	rf_producev_init(&pv);
	va_start(ap, rk);
	err = rf_producev_parse(&pv, ap, &headers);
	va_end(ap);
	cnt = rf_producev_vus(&pv, vus, &msg);
	value_size = msg.value != NULL ? msg.value->u.mem.size : 0;
	if (!err && rf_budget_enabled()) {
		int rc = rf_vus_admit(&m, rk, vus, &cnt, sizeof(vus) / sizeof(vus[0]), &msg,
				      &app_payload, &app_flags);
		if (rc < 0)
			err = rf_produce_refusal(rc);
		else
			charged = 1;
	}
	if (__builtin_expect((app_flags & RD_KAFKA_MSG_F_BLOCK) != 0, 0) && !err)
		return rf_producev_blocks(rk, vus, cnt, value_size, &m, app_payload, app_flags,
					  &pv.own_hdrs);
	return rf_producev_end(0, rk, vus, cnt, value_size, err, charged ? &m : NULL, app_payload,
			       app_flags, &pv.own_hdrs);
}

/*
 * The end of rd_kafka_produceva once its message is charged to m (NULL
 * when nothing was): the real call, settling, counting. block is a
 * constant, as in rf_producev_end.
 */
static inline __attribute__((always_inline)) rd_kafka_error_t *rf_produceva_end(
	int block, rf_real_rd_kafka_produceva_fn real, rd_kafka_t *rk, const rd_kafka_vu_t *vus,
	size_t cnt, size_t value_size, struct rf_budget_msg *m, void *app_payload, int app_flags)
{
	rd_kafka_error_t *error;
	int saved;

	rf_kafka_in_produce(1);
	if (block) {
		struct rf_produce_block b = {
			.m = m, .app_payload = app_payload, .app_flags = app_flags};

		error = rf_produceva_blocking(&b, real, rk, vus, cnt);
	} else {
		error = real(rk, vus, cnt);
	}
	saved = errno;
	rf_kafka_in_produce(0);
	if (m != NULL)
		rf_produce_settle(m, error == NULL, app_payload, app_flags);
	rf_produce_account(RF_PRODUCE_ENTRY_PRODUCEVA, error == NULL, error != NULL,
			   error == NULL ? value_size : 0);
	errno = saved;
	return error;
}

static __attribute__((noinline)) rd_kafka_error_t *rf_produceva_blocks(
	rf_real_rd_kafka_produceva_fn real, rd_kafka_t *rk, const rd_kafka_vu_t *vus, size_t cnt,
	size_t value_size, struct rf_budget_msg *m, void *app_payload, int app_flags)
{
	return rf_produceva_end(1, real, rk, vus, cnt, value_size, m, app_payload, app_flags);
}

/* Longest vu list charged with a copy; longer ones (many headers) are charged uncopied. */
#define RF_PRODUCEVA_VUS_MAX 64

RF_EXPORT rd_kafka_error_t *rd_kafka_produceva(rd_kafka_t *rk, const rd_kafka_vu_t *vus, size_t cnt)
{
	rf_real_rd_kafka_produceva_fn real = RF_REAL(rd_kafka_produceva);
	rd_kafka_vu_t own[RF_PRODUCEVA_VUS_MAX + 1];
	const rd_kafka_vu_t *use = vus;
	struct rf_vus_message msg;
	struct rf_budget_msg m;
	void *app_payload = NULL;
	int app_flags = 0, charged = 0;
	size_t value_size;

	rf_shim_init();
	rf_kafka_last_error_set(RD_KAFKA_RESP_ERR_NO_ERROR);
	if (real == NULL) {
		/* Unreachable in practice: the caller linked librdkafka to call us. */
		errno = ENOSYS;
		return NULL;
	}
	if (rf_budget_enabled() && vus != NULL && cnt <= RF_PRODUCEVA_VUS_MAX) {
		size_t n = cnt;
		int rc;

		memcpy(own, vus, cnt * sizeof(*vus));
		rf_vus_message(own, n, &msg);
		rc = rf_vus_admit(&m, rk, own, &n, sizeof(own) / sizeof(own[0]), &msg, &app_payload,
				  &app_flags);
		if (rc < 0) {
			rf_real_rd_kafka_error_new_fn error_new = RF_REAL(rd_kafka_error_new);
			rd_kafka_resp_err_t err = rf_produce_refusal(rc);
			const char *why =
				err == RD_KAFKA_RESP_ERR__QUEUE_FULL
					? "byte budget exhausted (RINGFENCE_BUDGET)"
					: "message larger than the whole RINGFENCE_BUDGET";

			rf_produce_account(RF_PRODUCE_ENTRY_PRODUCEVA, 0, 1, 0);
			return error_new != NULL ? error_new(err, "ringfence: %s", why) : NULL;
		}
		use = own;
		cnt = n;
		charged = 1;
		value_size = msg.value != NULL ? msg.value->u.mem.size : 0;
	} else {
		value_size = rf_vus_value_size(vus, cnt);
	}
	if (__builtin_expect((app_flags & RD_KAFKA_MSG_F_BLOCK) != 0, 0))
		return rf_produceva_blocks(real, rk, use, cnt, value_size, &m, app_payload,
					   app_flags);
	return rf_produceva_end(0, real, rk, use, cnt, value_size, charged ? &m : NULL, app_payload,
				app_flags);
}

/* Messages of one produce_batch call charged at once; longer batches go in runs. */
#define RF_BATCH_RUN 256

/*
 * Marks the err of each message of a blocking run before the call: librdkafka
 * sets every message's err as it comes to it (the one it waits for, after
 * its wait), and never to this value. Still there after a cancel: the
 * message was never reached.
 */
#define RF_BATCH_UNREACHED RD_KAFKA_RESP_ERR__BEGIN

/*
 * After the call (or its cancel): the application's payloads back in place,
 * each message settled as librdkafka left it, and an F_FREE payload that was
 * not copied freed when taken. app_errs: each err as the application left
 * it, put back where the mark stayed; NULL (a constant) after a call that
 * returned.
 */
static inline __attribute__((always_inline)) void rf_batch_settle(
	rd_kafka_message_t *msgs, int n, int msgflags, int copies, struct rf_budget_msg *charges,
	void **app_payloads, const rd_kafka_resp_err_t *app_errs)
{
	int app_free =
		(msgflags & (RD_KAFKA_MSG_F_FREE | RD_KAFKA_MSG_F_COPY)) == RD_KAFKA_MSG_F_FREE;

	for (int i = 0; i < n; i++) {
		int ok = msgs[i].err == RD_KAFKA_RESP_ERR_NO_ERROR;

		if (app_errs != NULL && msgs[i].err == RF_BATCH_UNREACHED)
			msgs[i].err = app_errs[i];
		msgs[i].payload = app_payloads[i];
		rf_produce_settle(&charges[i], ok, app_payloads[i], msgflags);
		if (copies && charges[i].payload == NULL && ok && app_free)
			free(app_payloads[i]);
	}
}

/* A run of charged messages of one produce_batch call that may block. */
struct rf_batch {
	rd_kafka_message_t *msgs;
	int n;
	int msgflags; /* the application's */
	int copies;
	struct rf_budget_msg *charges;
	void **app_payloads;
	rd_kafka_resp_err_t app_errs[RF_BATCH_RUN];
};

/*
 * A blocking run cancelled inside librdkafka (see "Calls that block"): the
 * messages it reached are settled by their err (taken or refused; the one
 * it waited for was not reached), the others as refused, with their err as
 * the application left it.
 */
static void rf_batch_cancelled(void *arg)
{
	struct rf_batch *b = arg;
	int saved = errno;

	rf_kafka_in_produce(0);
	rf_batch_settle(b->msgs, b->n, b->msgflags, b->copies, b->charges, b->app_payloads,
			b->app_errs);
	errno = saved;
}

/* The real produce_batch with F_BLOCK, under the cleanup handler. */
static __attribute__((noinline)) int rf_batch_blocking(rf_real_rd_kafka_produce_batch_fn real,
						       rd_kafka_topic_t *rkt, int32_t partition,
						       int flags, rd_kafka_message_t *msgs, int n,
						       int msgflags, int copies,
						       struct rf_budget_msg *charges,
						       void **app_payloads)
{
	struct rf_batch b;
	int accepted;

	b.msgs = msgs;
	b.n = n;
	b.msgflags = msgflags;
	b.copies = copies;
	b.charges = charges;
	b.app_payloads = app_payloads;
	for (int i = 0; i < n; i++) {
		b.app_errs[i] = msgs[i].err;
		msgs[i].err = RF_BATCH_UNREACHED;
	}
	pthread_cleanup_push(rf_batch_cancelled, &b);
	accepted = real(rkt, partition, flags, msgs, n);
	pthread_cleanup_pop(0);
	return accepted;
}

/*
 * The real produce_batch on a run of messages that were all charged; the
 * application's payload pointers are put back afterwards. With copies, the
 * one flag word of the call becomes F_FREE for the whole run, so a message
 * that was not copied (an empty payload) goes with a NULL payload, which
 * librdkafka treats alike, and an F_FREE one is freed here on success.
 */
static int rf_batch_run(rf_real_rd_kafka_produce_batch_fn real, rd_kafka_topic_t *rkt,
			int32_t partition, int msgflags, rd_kafka_message_t *msgs, int n,
			struct rf_budget_msg *charges, void **app_payloads, int copies)
{
	int accepted, flags = msgflags;

	if (copies) {
		flags = (msgflags & ~RD_KAFKA_MSG_F_COPY) | RD_KAFKA_MSG_F_FREE;
		for (int i = 0; i < n; i++)
			if (charges[i].payload == NULL)
				msgs[i].payload = NULL;
	}
	rf_kafka_in_produce(1);
	if (__builtin_expect((msgflags & RD_KAFKA_MSG_F_BLOCK) != 0, 0))
		accepted = rf_batch_blocking(real, rkt, partition, flags, msgs, n, msgflags, copies,
					     charges, app_payloads);
	else
		accepted = real(rkt, partition, flags, msgs, n);
	rf_kafka_in_produce(0);
	/* Returned: every err is librdkafka's. */
	rf_batch_settle(msgs, n, msgflags, copies, charges, app_payloads, NULL);
	return accepted;
}

RF_EXPORT int rd_kafka_produce_batch(rd_kafka_topic_t *rkt, int32_t partition, int msgflags,
				     rd_kafka_message_t *rkmessages, int message_cnt)
{
	rf_real_rd_kafka_produce_batch_fn real = RF_REAL(rd_kafka_produce_batch);
	struct rf_budget_msg charges[RF_BATCH_RUN];
	void *app_payloads[RF_BATCH_RUN];
	uint64_t bytes = 0, ok = 0;
	int accepted = 0, saved;

	rf_shim_init();
	rf_kafka_last_error_set(RD_KAFKA_RESP_ERR_NO_ERROR);
	if (real == NULL) {
		errno = ENOSYS;
		return 0;
	}
	if (!rf_budget_enabled() || rkmessages == NULL || message_cnt <= 0) {
		rf_kafka_in_produce(1);
		accepted = real(rkt, partition, msgflags, rkmessages, message_cnt);
		rf_kafka_in_produce(0);
	} else {
		int slot = rf_kafka_topic_slot(rkt);
		int copies = rf_budget_copies() &&
			     (msgflags & (RD_KAFKA_MSG_F_COPY | RD_KAFKA_MSG_F_FREE));
		int start = 0, refused = 0;

		/*
		 * Messages are charged in order; each run of charged messages goes to
		 * librdkafka as one call. A refusal for want of space refuses the rest
		 * with __QUEUE_FULL, as librdkafka does when its queue fills mid-batch;
		 * a message larger than the budget fails alone, as an oversized one does.
		 */
		while (start < message_cnt && !refused) {
			int n = 0, oversized = 0;

			while (start + n < message_cnt && n < RF_BATCH_RUN) {
				rd_kafka_message_t *msg = &rkmessages[start + n];
				int flags = copies ? msgflags : msgflags & RD_KAFKA_MSG_F_BLOCK;
				void *p = msg->payload;
				int rc = rf_produce_admit(&charges[n], slot, &p, msg->len,
							  rf_budget_msg_extra(msg->key_len, 0, 0),
							  &flags);

				if (rc == -EMSGSIZE) {
					msg->err = RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE;
					oversized = 1;
					break;
				}
				if (rc < 0) {
					refused = 1;
					break;
				}
				app_payloads[n] = msg->payload;
				msg->payload = p;
				n++;
			}
			if (n > 0)
				accepted += rf_batch_run(real, rkt, partition, msgflags,
							 &rkmessages[start], n, charges,
							 app_payloads, copies);
			start += n + oversized;
		}
		for (; start < message_cnt; start++)
			rkmessages[start].err = RD_KAFKA_RESP_ERR__QUEUE_FULL;
	}
	saved = errno;
	for (int i = 0; i < message_cnt; i++)
		if (rkmessages[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
			bytes += rkmessages[i].len;
			ok++;
		}
	rf_produce_account(RF_PRODUCE_ENTRY_PRODUCE_BATCH, ok, (uint64_t)message_cnt - ok, bytes);
	errno = saved;
	return accepted;
}
