/*
 * rf_proc.h - what /proc says about a process.
 *
 * open/read only: no FILE and no allocation, so the shim can call these
 * before main() and in a fork child; the reporter uses them for liveness.
 */
#ifndef RF_PROC_H
#define RF_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "rf_shm.h"

/*
 * Start time of pid in clock ticks since boot (/proc/PID/stat field 22),
 * which tells a live process from a later one that reused its pid.
 * 0, or -ENOENT when no such process, or another negative errno.
 */
int rf_proc_start_ticks(pid_t pid, uint64_t *ticks);

/* argv of pid joined by spaces into buf (truncated, NUL-terminated). */
int rf_proc_cmdline(pid_t pid, char *buf, size_t len);

/*
 * This process's virtual size and resident memory in bytes
 * (/proc/self/statm). 0, or a negative errno.
 */
int rf_proc_self_memory(uint64_t *vm_bytes, uint64_t *rss_bytes);

/* What /proc says of one thread now. */
struct rf_proc_thread_state {
	uint32_t state;  /* the state letter of its stat (R, S, D, ...) */
	int32_t syscall; /* the system call it is in (its syscall file): -1 running, -2 unknown */
	char wchan[RF_SHM_WCHAN_MAX];      /* the kernel function it waits in; "" */
	char name[RF_SHM_THREAD_NAME_MAX]; /* its comm */
};

/*
 * The state of thread tid of process pid (0: this process), from
 * /proc/PID/task/TID/{stat,wchan,syscall,comm}. 0, or a negative errno when
 * the thread's stat cannot be read (-ENOENT: it is gone).
 */
int rf_proc_thread_state(pid_t pid, pid_t tid, struct rf_proc_thread_state *st);

#endif /* RF_PROC_H */
