/*
 * rp_goroutines.h - the goroutines of a live Go program, read from outside
 * and judged: what `ringfence goroutines` prints and `check` decides on.
 *
 * One call opens the binary the process runs (rp_go_binary.h), reads its
 * runtime's version and wait reasons, takes two samples of its goroutines
 * an interval apart, or one (rp_go_sample.h), and groups and judges them
 * (rp_go_group.h). The target is never stopped, signalled or written to.
 */
#ifndef RP_GOROUTINES_H
#define RP_GOROUTINES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "rf_thread_rules.h"
#include "rp_go_binary.h"
#include "rp_go_group.h"
#include "rp_go_mem.h"
#include "rp_go_sample.h"
#include "rp_go_symbols.h"

/* Time between the two samples by default, and at most. */
#define RP_GO_INTERVAL_DEFAULT_MS 1000
#define RP_GO_INTERVAL_MAX_MS 600000

struct rp_go_options {
	uint64_t interval_ms;         /* between the two samples; 0: one sample, no growth */
	struct rf_thread_rules rules; /* age, group limit, ignore patterns */
	struct rp_go_sample_options sample;
};

/* One reading of a process, and the report built on it. */
struct rp_goroutines {
	pid_t pid;
	struct rp_go_binary *bin;
	struct rp_go_mem mem;
	struct rp_go_runtime rt;
	struct rp_go_symbols *syms;
	struct rp_go_sample samples[2]; /* the first; the second when there is an interval */
	struct rp_go_report report;
	/* What it took, without the interval: opening the binary and its DWARF,
	 * the samples, the grouping and symbolising. */
	int64_t setup_ns, read_ns, group_ns;
};

/* The defaults: the shim's RINGFENCE_THREAD_AGE and _GROUP defaults, no pattern. */
void rp_go_options_defaults(struct rp_go_options *o);

/*
 * Read the goroutines of pid and judge them into *g. On failure returns a
 * negative errno and writes one line saying what is missing into why:
 * -ESRCH no such process, or it ended while it was read; -EACCES or -EPERM
 * no ptrace access to it; -ENOEXEC not a Go program; -ENODATA a stripped Go
 * binary; -ENOTSUP a runtime or binary this reader cannot take apart; -EIO
 * a goroutine table that is not what the binary describes; -ENOMEM.
 * rp_goroutines_release frees *g, also after a failure.
 */
int rp_goroutines_read(pid_t pid, const struct rp_go_options *o, struct rp_goroutines *g, char *why,
		       size_t len);
void rp_goroutines_release(struct rp_goroutines *g);

#endif /* RP_GOROUTINES_H */
