/*
 * rp_cmd_goroutines.h - what `check` shares with `goroutines`: the options
 * that set the goroutine rules, and the goroutine half of the gate.
 */
#ifndef RP_CMD_GOROUTINES_H
#define RP_CMD_GOROUTINES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "rf_shm.h"
#include "rp_cli.h"
#include "rp_goroutines.h"

/* Option keys, clear of those of the other commands (below 512). */
enum {
	RP_GO_OPT_INTERVAL = 512,
	RP_GO_OPT_AGE,
	RP_GO_OPT_GROUP,
};

/* The help of the options of the goroutine rules, which `check` takes too. */
#define RP_GO_HELP_INTERVAL                                                                        \
	"time between the two samples, from 0 (one sample, no growth) to 600000; default 1000"
#define RP_GO_HELP_AGE                                                                             \
	"stuck when blocked longer than this (250ms, 30s, 5m; 10ms to 24h), in a group that "      \
	"grew or holds more than --group; default RINGFENCE_THREAD_AGE's (30s)"
#define RP_GO_HELP_GROUP "the group limit, 1 to 1000000; default RINGFENCE_THREAD_GROUP's (256)"

/* The goroutine half of `check`: its rules, and the reading once made. */
struct rp_go_gate {
	struct rp_go_options opts; /* rules.ignore_more: check's --ignore, set by the caller */
	bool age_set, group_set;   /* given: they override the rules in force in a process */
	struct rp_goroutines g;
};

/* Defaults for a gate (rp_go_options_defaults), nothing read. */
void rp_go_gate_init(struct rp_go_gate *gate);

/*
 * Parse the value of option key when it is one of RP_GO_OPT_*:
 * RP_EXIT_OK, or RP_EXIT_USAGE after saying what is wrong; -1 when key is
 * not one of them.
 */
int rp_go_gate_option(const struct rp_command *cmd, int key, const char *arg,
		      struct rp_go_gate *gate);

/*
 * Read the goroutines of pid for the gate. config: the configuration of the
 * process's segment (its thread rules apply unless --age or --group say
 * otherwise), or NULL when it has none. Returns 0 once read; -1 when there
 * is nothing to judge: pid is not a Go program or is gone, or, with a
 * segment, its goroutines cannot be read (then a note on stderr says why:
 * its threads are judged all the same); without a segment, a reader error's
 * exit status after saying why on stderr.
 */
int rp_go_gate_read(const struct rp_command *cmd, pid_t pid, const struct rf_shm_config *config,
		    struct rp_go_gate *gate);

/*
 * Print the gate's verdict on what rp_go_gate_read read: an "ok" line, or
 * the leak groups and a "FAIL" line (text); the leak groups as one JSON
 * object (json). True when more than max_leaked goroutines leak. Frees the
 * reading.
 */
bool rp_go_gate_report(FILE *out, struct rp_go_gate *gate, uint64_t max_leaked, bool json);

#endif /* RP_CMD_GOROUTINES_H */
