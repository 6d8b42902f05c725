/*
 * rp_go_group.h - goroutines grouped like Go's goroutine profile with
 * debug=1, and judged with the thread rules (rf_thread_rules.h).
 *
 * A group is one creation site (function and file:line of the go statement,
 * looked up at gopc - 1) and one start function. Each goroutine of it is
 * judged by rf_thread_classify as a thread would be, with the time it has
 * been blocked as its age: known when the runtime has set waitsince (a GC
 * ran while it waited), else at least the interval when the first sample
 * saw the same goroutine (goid) blocked at the same place, else zero. So a
 * goroutine is stuck when it has been blocked longer than the age in a
 * group that grew between the two samples or holds more than the group
 * limit. The runtime's own goroutines (isSystemGoroutine in traceback.go)
 * and the long-lived loops of well-known libraries are never leaks.
 */
#ifndef RP_GO_GROUP_H
#define RP_GO_GROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "rf_thread_rules.h"
#include "rp_go_sample.h"
#include "rp_go_symbols.h"

/* Distinct blocked places kept a group, most common first. */
#define RP_GO_BLOCKED_MAX 4

/* Start functions of library goroutines that live as long as their owner by design. */
#define RP_GO_LIBRARY_LOOPS                                                                        \
	"os/signal.loop,database/sql.(*DB).connectionOpener,"                                      \
	"*confluent-kafka-go*/kafka.poller,*confluent-kafka-go*/kafka.channelProducer,"            \
	"*confluent-kafka-go*/kafka.channelBatchProducer,"                                         \
	"*confluent-kafka-go*/kafka.consumerReader,"                                               \
	"go.opencensus.io/stats/view.(*worker).start,"                                             \
	"github.com/golang/glog.(*loggingT).flushDaemon,"                                          \
	"k8s.io/klog.(*loggingT).flushDaemon,k8s.io/klog/v2.(*flushDaemon).run"

/* Who a group's goroutines belong to. */
enum rp_go_kind {
	RP_GO_KIND_PROGRAM = 0, /* the program's own: judged by the rules */
	RP_GO_KIND_RUNTIME,     /* the runtime's own (isSystemGoroutine) */
	RP_GO_KIND_LIBRARY,     /* a well-known library's loop (RP_GO_LIBRARY_LOOPS) */
};

/* One place where goroutines of a group are: state, wait reason and frames alike. */
struct rp_go_blocked {
	uint64_t count;
	uint8_t state, waitreason;
	const struct rp_go_goroutine *example; /* one of them */
	/* Its frames symbolised (example->nframes of them; [0] is where it resumes),
	 * and the first outside the runtime (0 when all are in it). */
	const struct rp_go_pcinfo *frames[RP_GO_DEPTH_MAX];
	uint16_t first_user;
};

struct rp_go_group {
	struct rp_go_loc created; /* the go statement */
	const char *start;        /* the start function */
	enum rp_go_kind kind;
	uint64_t count, before; /* goroutines now and at the first sample */
	int64_t growth;         /* count - before */
	uint64_t states[RP_GO_STATE__COUNT];
	uint64_t reasons[RP_GO_WAIT_REASONS]; /* waiting goroutines by wait reason */
	uint64_t classes[RF_THREAD_CLASS__COUNT];
	enum rf_thread_class cls; /* the most serious verdict present */
	bool leak;
	int64_t longest_wait_ns; /* of those whose wait the runtime knows; -1 when none */
	uint64_t wait_known;     /* goroutines whose wait the runtime knows */
	struct rp_go_blocked blocked[RP_GO_BLOCKED_MAX];
	uint32_t nblocked;
	uint64_t blocked_other; /* goroutines at places past the first RP_GO_BLOCKED_MAX */
};

struct rp_go_report {
	const struct rp_go_sample *now, *before; /* before is NULL with one sample */
	struct rf_thread_rules rules;
	int64_t interval_ns;        /* between the samples; 0 with one */
	struct rp_go_group *groups; /* sorted: most serious verdict first, then by count */
	uint64_t ngroups;
	uint64_t totals[RF_THREAD_CLASS__COUNT];
	uint64_t leaked; /* goroutines with a leak verdict */
};

/*
 * Group now's goroutines, compare them with before (NULL: one sample, no
 * growth) and judge them by rules (at_exit is ignored: a process whose
 * goroutines are read is alive). The report points into both samples and
 * into the symboliser's strings, which must outlive it. 0 or -ENOMEM.
 */
int rp_go_report_build(struct rp_go_symbols *syms, const struct rp_go_sample *before,
		       const struct rp_go_sample *now, const struct rf_thread_rules *rules,
		       struct rp_go_report *out);
void rp_go_report_release(struct rp_go_report *r);

/*
 * Whether a goroutine with this start function is the runtime's own, as
 * isSystemGoroutine decides: in package runtime, except runtime.main, and
 * runtime.runfinq while it runs user finalizers (fing_running).
 */
bool rp_go_start_is_system(const char *start, bool fing_running);

/* "program", "runtime", "library". */
const char *rp_go_kind_name(enum rp_go_kind kind);

#endif /* RP_GO_GROUP_H */
