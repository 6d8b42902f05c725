/*
 * poll_bench.c - rd_kafka_poll(rk, 0) on a producer handle with nothing to
 * serve, COUNT times: what a poll that changes nothing costs (run under
 * callgrind plain and under the shim by test-apps/bench/budget_instructions.sh).
 *
 *   rf-poll-bench BOOTSTRAP COUNT
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	char err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;
	long count = argc > 2 ? atol(argv[2]) : 1000000;
	int served = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: rf-poll-bench BOOTSTRAP COUNT\n");
		return 64;
	}
	rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], err, sizeof(err));
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (rk == NULL) {
		fprintf(stderr, "rd_kafka_new: %s\n", err);
		return 1;
	}
	for (long i = 0; i < count; i++)
		served += rd_kafka_poll(rk, 0);
	printf("%ld polls, %d events served\n", count, served);
	rd_kafka_destroy(rk);
	return 0;
}
