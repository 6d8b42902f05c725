/*
 * rf_thread_shim.h - the thread registry inside a preloaded process: what
 * rf_shim.c calls at start-up, publication, fork and exit, and the state
 * the interposers of hook_thread.c share.
 */
#ifndef RF_THREAD_SHIM_H
#define RF_THREAD_SHIM_H

#include <stdbool.h>
#include <stdint.h>

#include "rf_segment.h"
#include "rf_shm.h"
#include "rf_thread.h"

/* The calling thread's record (NULL: not created through the hooks). */
extern __thread struct rf_thread *rf_thread_current __attribute__((tls_model("initial-exec")));

/*
 * The frame of the trampoline a thread started in, near its stack's top
 * (0: not started through the hooks); set by the trampoline.
 */
extern __thread uintptr_t rf_thread_stack_top __attribute__((tls_model("initial-exec")));

/* CLOCK_MONOTONIC_COARSE in nanoseconds: CLOCK_MONOTONIC at a tick's resolution. */
int64_t rf_thread_now(void);

/*
 * Capture the caller's stack (return addresses, the shim's own frames
 * dropped) into frames[RF_SHM_THREAD_FRAMES]; returns how many.
 */
int rf_thread_stack_capture(uintptr_t *frames);

/* The publisher thread records itself, a library thread named name. */
void rf_thread_shim_adopt_self(const char *name, void *(*start_routine)(void *));

/* Rules from the effective configuration; at_exit as given. */
void rf_thread_shim_rules(const struct rf_shm_config *config, bool at_exit,
			  struct rf_thread_rules *rules);

/* Between publishes, on the publisher thread: /proc states, names, sample requests. */
void rf_thread_shim_maintain(const char *segment_name, const struct rf_shm_config *config);

/* Within a publication: thread sections, module map, thread figures. */
void rf_thread_shim_publish(struct rf_publication *pub);

/* Fork handlers, called from rf_shim.c's. */
void rf_thread_shim_fork_prepare(void);
void rf_thread_shim_fork_parent(void);
void rf_thread_shim_fork_child(void);

/* At exit (destructor): the leak report on stderr when RINGFENCE_REPORT_AT_EXIT=1. */
void rf_thread_shim_exit_report(const struct rf_shm_config *config);

#endif /* RF_THREAD_SHIM_H */
