/*
 * rp_print_prom.h - the Prometheus text exposition format (0.0.4) of
 * processes: the families of `stat --prometheus` and of `serve`.
 *
 * A segment is read into a snapshot (hundreds of KiB); what the families
 * show of it is kept in a record of about a kilobyte (struct rp_prom_proc),
 * so that a server can read a thousand segments one after the other, keep
 * their records, and write the exposition family by family (the format
 * wants every sample of a family together) a piece at a time, with nothing
 * bigger than one piece in flight (rp_prom_next).
 *
 * Names follow Prometheus's conventions: base units (seconds, bytes) as the
 * last word, "_total" on counters only, HELP and TYPE once per family, a
 * family only when some process has a sample of it. Every series of a
 * process is labelled pid and comm; handles add handle and client_id, leak
 * groups group, verdict, start_routine and thread_name. Label values of
 * segment origin go through rp_prom_label (valid UTF-8, no control byte).
 */
#ifndef RP_PRINT_PROM_H
#define RP_PRINT_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rf_shm.h"
#include "rf_thread_rules.h"
#include "rp_snapshot.h"

/* The kernel's comm: at most 15 bytes. */
#define RP_PROM_COMM_MAX 16
/* Leak groups exported per process unless told otherwise, and at most. */
#define RP_PROM_GROUPS_DEFAULT 5
#define RP_PROM_GROUPS_MAX RF_SHM_THREAD_GROUPS_MAX

struct rp_prom_handle {
	char name[RF_SHM_HANDLE_NAME_MAX];
	char client_id[RF_SHM_HANDLE_NAME_MAX];
	uint32_t state; /* enum rf_shm_handle_state */
	uint64_t held_bytes, acked_unfreed_bytes, dropped_msgs, dropped_bytes;
	int64_t poll_age_ns; /* up to the last publish; -1: never polled */
};

struct rp_prom_group {
	uint32_t index;           /* in THREAD_GROUPS */
	enum rf_thread_class cls; /* its most serious verdict, a leak */
	uint64_t threads;         /* threads with that verdict */
	uint64_t alive;           /* threads of the group alive */
	uint64_t heap_live_bytes; /* heap its threads allocated, not yet freed */
	char start_routine[RF_SHM_SYMBOL_MAX];
	char thread_name[RF_SHM_THREAD_NAME_MAX];
};

/* The numeric settings of RF_CONFIG (sizes, durations, counts, flags). */
#define RP_PROM_CONFIG_SIZE(name) uint64_t name;
#define RP_PROM_CONFIG_DURATION(name) uint64_t name;
#define RP_PROM_CONFIG_COUNT(name) uint64_t name;
#define RP_PROM_CONFIG_BOOL(name) uint64_t name;
#define RP_PROM_CONFIG_POLICY(name) uint64_t name;
#define RP_PROM_CONFIG_NAME(name)
#define RP_PROM_CONFIG_LIST(name)
struct rp_prom_config {
#define RP_PROM_CONFIG_FIELD(name, type, env, def, min, max, help) RP_PROM_CONFIG_##type(name)
	RF_CONFIG(RP_PROM_CONFIG_FIELD)
#undef RP_PROM_CONFIG_FIELD
};

/* What the families show of one segment; owns its tables. */
struct rp_prom_proc {
	pid_t pid;
	char comm[RP_PROM_COMM_MAX]; /* raw bytes of the segment: escaped when printed */
	struct rp_liveness live;
	bool exit_status_known;
	int32_t exit_status, exit_signal;
	bool passive, torn;
	int64_t start_realtime_ns, publish_realtime_ns;
	char shim_version[RF_SHM_VERSION_STR_MAX];
	struct rp_prom_config config;
	uint64_t stats[RF_STAT__COUNT];
	unsigned stats_count; /* the counters the segment has: an older writer's has fewer */
	struct rp_prom_handle *handles;
	uint32_t nhandles;
	uint64_t leaked_threads;      /* leaked + stuck, as `check --max-leaked` counts */
	struct rp_prom_group *groups; /* the largest leak groups, largest first */
	uint32_t ngroups;
	uint64_t groups_omitted; /* leak groups not in groups[] */
};

/*
 * The record of snap (a validated snapshot), its threads judged as
 * `threads` judges them, with at most max_groups leak groups (those with
 * the most threads). 0, or -ENOMEM with *out empty. rp_prom_proc_release
 * frees its tables.
 */
int rp_prom_proc_take(const struct rp_snapshot *snap, unsigned max_groups,
		      struct rp_prom_proc *out);
void rp_prom_proc_release(struct rp_prom_proc *proc);

/*
 * The comm label of a process: the base name of the first word of its
 * command line (as the kernel names a process after exec), at most 15
 * bytes; "" when the command line is unknown. From the segment, not from
 * /proc, so that it stays the same after the process ended.
 */
void rp_prom_comm(const char *cmdline, char comm[RP_PROM_COMM_MAX]);

/* Where the exposition of a set of records stands; zero it to start. */
struct rp_prom_cursor {
	unsigned family;
	size_t proc;
	uint32_t item;
	bool opened; /* the family's HELP and TYPE are written */
};

/*
 * Writes the next piece of the exposition of procs[0..count) at c to out
 * and moves c past it: one sample line, preceded by its family's HELP and
 * TYPE when it is the family's first. A piece is at most RP_PROM_PIECE_MAX
 * bytes. Returns false, writing nothing, once everything is written.
 */
#define RP_PROM_PIECE_MAX 8192
bool rp_prom_next(FILE *out, const struct rp_prom_proc *procs, size_t count,
		  struct rp_prom_cursor *c);

/* The whole exposition of procs[0..count); nothing for none. */
void rp_prom_print(FILE *out, const struct rp_prom_proc *procs, size_t count);

/* `stat --prometheus`: rp_prom_print of the records of snaps. */
void rp_stat_print_prometheus(FILE *out, const struct rp_snapshot *snaps, size_t count);

#endif /* RP_PRINT_PROM_H */
