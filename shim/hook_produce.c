/*
 * hook_produce.c - interposers of librdkafka's four produce entry points.
 *
 * Each one: bring the shim up, call the real function, report the outcome
 * to rf_produce_account, and return exactly what the real call returned
 * with errno as it left it.
 *
 * rd_kafka_producev is variadic and cannot be forwarded as is: its list is
 * re-parsed into rd_kafka_vu_t entries for the real rd_kafka_produceva, with
 * librdkafka 2.0.2's semantics (src/rdkafka_msg.c). HEADER entries are not
 * forwarded as HEADER vus, because 2.0.2's produceva destroys such headers
 * twice when the partitioner fails; they are gathered into a headers list of
 * our own passed as HEADERS, which stays ours when the call fails.
 */
#include <errno.h>
#include <stdarg.h>
#include <sys/types.h>

#include <librdkafka/rdkafka.h>

#include "rf_produce.h"
#include "rf_real.h"
#include "rf_shim.h"

RF_EXPORT int rd_kafka_produce(rd_kafka_topic_t *rkt, int32_t partition, int msgflags,
			       void *payload, size_t len, const void *key, size_t keylen,
			       void *msg_opaque)
{
	rf_real_rd_kafka_produce_fn real = RF_REAL(rd_kafka_produce);
	int rc, saved;

	rf_shim_init();
	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	rc = real(rkt, partition, msgflags, payload, len, key, keylen, msg_opaque);
	saved = errno;
	rf_produce_account(RF_PRODUCE_ENTRY_PRODUCE, rc == 0, rc != 0, rc == 0 ? len : 0);
	errno = saved;
	return rc;
}

/* Payload size of a vu list: the last VALUE wins, as in librdkafka. */
static size_t rf_vus_value_size(const rd_kafka_vu_t *vus, size_t cnt)
{
	size_t size = 0;

	for (size_t i = 0; i < cnt; i++)
		if (vus[i].vtype == RD_KAFKA_VTYPE_VALUE)
			size = vus[i].u.mem.size;
	return size;
}

/* The real produceva, its error object turned into a code. */
static rd_kafka_resp_err_t rf_produceva_call(rd_kafka_t *rk, const rd_kafka_vu_t *vus,
					     size_t cnt)
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

/*
 * One slot per kind of entry keeps librdkafka's last-one-wins rule for
 * repeated entries; TOPIC and RKT share the destination slot because both
 * set the same topic.
 */
enum rf_producev_slot {
	RF_SLOT_DEST,
	RF_SLOT_PARTITION,
	RF_SLOT_VALUE,
	RF_SLOT_KEY,
	RF_SLOT_OPAQUE,
	RF_SLOT_MSGFLAGS,
	RF_SLOT_TIMESTAMP,
	RF_SLOT_HEADERS,
	RF_SLOT__COUNT
};

struct rf_producev {
	rd_kafka_vu_t vus[RF_SLOT__COUNT];
	int used[RF_SLOT__COUNT];
	rd_kafka_headers_t *own_hdrs; /* built from HEADER entries; ours until accepted */
};

static void rf_producev_put(struct rf_producev *pv, enum rf_producev_slot slot,
			    const rd_kafka_vu_t *vu)
{
	pv->vus[slot] = *vu;
	pv->used[slot] = 1;
}

/*
 * Walks the argument list the way librdkafka's producev does, stopping at
 * the first error. Returns the error librdkafka would have found.
 */
static rd_kafka_resp_err_t rf_producev_parse(struct rf_producev *pv, va_list ap)
{
	rf_real_rd_kafka_headers_new_fn headers_new = RF_REAL(rd_kafka_headers_new);
	rf_real_rd_kafka_header_add_fn header_add = RF_REAL(rd_kafka_header_add);
	rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
	rd_kafka_vtype_t vtype;
	rd_kafka_vu_t vu;

	while (!err && (vtype = va_arg(ap, rd_kafka_vtype_t)) != RD_KAFKA_VTYPE_END) {
		vu.vtype = vtype;
		switch (vtype) {
		case RD_KAFKA_VTYPE_TOPIC:
			vu.u.cstr = va_arg(ap, const char *);
			rf_producev_put(pv, RF_SLOT_DEST, &vu);
			break;
		case RD_KAFKA_VTYPE_RKT:
			vu.u.rkt = va_arg(ap, rd_kafka_topic_t *);
			rf_producev_put(pv, RF_SLOT_DEST, &vu);
			break;
		case RD_KAFKA_VTYPE_PARTITION:
			vu.u.i32 = va_arg(ap, int32_t);
			rf_producev_put(pv, RF_SLOT_PARTITION, &vu);
			break;
		case RD_KAFKA_VTYPE_VALUE:
			vu.u.mem.ptr = va_arg(ap, void *);
			vu.u.mem.size = va_arg(ap, size_t);
			rf_producev_put(pv, RF_SLOT_VALUE, &vu);
			break;
		case RD_KAFKA_VTYPE_KEY:
			vu.u.mem.ptr = va_arg(ap, void *);
			vu.u.mem.size = va_arg(ap, size_t);
			rf_producev_put(pv, RF_SLOT_KEY, &vu);
			break;
		case RD_KAFKA_VTYPE_OPAQUE:
			vu.u.ptr = va_arg(ap, void *);
			rf_producev_put(pv, RF_SLOT_OPAQUE, &vu);
			break;
		case RD_KAFKA_VTYPE_MSGFLAGS:
			vu.u.i = va_arg(ap, int);
			rf_producev_put(pv, RF_SLOT_MSGFLAGS, &vu);
			break;
		case RD_KAFKA_VTYPE_TIMESTAMP:
			vu.u.i64 = va_arg(ap, int64_t);
			rf_producev_put(pv, RF_SLOT_TIMESTAMP, &vu);
			break;
		case RD_KAFKA_VTYPE_HEADER: {
			const char *name = va_arg(ap, const char *);
			const void *value = va_arg(ap, const void *);
			ssize_t size = va_arg(ap, ssize_t);

			if (pv->used[RF_SLOT_HEADERS] && pv->own_hdrs == NULL) {
				err = RD_KAFKA_RESP_ERR__CONFLICT;
				break;
			}
			if (headers_new == NULL || header_add == NULL) {
				err = RD_KAFKA_RESP_ERR__NOT_IMPLEMENTED;
				break;
			}
			if (pv->own_hdrs == NULL) {
				pv->own_hdrs = headers_new(8);
				vu.vtype = RD_KAFKA_VTYPE_HEADERS;
				vu.u.headers = pv->own_hdrs;
				rf_producev_put(pv, RF_SLOT_HEADERS, &vu);
			}
			err = header_add(pv->own_hdrs, name, -1, value, size);
			break;
		}
		case RD_KAFKA_VTYPE_HEADERS:
			if (pv->own_hdrs != NULL) {
				err = RD_KAFKA_RESP_ERR__CONFLICT;
				break;
			}
			vu.u.headers = va_arg(ap, rd_kafka_headers_t *);
			rf_producev_put(pv, RF_SLOT_HEADERS, &vu);
			break;
		default:
			/* Its arguments have an unknown size: nothing after it can be read. */
			err = RD_KAFKA_RESP_ERR__INVALID_ARG;
			break;
		}
	}
	return err;
}

RF_EXPORT rd_kafka_resp_err_t rd_kafka_producev(rd_kafka_t *rk, ...)
{
	struct rf_producev pv = {0};
	rd_kafka_vu_t vus[RF_SLOT__COUNT];
	rd_kafka_resp_err_t err;
	size_t cnt = 0;
	va_list ap;
	int saved;

	rf_shim_init();
	va_start(ap, rk);
	err = rf_producev_parse(&pv, ap);
	va_end(ap);

	for (int slot = 0; slot < RF_SLOT__COUNT; slot++)
		if (pv.used[slot])
			vus[cnt++] = pv.vus[slot];
	/* librdkafka checks for a topic before it looks at the parse error. */
	if (!pv.used[RF_SLOT_DEST])
		err = RD_KAFKA_RESP_ERR__INVALID_ARG;
	if (!err)
		err = rf_produceva_call(rk, vus, cnt);
	saved = errno;
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

RF_EXPORT rd_kafka_error_t *rd_kafka_produceva(rd_kafka_t *rk, const rd_kafka_vu_t *vus,
					       size_t cnt)
{
	rf_real_rd_kafka_produceva_fn real = RF_REAL(rd_kafka_produceva);
	rd_kafka_error_t *error;
	int saved;

	rf_shim_init();
	if (real == NULL) {
		/* Unreachable in practice: the caller linked librdkafka to call us. */
		errno = ENOSYS;
		return NULL;
	}
	error = real(rk, vus, cnt);
	saved = errno;
	rf_produce_account(RF_PRODUCE_ENTRY_PRODUCEVA, error == NULL, error != NULL,
			   error == NULL ? rf_vus_value_size(vus, cnt) : 0);
	errno = saved;
	return error;
}

RF_EXPORT int rd_kafka_produce_batch(rd_kafka_topic_t *rkt, int32_t partition, int msgflags,
				     rd_kafka_message_t *rkmessages, int message_cnt)
{
	rf_real_rd_kafka_produce_batch_fn real = RF_REAL(rd_kafka_produce_batch);
	uint64_t bytes = 0;
	int accepted, saved;

	rf_shim_init();
	if (real == NULL) {
		errno = ENOSYS;
		return 0;
	}
	accepted = real(rkt, partition, msgflags, rkmessages, message_cnt);
	saved = errno;
	for (int i = 0; i < message_cnt; i++)
		if (rkmessages[i].err == RD_KAFKA_RESP_ERR_NO_ERROR)
			bytes += rkmessages[i].len;
	rf_produce_account(RF_PRODUCE_ENTRY_PRODUCE_BATCH, (uint64_t)(accepted > 0 ? accepted : 0),
			   (uint64_t)(message_cnt - (accepted > 0 ? accepted : 0)), bytes);
	errno = saved;
	return accepted;
}
