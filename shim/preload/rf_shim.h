/*
 * rf_shim.h - the shim's process-wide state: start-up, publication, fork
 * and exit. The interposers (hook_*.c) call into this and into the core.
 */
#ifndef RF_SHIM_H
#define RF_SHIM_H

#include <sys/types.h>

#include "rf_shm.h"

/*
 * Bring the shim up once: configuration, segment, publisher thread, fork
 * handlers. Called by the constructor and by every interposer, so a hook
 * that runs before the constructor (another library's constructor calling
 * librdkafka) still finds the shim up. Never blocks: a caller that races
 * with start-up, or re-enters it, returns at once and runs pass-through.
 */
void rf_shim_init_slow(void);

/* Set once the shim is up (atomic). */
extern int rf_shim_up __attribute__((visibility("hidden")));

/* rf_shim_init_slow unless the shim is up: one load, inline in every interposer. */
static inline void rf_shim_init(void)
{
	if (__builtin_expect(!__atomic_load_n(&rf_shim_up, __ATOMIC_ACQUIRE), 0))
		rf_shim_init_slow();
}

/* The effective configuration (defaults until rf_shim_init has run). */
const struct rf_shm_config *rf_shim_config(void);

/*
 * The process has threads of its own now (a thread was created, a producer
 * handle made): start the publisher thread, once. Until then figures are
 * published at start-up and at exit only, and a single-threaded program
 * stays single-threaded.
 */
void rf_shim_publisher_need(void);

/*
 * The process's effective user or group is about to change (hook_cred.c):
 * give the segment to uid and gid ((uid_t)-1, (gid_t)-1: unchanged) while
 * the process may still do so. Best effort, errno kept.
 */
void rf_shim_segment_owner(uid_t uid, gid_t gid);

/* Record the exit status seen by an exit path (first one wins). */
void rf_shim_exit_record(int status);

/*
 * The process is ending without atexit handlers (_exit, _Exit, quick_exit): mark the
 * segment exited now. Async-signal-safe; does nothing in a vfork child,
 * which shares the parent's memory but is not the parent.
 */
void rf_shim_exit_now(int status);

#endif /* RF_SHIM_H */
