/*
 * rf_produce.c - the produce calls as the core sees them (rf_produce.h).
 */
#include "rf_produce.h"

#include <string.h>

#include "rf_stats.h"

#define RF_PRODUCEV_BIT(kind) (1u << (kind))

/*
 * The entry of kind, now given as vtype: the last one of a kind wins. Of
 * its value only u.mem's 16 bytes are ever set, the largest member the
 * parse fills (rd_kafka_vu_t is 72 bytes, padding for members to come), and
 * only they are handed on.
 */
static inline rd_kafka_vu_t *rf_producev_put(struct rf_producev *pv, enum rf_producev_kind kind,
					     rd_kafka_vtype_t vtype)
{
	rd_kafka_vu_t *vu = &pv->vus[kind];

	pv->used |= RF_PRODUCEV_BIT(kind);
	vu->vtype = vtype;
	memset(&vu->u.mem, 0, sizeof(vu->u.mem)); /* what a smaller member leaves */
	return vu;
}

/* A HEADER entry: added to the list of our own, made at the first one. */
static rd_kafka_resp_err_t rf_producev_header(struct rf_producev *pv, const char *name,
					      const void *value, ssize_t size,
					      const struct rf_producev_headers *headers)
{
	if ((pv->used & RF_PRODUCEV_BIT(RF_PRODUCEV_HEADERS)) && pv->own_hdrs == NULL)
		return RD_KAFKA_RESP_ERR__CONFLICT; /* a HEADERS entry came first */
	if (headers->headers_new == NULL || headers->header_add == NULL)
		return RD_KAFKA_RESP_ERR__NOT_IMPLEMENTED;
	if (pv->own_hdrs == NULL) {
		pv->own_hdrs = headers->headers_new(8);
		rf_producev_put(pv, RF_PRODUCEV_HEADERS, RD_KAFKA_VTYPE_HEADERS)->u.headers =
			pv->own_hdrs;
	}
	return headers->header_add(pv->own_hdrs, name, -1, value, size);
}

rd_kafka_resp_err_t rf_producev_parse(struct rf_producev *pv, va_list ap,
				      const struct rf_producev_headers *headers)
{
	rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
	rd_kafka_vtype_t vtype;
	rd_kafka_vu_t *vu;

	while (!err && (vtype = va_arg(ap, rd_kafka_vtype_t)) != RD_KAFKA_VTYPE_END) {
		switch (vtype) {
		case RD_KAFKA_VTYPE_TOPIC:
			rf_producev_put(pv, RF_PRODUCEV_DEST, vtype)->u.cstr =
				va_arg(ap, const char *);
			break;
		case RD_KAFKA_VTYPE_RKT:
			rf_producev_put(pv, RF_PRODUCEV_DEST, vtype)->u.rkt =
				va_arg(ap, rd_kafka_topic_t *);
			break;
		case RD_KAFKA_VTYPE_PARTITION:
			rf_producev_put(pv, RF_PRODUCEV_PARTITION, vtype)->u.i32 =
				va_arg(ap, int32_t);
			break;
		case RD_KAFKA_VTYPE_VALUE:
			vu = rf_producev_put(pv, RF_PRODUCEV_VALUE, vtype);
			vu->u.mem.ptr = va_arg(ap, void *);
			vu->u.mem.size = va_arg(ap, size_t);
			break;
		case RD_KAFKA_VTYPE_KEY:
			vu = rf_producev_put(pv, RF_PRODUCEV_KEY, vtype);
			vu->u.mem.ptr = va_arg(ap, void *);
			vu->u.mem.size = va_arg(ap, size_t);
			break;
		case RD_KAFKA_VTYPE_OPAQUE:
			rf_producev_put(pv, RF_PRODUCEV_OPAQUE, vtype)->u.ptr = va_arg(ap, void *);
			break;
		case RD_KAFKA_VTYPE_MSGFLAGS:
			rf_producev_put(pv, RF_PRODUCEV_MSGFLAGS, vtype)->u.i = va_arg(ap, int);
			break;
		case RD_KAFKA_VTYPE_TIMESTAMP:
			rf_producev_put(pv, RF_PRODUCEV_TIMESTAMP, vtype)->u.i64 =
				va_arg(ap, int64_t);
			break;
		case RD_KAFKA_VTYPE_HEADER: {
			const char *name = va_arg(ap, const char *);
			const void *value = va_arg(ap, const void *);
			ssize_t size = va_arg(ap, ssize_t);

			err = rf_producev_header(pv, name, value, size, headers);
			break;
		}
		case RD_KAFKA_VTYPE_HEADERS:
			if (pv->own_hdrs != NULL) {
				err = RD_KAFKA_RESP_ERR__CONFLICT; /* HEADER entries came first */
				break;
			}
			rf_producev_put(pv, RF_PRODUCEV_HEADERS, vtype)->u.headers =
				va_arg(ap, rd_kafka_headers_t *);
			break;
		default:
			/* Its arguments have an unknown size: nothing after it can be read. */
			err = RD_KAFKA_RESP_ERR__INVALID_ARG;
			break;
		}
	}
	return (pv->used & RF_PRODUCEV_BIT(RF_PRODUCEV_DEST)) ? err
							      : RD_KAFKA_RESP_ERR__INVALID_ARG;
}

size_t rf_producev_vus(const struct rf_producev *pv, rd_kafka_vu_t *vus, struct rf_vus_message *msg)
{
	size_t cnt = 0;

	memset(msg, 0, sizeof(*msg));
	for (uint32_t used = pv->used; used != 0; used &= used - 1, cnt++) {
		int kind = __builtin_ctz(used);

		vus[cnt].vtype = pv->vus[kind].vtype;
		vus[cnt].u.mem = pv->vus[kind].u.mem;
		if (kind == RF_PRODUCEV_VALUE)
			msg->value = &vus[cnt];
		else if (kind == RF_PRODUCEV_MSGFLAGS)
			msg->msgflags = &vus[cnt];
	}
	if (pv->used & RF_PRODUCEV_BIT(RF_PRODUCEV_KEY))
		msg->keylen = pv->vus[RF_PRODUCEV_KEY].u.mem.size;
	/* HEADER entries are in own_hdrs, a HEADERS entry: counted with the list. */
	if (pv->used & RF_PRODUCEV_BIT(RF_PRODUCEV_HEADERS))
		msg->headers = pv->vus[RF_PRODUCEV_HEADERS].u.headers;
	return cnt;
}

void rf_vus_message(rd_kafka_vu_t *vus, size_t cnt, struct rf_vus_message *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < cnt; i++) {
		switch (vus[i].vtype) {
		case RD_KAFKA_VTYPE_VALUE:
			out->value = &vus[i];
			break;
		case RD_KAFKA_VTYPE_KEY:
			out->keylen = vus[i].u.mem.size;
			break;
		case RD_KAFKA_VTYPE_MSGFLAGS:
			out->msgflags = &vus[i];
			break;
		case RD_KAFKA_VTYPE_HEADERS:
			out->headers = vus[i].u.headers;
			break;
		case RD_KAFKA_VTYPE_HEADER:
			out->header_count++;
			out->header_bytes +=
				(vus[i].u.header.name ? strlen(vus[i].u.header.name) : 0) +
				(vus[i].u.header.size > 0 ? (size_t)vus[i].u.header.size : 0);
			break;
		default:
			break;
		}
	}
}

size_t rf_vus_value_size(const rd_kafka_vu_t *vus, size_t cnt)
{
	size_t size = 0;

	for (size_t i = 0; i < cnt; i++)
		if (vus[i].vtype == RD_KAFKA_VTYPE_VALUE)
			size = vus[i].u.mem.size;
	return size;
}
