/*
 * rp_sample.h - asking a live process for the current stacks of its threads
 * (rf_shm.h, "Sample requests"): a reader never writes into a segment, so the
 * request is a file of its own, answered by the next publish.
 */
#ifndef RP_SAMPLE_H
#define RP_SAMPLE_H

#include <stddef.h>

#include "rp_snapshot.h"

/*
 * Ask the live process of *snap (under prefix) for current stacks and wait
 * until a publish answers; timeout_ms bounds the whole request. The name
 * /<prefix>.<pid>.req is made by this reader, or shared when another
 * reader's request of the process's user holds it; anything else there (a
 * FIFO, a link, a directory, another user's file) is neither opened in a
 * way that blocks or follows it, nor removed. 0 when answered: *snap is
 * then the answering copy. -ETIMEDOUT when no answer came in time: *snap is
 * the last copy read if the process ended meanwhile, else unchanged; the
 * request this reader made is removed. Another negative errno when no
 * request could be made: *snap is unchanged and why (why_len bytes) holds
 * one line naming the path and what was found there.
 */
int rp_sample_request(const char *prefix, struct rp_snapshot *snap, int timeout_ms, char *why,
		      size_t why_len);

#endif /* RP_SAMPLE_H */
