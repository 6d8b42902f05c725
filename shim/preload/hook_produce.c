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
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

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

RF_EXPORT int rd_kafka_produce(rd_kafka_topic_t *rkt, int32_t partition, int msgflags,
			       void *payload, size_t len, const void *key, size_t keylen,
			       void *msg_opaque)
{
	rf_real_rd_kafka_produce_fn real = RF_REAL(rd_kafka_produce);
	struct rf_budget_msg m;
	void *p = payload;
	int flags = msgflags, rc;

	rf_shim_init();
	rf_kafka_last_error_set(RD_KAFKA_RESP_ERR_NO_ERROR);
	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	if (rf_budget_enabled()) {
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
	rc = real(rkt, partition, flags, p, len, key, keylen, msg_opaque);
	rf_kafka_in_produce(0);
	/* errno stays as the real call left it: settling and counting keep it. */
	if (rf_budget_enabled())
		rf_produce_settle(&m, rc == 0, payload, msgflags);
	rf_produce_account(RF_PRODUCE_ENTRY_PRODUCE, rc == 0, rc != 0, rc == 0 ? len : 0);
	return rc;
}

/* The real produceva, its error object turned into a code. */
static rd_kafka_resp_err_t rf_produceva_call(rd_kafka_t *rk, const rd_kafka_vu_t *vus, size_t cnt)
{
	rf_real_rd_kafka_produceva_fn produceva = RF_REAL(rd_kafka_produceva);
	rf_real_rd_kafka_error_code_fn error_code = RF_REAL(rd_kafka_error_code);
	rf_real_rd_kafka_error_destroy_fn error_destroy = RF_REAL(rd_kafka_error_destroy);
	rd_kafka_resp_err_t err;
	rd_kafka_error_t *error;

	if (produceva == NULL || error_code == NULL || error_destroy == NULL)
		return RD_KAFKA_RESP_ERR__NOT_IMPLEMENTED;
	error = produceva(rk, vus, cnt);
	if (error == NULL)
		return RD_KAFKA_RESP_ERR_NO_ERROR;
	err = error_code(error);
	error_destroy(error);
	return err;
}

/* Charge the message a vu list describes; on a copy, vus is rewritten. */
static int rf_vus_admit(struct rf_budget_msg *m, rd_kafka_t *rk, rd_kafka_vu_t *vus, size_t *cnt,
			size_t cap, void **app_payload, int *app_flags)
{
	struct rf_vus_message msg;
	void *payload;
	int flags, rc;

	rf_vus_message(vus, *cnt, &msg);
	if (msg.headers != NULL)
		rf_kafka_headers_cost(msg.headers, &msg.header_count, &msg.header_bytes);
	payload = msg.value ? msg.value->u.mem.ptr : NULL;
	flags = msg.msgflags ? msg.msgflags->u.i : 0;
	*app_payload = payload;
	*app_flags = flags;
	rc = rf_produce_admit(
		m, rf_kafka_handle_slot(rk), &payload, msg.value ? msg.value->u.mem.size : 0,
		rf_budget_msg_extra(msg.keylen, msg.header_count, msg.header_bytes), &flags);
	if (rc == 0 && m->payload != NULL) {
		msg.value->u.mem.ptr = payload;
		if (msg.msgflags != NULL) {
			msg.msgflags->u.i = flags;
		} else if (*cnt < cap) {
			vus[*cnt].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
			vus[(*cnt)++].u.i = flags;
		}
	}
	return rc;
}

RF_EXPORT rd_kafka_resp_err_t rd_kafka_producev(rd_kafka_t *rk, ...)
{
	const struct rf_producev_headers headers = {
		.headers_new = RF_REAL(rd_kafka_headers_new),
		.header_add = RF_REAL(rd_kafka_header_add),
	};
	struct rf_producev pv = {0};
	rd_kafka_vu_t vus[RF_PRODUCEV__COUNT + 1]; /* room for a MSGFLAGS entry of our own */
	struct rf_budget_msg m;
	rd_kafka_resp_err_t err;
	void *app_payload = NULL;
	int app_flags = 0, charged = 0;
	size_t cnt;
	va_list ap;
	int saved;

	rf_shim_init();
	rf_kafka_last_error_set(RD_KAFKA_RESP_ERR_NO_ERROR);
	va_start(ap, rk);
	err = rf_producev_parse(&pv, ap, &headers);
	va_end(ap);
	cnt = rf_producev_vus(&pv, vus);
	if (!err && rf_budget_enabled()) {
		int rc = rf_vus_admit(&m, rk, vus, &cnt, sizeof(vus) / sizeof(vus[0]), &app_payload,
				      &app_flags);
		if (rc < 0)
			err = rf_produce_refusal(rc);
		else
			charged = 1;
	}
	if (!err) {
		rf_kafka_in_produce(1);
		err = rf_produceva_call(rk, vus, cnt);
		rf_kafka_in_produce(0);
	}
	saved = errno;
	if (charged)
		rf_produce_settle(&m, !err, app_payload, app_flags);
	if (err && pv.own_hdrs != NULL) {
		rf_real_rd_kafka_headers_destroy_fn destroy = RF_REAL(rd_kafka_headers_destroy);
		if (destroy != NULL)
			destroy(pv.own_hdrs);
	}
	rf_produce_account(RF_PRODUCE_ENTRY_PRODUCEV, !err, err != 0,
			   err ? 0 : rf_vus_value_size(vus, cnt));
	errno = saved;
	return err;
}

/* Longest vu list charged with a copy; longer ones (many headers) are charged uncopied. */
#define RF_PRODUCEVA_VUS_MAX 64

RF_EXPORT rd_kafka_error_t *rd_kafka_produceva(rd_kafka_t *rk, const rd_kafka_vu_t *vus, size_t cnt)
{
	rf_real_rd_kafka_produceva_fn real = RF_REAL(rd_kafka_produceva);
	rd_kafka_vu_t own[RF_PRODUCEVA_VUS_MAX + 1];
	const rd_kafka_vu_t *use = vus;
	struct rf_budget_msg m;
	rd_kafka_error_t *error;
	void *app_payload = NULL;
	int app_flags = 0, charged = 0, saved;

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
		rc = rf_vus_admit(&m, rk, own, &n, sizeof(own) / sizeof(own[0]), &app_payload,
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
	}
	rf_kafka_in_produce(1);
	error = real(rk, use, cnt);
	saved = errno;
	rf_kafka_in_produce(0);
	if (charged)
		rf_produce_settle(&m, error == NULL, app_payload, app_flags);
	rf_produce_account(RF_PRODUCE_ENTRY_PRODUCEVA, error == NULL, error != NULL,
			   error == NULL ? rf_vus_value_size(use, cnt) : 0);
	errno = saved;
	return error;
}

/* Messages of one produce_batch call charged at once; longer batches go in runs. */
#define RF_BATCH_RUN 256

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
	int app_free =
		(msgflags & (RD_KAFKA_MSG_F_FREE | RD_KAFKA_MSG_F_COPY)) == RD_KAFKA_MSG_F_FREE;
	int accepted, flags = msgflags;

	if (copies) {
		flags = (msgflags & ~RD_KAFKA_MSG_F_COPY) | RD_KAFKA_MSG_F_FREE;
		for (int i = 0; i < n; i++)
			if (charges[i].payload == NULL)
				msgs[i].payload = NULL;
	}
	rf_kafka_in_produce(1);
	accepted = real(rkt, partition, flags, msgs, n);
	rf_kafka_in_produce(0);
	for (int i = 0; i < n; i++) {
		int ok = msgs[i].err == RD_KAFKA_RESP_ERR_NO_ERROR;

		msgs[i].payload = app_payloads[i];
		rf_produce_settle(&charges[i], ok, app_payloads[i], msgflags);
		if (copies && charges[i].payload == NULL && ok && app_free)
			free(app_payloads[i]);
	}
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
