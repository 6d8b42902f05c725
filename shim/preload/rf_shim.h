/*
 * rf_shim.h - the shim's process-wide state: start-up, publication, fork
 * and exit. The interposers (hook_*.c) call into this and into the core.
 */
#ifndef RF_SHIM_H
#define RF_SHIM_H

#include "rf_shm.h"

/*
 * Bring the shim up once: configuration, segment, publisher thread, fork
 * handlers. Called by the constructor and by every interposer, so a hook
 * that runs before the constructor (another library's constructor calling
 * librdkafka) still finds the shim up. Never blocks: a caller that races
 * with start-up, or re-enters it, returns at once and runs pass-through.
 */
void rf_shim_init(void);

/* The effective configuration (defaults until rf_shim_init has run). */
const struct rf_shm_config *rf_shim_config(void);

/* Record the exit status seen by an exit path (first one wins). */
void rf_shim_exit_record(int status);

/*
 * The process is ending without atexit handlers (_exit, _Exit): mark the
 * segment exited now. Async-signal-safe; does nothing in a vfork child,
 * which shares the parent's memory but is not the parent.
 */
void rf_shim_exit_now(int status);

#endif /* RF_SHIM_H */
