/*
 * test_produce.c - rd_kafka_producev's argument list re-parsed as
 * librdkafka 2.0.2 parses it (src/rdkafka_msg.c), with librdkafka's own
 * header functions; what a vu list's message consists of.
 */
#include <stdarg.h>
#include <string.h>

#include "rf_produce.h"
#include "rf_test.h"

static const struct rf_producev_headers rf_headers = {
	.headers_new = rd_kafka_headers_new,
	.header_add = rd_kafka_header_add,
};

/* What the interposer does with its arguments: parse, then list the vus. */
static rd_kafka_resp_err_t rf_parse(struct rf_producev *pv, rd_kafka_vu_t *vus, size_t *cnt,
				    const struct rf_producev_headers *headers, ...)
{
	struct rf_vus_message msg, walked;
	rd_kafka_resp_err_t err;
	va_list ap;

	/* Whatever an earlier call left in the vus must not show through. */
	memset(pv, 0x5a, sizeof(*pv));
	rf_producev_init(pv);
	va_start(ap, headers);
	err = rf_producev_parse(pv, ap, headers);
	va_end(ap);
	*cnt = rf_producev_vus(pv, vus, &msg);
	/* What the list says of its message, as a walk of the vus finds it. */
	rf_vus_message(vus, *cnt, &walked);
	RF_CHECK(memcmp(&msg, &walked, sizeof(msg)) == 0);
	return err;
}

static const rd_kafka_vu_t *rf_find(const rd_kafka_vu_t *vus, size_t cnt, rd_kafka_vtype_t t)
{
	for (size_t i = 0; i < cnt; i++)
		if (vus[i].vtype == t)
			return &vus[i];
	return NULL;
}

RF_TEST(every_kind_in_order)
{
	struct rf_producev pv;
	rd_kafka_vu_t vus[RF_PRODUCEV__COUNT];
	rd_kafka_headers_t *hdrs = rd_kafka_headers_new(1);
	char value[] = "payload", key[] = "k";
	size_t cnt;

	RF_CHECK_INT(rf_parse(&pv, vus, &cnt, &rf_headers, RD_KAFKA_VTYPE_HEADERS, hdrs,
			      RD_KAFKA_VTYPE_TIMESTAMP, (int64_t)1234, RD_KAFKA_VTYPE_MSGFLAGS,
			      RD_KAFKA_MSG_F_COPY, RD_KAFKA_VTYPE_OPAQUE, (void *)value,
			      RD_KAFKA_VTYPE_KEY, key, (size_t)1, RD_KAFKA_VTYPE_VALUE, value,
			      (size_t)7, RD_KAFKA_VTYPE_PARTITION, (int32_t)3, RD_KAFKA_VTYPE_TOPIC,
			      "events", RD_KAFKA_VTYPE_END),
		     RD_KAFKA_RESP_ERR_NO_ERROR);
	RF_CHECK_INT(cnt, RF_PRODUCEV__COUNT);
	/* Handed on in kind order, whatever the order of the arguments. */
	RF_CHECK_INT(vus[0].vtype, RD_KAFKA_VTYPE_TOPIC);
	RF_CHECK_STR(vus[0].u.cstr, "events");
	RF_CHECK_INT(vus[1].u.i32, 3);
	RF_CHECK(vus[2].u.mem.ptr == value && vus[2].u.mem.size == 7);
	RF_CHECK(vus[3].u.mem.ptr == key && vus[3].u.mem.size == 1);
	RF_CHECK(vus[4].u.ptr == value);
	RF_CHECK_INT(vus[5].u.i, RD_KAFKA_MSG_F_COPY);
	RF_CHECK_INT(vus[6].u.i64, 1234);
	RF_CHECK(vus[7].vtype == RD_KAFKA_VTYPE_HEADERS && vus[7].u.headers == hdrs);
	RF_CHECK(pv.own_hdrs == NULL);
	RF_CHECK_INT(rf_vus_value_size(vus, cnt), 7);
	rd_kafka_headers_destroy(hdrs);
}

RF_TEST(the_last_of_a_kind_wins)
{
	struct rf_producev pv;
	rd_kafka_vu_t vus[RF_PRODUCEV__COUNT];
	rd_kafka_topic_t *rkt = (rd_kafka_topic_t *)&pv;
	size_t cnt;

	RF_CHECK_INT(rf_parse(&pv, vus, &cnt, &rf_headers, RD_KAFKA_VTYPE_TOPIC, "first",
			      RD_KAFKA_VTYPE_VALUE, "aa", (size_t)2, RD_KAFKA_VTYPE_RKT, rkt,
			      RD_KAFKA_VTYPE_VALUE, "bbbb", (size_t)4, RD_KAFKA_VTYPE_END),
		     RD_KAFKA_RESP_ERR_NO_ERROR);
	/* TOPIC and RKT set the same destination: the later one stands. */
	RF_CHECK_INT(cnt, 2);
	RF_CHECK(vus[0].vtype == RD_KAFKA_VTYPE_RKT && vus[0].u.rkt == rkt);
	RF_CHECK_INT(vus[1].u.mem.size, 4);
	RF_CHECK(rf_find(vus, cnt, RD_KAFKA_VTYPE_TOPIC) == NULL);
}

RF_TEST(header_entries_become_one_list_of_our_own)
{
	struct rf_producev pv;
	rd_kafka_vu_t vus[RF_PRODUCEV__COUNT];
	const void *value;
	size_t cnt, size;

	RF_CHECK_INT(rf_parse(&pv, vus, &cnt, &rf_headers, RD_KAFKA_VTYPE_TOPIC, "t",
			      RD_KAFKA_VTYPE_HEADER, "trace", "abc", (ssize_t)3,
			      RD_KAFKA_VTYPE_HEADER, "empty", NULL, (ssize_t)0, RD_KAFKA_VTYPE_END),
		     RD_KAFKA_RESP_ERR_NO_ERROR);
	RF_CHECK(pv.own_hdrs != NULL);
	RF_CHECK(rf_find(vus, cnt, RD_KAFKA_VTYPE_HEADER) == NULL); /* never forwarded as HEADER */
	RF_CHECK(rf_find(vus, cnt, RD_KAFKA_VTYPE_HEADERS)->u.headers == pv.own_hdrs);
	RF_CHECK_INT(rd_kafka_header_cnt(pv.own_hdrs), 2);
	RF_CHECK_INT(rd_kafka_header_get_last(pv.own_hdrs, "trace", &value, &size), 0);
	RF_CHECK(size == 3 && memcmp(value, "abc", 3) == 0);
	rd_kafka_headers_destroy(pv.own_hdrs);
}

RF_TEST(header_and_headers_conflict_either_way)
{
	struct rf_producev pv;
	rd_kafka_vu_t vus[RF_PRODUCEV__COUNT];
	rd_kafka_headers_t *hdrs = rd_kafka_headers_new(1);
	size_t cnt;

	RF_CHECK_INT(rf_parse(&pv, vus, &cnt, &rf_headers, RD_KAFKA_VTYPE_TOPIC, "t",
			      RD_KAFKA_VTYPE_HEADERS, hdrs, RD_KAFKA_VTYPE_HEADER, "a", "b",
			      (ssize_t)1, RD_KAFKA_VTYPE_END),
		     RD_KAFKA_RESP_ERR__CONFLICT);
	RF_CHECK(pv.own_hdrs == NULL);
	RF_CHECK_INT(rf_parse(&pv, vus, &cnt, &rf_headers, RD_KAFKA_VTYPE_TOPIC, "t",
			      RD_KAFKA_VTYPE_HEADER, "a", "b", (ssize_t)1, RD_KAFKA_VTYPE_HEADERS,
			      hdrs, RD_KAFKA_VTYPE_END),
		     RD_KAFKA_RESP_ERR__CONFLICT);
	/* The list made for the HEADER entry is the caller's to destroy. */
	RF_CHECK(pv.own_hdrs != NULL);
	rd_kafka_headers_destroy(pv.own_hdrs);
	rd_kafka_headers_destroy(hdrs);
}

RF_TEST(errors_as_librdkafka_reports_them)
{
	const struct rf_producev_headers none = {0};
	struct rf_producev pv;
	rd_kafka_vu_t vus[RF_PRODUCEV__COUNT];
	size_t cnt;

	/* No destination: __INVALID_ARG, before any error of the walk. */
	RF_CHECK_INT(rf_parse(&pv, vus, &cnt, &rf_headers, RD_KAFKA_VTYPE_VALUE, "x", (size_t)1,
			      RD_KAFKA_VTYPE_END),
		     RD_KAFKA_RESP_ERR__INVALID_ARG);
	RF_CHECK_INT(rf_parse(&pv, vus, &cnt, &none, RD_KAFKA_VTYPE_HEADER, "a", "b", (ssize_t)1,
			      RD_KAFKA_VTYPE_END),
		     RD_KAFKA_RESP_ERR__INVALID_ARG);
	/* An unknown type stops the walk: what follows it cannot be read. */
	RF_CHECK_INT(rf_parse(&pv, vus, &cnt, &rf_headers, RD_KAFKA_VTYPE_TOPIC, "t",
			      (rd_kafka_vtype_t)99, RD_KAFKA_VTYPE_VALUE, "x", (size_t)1,
			      RD_KAFKA_VTYPE_END),
		     RD_KAFKA_RESP_ERR__INVALID_ARG);
	RF_CHECK(rf_find(vus, cnt, RD_KAFKA_VTYPE_VALUE) == NULL);
	/* Without librdkafka's header functions a HEADER entry cannot be kept. */
	RF_CHECK_INT(rf_parse(&pv, vus, &cnt, &none, RD_KAFKA_VTYPE_TOPIC, "t",
			      RD_KAFKA_VTYPE_HEADER, "a", "b", (ssize_t)1, RD_KAFKA_VTYPE_END),
		     RD_KAFKA_RESP_ERR__NOT_IMPLEMENTED);
}

RF_TEST(vus_message_sums_what_is_charged)
{
	char value[100];
	rd_kafka_vu_t vus[] = {
		{.vtype = RD_KAFKA_VTYPE_TOPIC, .u.cstr = "t"},
		{.vtype = RD_KAFKA_VTYPE_VALUE, .u.mem = {value, 10}},
		{.vtype = RD_KAFKA_VTYPE_KEY, .u.mem = {value, 5}},
		{.vtype = RD_KAFKA_VTYPE_HEADER, .u.header = {"name", value, 20}},
		{.vtype = RD_KAFKA_VTYPE_HEADER, .u.header = {"n2", NULL, -1}},
		{.vtype = RD_KAFKA_VTYPE_VALUE, .u.mem = {value, 100}},
		{.vtype = RD_KAFKA_VTYPE_MSGFLAGS, .u.i = RD_KAFKA_MSG_F_FREE},
	};
	struct rf_vus_message msg;

	rf_vus_message(vus, sizeof(vus) / sizeof(vus[0]), &msg);
	RF_CHECK(msg.value == &vus[5]);
	RF_CHECK(msg.msgflags == &vus[6]);
	RF_CHECK(msg.headers == NULL);
	RF_CHECK_INT(msg.keylen, 5);
	RF_CHECK_INT(msg.header_count, 2);
	RF_CHECK_INT(msg.header_bytes, 4 + 20 + 2); /* a negative size counts nothing */
	RF_CHECK_INT(rf_vus_value_size(vus, sizeof(vus) / sizeof(vus[0])), 100);
}

RF_TEST_MAIN(RF_TEST_ENTRY(every_kind_in_order), RF_TEST_ENTRY(the_last_of_a_kind_wins),
	     RF_TEST_ENTRY(header_entries_become_one_list_of_our_own),
	     RF_TEST_ENTRY(header_and_headers_conflict_either_way),
	     RF_TEST_ENTRY(errors_as_librdkafka_reports_them),
	     RF_TEST_ENTRY(vus_message_sums_what_is_charged))
