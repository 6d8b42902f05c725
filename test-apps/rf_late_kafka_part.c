/*
 * rf_late_kafka_part.c - a library that produces through librdkafka, loaded
 * by rf-safety-app with dlopen(RTLD_LOCAL) as Python loads its extension:
 * its calls reach librdkafka through its own PLT, so a preloaded shim
 * interposes them although librdkafka came after the shim's start-up.
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <string.h>

__attribute__((visibility("default"))) int rf_late_produce(int count, int *left);

int rf_late_produce(int count, int *left)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char err[512], payload[100];
	rd_kafka_topic_t *rkt;
	rd_kafka_t *rk;
	int produced = 0;

	rd_kafka_conf_set(conf, "bootstrap.servers", "127.0.0.1:1", err, sizeof(err));
	rd_kafka_conf_set(conf, "message.timeout.ms", "300", err, sizeof(err));
	rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (rk == NULL)
		return -1;
	rkt = rd_kafka_topic_new(rk, "late", NULL);
	memset(payload, 'x', sizeof(payload));
	for (int i = 0; i < count; i++)
		produced += rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
					     payload, sizeof(payload), NULL, 0, NULL) == 0;
	rd_kafka_flush(rk, 2000);
	*left = rd_kafka_outq_len(rk);
	rd_kafka_topic_destroy(rkt);
	rd_kafka_destroy(rk);
	return produced;
}
