/*
 * rp_threads.h - the thread figures of a snapshot judged: the verdict on
 * every thread (the shim's own rules, rf_thread_rules.h) and the groups by
 * creation stack, sorted leaks first. What `threads` and `check` print
 * (rp_print_threads.h) and what `check` decides on.
 */
#ifndef RP_THREADS_H
#define RP_THREADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rf_thread_rules.h"
#include "rp_snapshot.h"
#include "rp_symbols.h"

struct rp_threads_options {
	const char *ignore;      /* extra patterns (--ignore), comma-separated; may be NULL */
	struct rp_symbols *syms; /* to match ignore patterns against start routines as
				  * the reporter names them too; may be NULL */
};

struct rp_group_view {
	uint32_t index; /* in THREAD_GROUPS */
	const struct rf_shm_thread_group *g;
	uint64_t counts[RF_THREAD_CLASS__COUNT]; /* listed threads by verdict */
	enum rf_thread_class cls;                /* the most serious verdict present */
	uint64_t count;                          /* threads with that verdict */
	bool leak;
	int64_t age_min, age_max; /* of its listed alive threads; -1 none */
	/* The most common /proc state of its alive threads. */
	uint32_t state;
	int32_t syscall;
	char wchan[RF_SHM_WCHAN_MAX];
	uint64_t state_threads;
	int64_t state_for;                 /* longest time in that state; -1 unknown */
	char name[RF_SHM_THREAD_NAME_MAX]; /* of one of its threads, else the group's last */
	char start_name[256];              /* start routine as the reporter names it */
	char creator[256]; /* the function that called pthread_create, as the reporter names it */
	const struct rf_shm_thread_sample *sample;
};

struct rp_threads {
	const struct rp_snapshot *snap;
	struct rf_thread_rules rules;
	bool at_exit;                          /* judged by the at-exit rule (the process ended) */
	int64_t now;                           /* the monotonic time ages are measured at */
	const struct rf_shm_thread_info *info; /* NULL before the first publish */
	const struct rf_shm_thread *threads;
	uint64_t nthreads;
	const struct rf_shm_thread_sample *samples;
	uint64_t nsamples;
	struct rp_group_view *groups; /* sorted: leaks first, by count */
	uint64_t ngroups;
	uint64_t totals[RF_THREAD_CLASS__COUNT];
	bool sample_requested;
	const char *sample_note; /* why there is no sample, or NULL */
};

/*
 * Judge every thread of snap by the rules in force in the process (and opts,
 * which may be NULL) and build its groups into *out, which points into snap:
 * snap must outlive it. 0, or -ENOMEM. rp_threads_release frees the groups.
 */
int rp_threads_analyse(const struct rp_snapshot *snap, const struct rp_threads_options *opts,
		       struct rp_threads *out);
void rp_threads_release(struct rp_threads *t);

/* Leaked threads the way `check --max-leaked` counts them (leaked + stuck). */
uint64_t rp_threads_leaked(const struct rp_threads *t);

/*
 * A symboliser for the modules snap recorded (NULL when none could be made),
 * for rp_symbols_close. Here rather than in rp_symbols.c, which knows
 * nothing of snapshots.
 */
struct rp_symbols *rp_threads_symbols_open(const struct rp_snapshot *snap);

#endif /* RP_THREADS_H */
