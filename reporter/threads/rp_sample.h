/*
 * rp_sample.h - asking a live process for the current stacks of its threads
 * (rf_shm.h, "Sample requests"): a reader never writes into a segment, so the
 * request is a file of its own, answered by the next publish.
 */
#ifndef RP_SAMPLE_H
#define RP_SAMPLE_H

#include "rp_snapshot.h"

/*
 * Ask the live process of *snap (under prefix) for current stacks and wait,
 * bounded by timeout_ms, until a publish answers. 0 when answered: *snap is
 * then the answering copy. -ETIMEDOUT when no answer came in time: *snap is
 * the last copy read if the process ended meanwhile, else unchanged. Another
 * negative errno when no request could be made: *snap is unchanged.
 */
int rp_sample_request(const char *prefix, struct rp_snapshot *snap, int timeout_ms);

#endif /* RP_SAMPLE_H */
