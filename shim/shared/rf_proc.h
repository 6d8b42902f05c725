/*
 * rf_proc.h - what /proc says about a process.
 *
 * open/read only: no stdio and no allocation, so the shim can call these
 * before main() and in a fork child; the reporter uses them for liveness.
 */
#ifndef RF_PROC_H
#define RF_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Start time of pid in clock ticks since boot (/proc/PID/stat field 22),
 * which tells a live process from a later one that reused its pid.
 * 0, or -ENOENT when no such process, or another negative errno.
 */
int rf_proc_start_ticks(pid_t pid, uint64_t *ticks);

/* argv of pid joined by spaces into buf (truncated, NUL-terminated). */
int rf_proc_cmdline(pid_t pid, char *buf, size_t len);

#endif /* RF_PROC_H */
