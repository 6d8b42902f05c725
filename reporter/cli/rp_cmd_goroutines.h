/*
 * rp_cmd_goroutines.h - the options that set the goroutine rules, for
 * `goroutines` and the commands that judge goroutines too.
 */
#ifndef RP_CMD_GOROUTINES_H
#define RP_CMD_GOROUTINES_H

#include <stdbool.h>

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

/* The goroutine rules as the options set them, and the reading once made. */
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

#endif /* RP_CMD_GOROUTINES_H */
