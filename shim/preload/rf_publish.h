/*
 * rf_publish.h - one publication of every concern's figures into the
 * segment, in the order they depend on each other. rf_shim.c decides when
 * (the publisher thread's interval, exit), under its publish lock.
 */
#ifndef RF_PUBLISH_H
#define RF_PUBLISH_H

#include <stdbool.h>

#include "rf_segment.h"
#include "rf_shm.h"

/*
 * Publish everything into seg (nothing when it has no mapping). exiting:
 * the last publication, which also marks the segment exited, with the exit
 * status when status_known. Async-signal-safe when exiting (_exit may be
 * called from a signal handler): no allocation, no symbol lookup, bounded
 * lock waits. The caller serialises publications.
 */
void rf_publish(struct rf_segment *seg, const struct rf_shm_config *config, bool exiting,
		bool status_known, int status);

#endif /* RF_PUBLISH_H */
