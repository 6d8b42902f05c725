/*
 * rf_tid.h - the calling thread's kernel id, cached per thread.
 *
 * The budget records which thread polls each producer handle and the thread
 * registry which thread created and runs each thread; both ask once per
 * call, so the id is kept in thread-local storage after the first ask. A
 * new thread learns it with a load from glibc's thread descriptor where
 * that can be located and checked, else with gettid().
 */
#ifndef RF_TID_H
#define RF_TID_H

#include <sys/types.h>

/* The calling thread's kernel id. Async-signal-safe once the thread has asked before. */
pid_t rf_tid(void);

/* In a fork child: the forking thread's cache holds its id in the parent. */
void rf_tid_fork_child(void);

#endif /* RF_TID_H */
