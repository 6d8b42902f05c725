/*
 * hook_kafka.h - what hook_kafka.c shares with the produce interposers and
 * the shim's start-up.
 */
#ifndef HOOK_KAFKA_H
#define HOOK_KAFKA_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

/* The error of the last produce call this thread made, when the shim refused it. */
extern __thread rd_kafka_resp_err_t rf_tls_last_error
	__attribute__((tls_model("initial-exec"), visibility("hidden")));
/* Set while this thread is inside a real produce call (see rf_budget_ack). */
extern __thread int rf_tls_in_produce
	__attribute__((tls_model("initial-exec"), visibility("hidden")));

/* What this thread's rd_kafka_last_error() reports after a refusal by the shim (0: librdkafka's). */
static inline void rf_kafka_last_error_set(rd_kafka_resp_err_t err)
{
	rf_tls_last_error = err;
}

/* Mark this thread inside (1) or out of (0) a real produce call. */
static inline void rf_kafka_in_produce(int inside)
{
	rf_tls_in_produce = inside;
}

/* Add the number of headers in hdrs (NULL: none) to *count, the bytes of their names and
 * values to *bytes. */
void rf_kafka_headers_cost(const rd_kafka_headers_t *hdrs, size_t *count, size_t *bytes);

#endif /* HOOK_KAFKA_H */
