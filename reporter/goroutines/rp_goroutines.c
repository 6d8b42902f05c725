/*
 * rp_goroutines.c - the goroutines of a live Go program, read and judged.
 */
#define _GNU_SOURCE
#include "rp_goroutines.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rf_config.h"
#include "rf_proc.h"
#include "rf_time.h"

void rp_go_options_defaults(struct rp_go_options *o)
{
	struct rf_shm_config config;

	rf_config_defaults(&config);
	*o = (struct rp_go_options){
		.interval_ms = RP_GO_INTERVAL_DEFAULT_MS,
		.rules = {.age_ns = config.thread_age, .group_max = config.thread_group},
		.sample = {.depth = RP_GO_DEPTH_DEFAULT,
			   .max_goroutines = RP_GO_GOROUTINES_DEFAULT},
	};
}

/* The line for an error of reading the process's memory. */
static int rp_go_read_why(pid_t pid, int rc, char *why, size_t len)
{
	if (rc == -ESRCH)
		snprintf(why, len, "process %d ended while its goroutines were being read",
			 (int)pid);
	else if (rc == -EPERM || rc == -EACCES)
		snprintf(why, len,
			 "permission denied reading the memory of process %d: needs ptrace access, "
			 "i.e. the same user under the system's ptrace policy "
			 "(kernel.yama.ptrace_scope), or root (CAP_SYS_PTRACE)",
			 (int)pid);
	else if (rc == -EIO)
		snprintf(why, len,
			 "process %d: runtime.allgs cannot be read (a runtime not started yet, or "
			 "not the one its binary describes)",
			 (int)pid);
	else
		snprintf(why, len, "process %d: %s", (int)pid, strerror(-rc));
	return rc;
}

static void rp_go_sleep_ms(uint64_t ms)
{
	struct timespec ts = rf_timespec_of_ns((int64_t)ms * 1000000);

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* The samples: one, or two an interval apart; read_ns is their time without the interval. */
static int rp_go_samples_take(struct rp_goroutines *g, const struct rp_go_options *o)
{
	int64_t t0 = rf_clock_ns(CLOCK_MONOTONIC);
	int rc = rp_go_sample_take(g->bin, &g->mem, &o->sample, &g->samples[0]);

	g->read_ns = rf_clock_ns(CLOCK_MONOTONIC) - t0;
	if (rc < 0 || o->interval_ms == 0)
		return rc;
	rp_go_sleep_ms(o->interval_ms);
	t0 = rf_clock_ns(CLOCK_MONOTONIC);
	rc = rp_go_sample_take(g->bin, &g->mem, &o->sample, &g->samples[1]);
	g->read_ns += rf_clock_ns(CLOCK_MONOTONIC) - t0;
	return rc;
}

int rp_goroutines_read(pid_t pid, const struct rp_go_options *o, struct rp_goroutines *g, char *why,
		       size_t len)
{
	int64_t t0 = rf_clock_ns(CLOCK_MONOTONIC);
	uint64_t started = 0, ended = 0;
	int rc;

	memset(g, 0, sizeof(*g));
	g->pid = pid;
	rp_go_mem_init(&g->mem, pid);
	/* The start time tells the process read from a later one that took its pid. */
	if (rf_proc_start_ticks(pid, &started) < 0)
		started = 0; /* opening its binary says what is wrong */
	rc = rp_go_binary_open(pid, &g->bin, why, len);
	if (rc < 0)
		return rc;
	rc = rp_go_runtime_read(g->bin, &g->mem, &g->rt);
	if (rc == 0)
		rc = rp_go_symbols_open(g->bin, &g->syms);
	g->setup_ns = rf_clock_ns(CLOCK_MONOTONIC) - t0;
	if (rc == 0)
		rc = rp_go_samples_take(g, o);
	if (rc == 0 && started != 0 && (rf_proc_start_ticks(pid, &ended) < 0 || ended != started))
		rc = -ESRCH;
	if (rc < 0)
		return rp_go_read_why(pid, rc, why, len);
	t0 = rf_clock_ns(CLOCK_MONOTONIC);
	rc = rp_go_report_build(g->syms, o->interval_ms > 0 ? &g->samples[0] : NULL,
				&g->samples[o->interval_ms > 0 ? 1 : 0], &o->rules, &g->report);
	g->group_ns = rf_clock_ns(CLOCK_MONOTONIC) - t0;
	if (rc < 0)
		return rp_go_read_why(pid, rc, why, len);
	return 0;
}

void rp_goroutines_release(struct rp_goroutines *g)
{
	rp_go_report_release(&g->report);
	rp_go_sample_release(&g->samples[0]);
	rp_go_sample_release(&g->samples[1]);
	rp_go_symbols_close(g->syms);
	rp_go_runtime_release(&g->rt);
	rp_go_mem_release(&g->mem);
	rp_go_binary_close(g->bin);
	g->syms = NULL;
	g->bin = NULL;
}
