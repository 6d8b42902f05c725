/*
 * rf_thread_rules.h - which threads are leaks: the rules, shared by the shim
 * (its suspect gauge and the at-exit report) and the reporter (`threads`,
 * `check`), so both judge a thread the same way.
 *
 * Pure functions, no allocation, no global state.
 */
#ifndef RF_THREAD_RULES_H
#define RF_THREAD_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Verdicts, most serious first in the order reports list them. */
enum rf_thread_class {
	RF_THREAD_CLASS_LEAKED = 0,   /* alive when the process ended */
	RF_THREAD_CLASS_STUCK = 1,    /* running rule: old, in a growing or oversized group */
	RF_THREAD_CLASS_UNJOINED = 2, /* ended, neither joined nor detached */
	RF_THREAD_CLASS_RUNNING = 3,  /* alive, not (yet) a suspect */
	RF_THREAD_CLASS_LIBRARY = 4,  /* librdkafka's, the Go runtime's or the shim's own */
	RF_THREAD_CLASS_IGNORED = 5,  /* matches RINGFENCE_THREAD_IGNORE or --ignore */
	RF_THREAD_CLASS__COUNT
};

struct rf_thread_rules {
	uint64_t age_ns;         /* RINGFENCE_THREAD_AGE */
	uint64_t group_max;      /* RINGFENCE_THREAD_GROUP */
	const char *ignore;      /* comma-separated patterns, may be NULL */
	const char *ignore_more; /* a second list (the reporter's --ignore), may be NULL */
	bool at_exit;            /* judge by the at-exit rule: the process has ended */
};

/* What is known of one thread when it is judged. */
struct rf_thread_facts {
	bool alive;
	bool detached;
	uint64_t age_ns;         /* since creation, at the time of judgement */
	const char *name;        /* thread name, may be "" */
	const char *start_name;  /* start routine symbol, may be "" or NULL */
	const char *start_name2; /* another spelling of it (demangled), may be NULL */
	const char *creator;     /* function that called pthread_create (innermost frame of the
				  * creation stack), may be "" or NULL */
	uint64_t group_alive;    /* alive threads of its creation stack */
	uint64_t group_growth;   /* growth of that group over the window */
};

/* The verdict on one thread. */
enum rf_thread_class rf_thread_classify(const struct rf_thread_rules *rules,
					const struct rf_thread_facts *facts);

/* Classes that are leaks (count against `check`): leaked, stuck, unjoined. */
bool rf_thread_class_is_leak(enum rf_thread_class cls);

/* "leaked", "stuck", "unjoined", "running", "library", "ignored". */
const char *rf_thread_class_name(enum rf_thread_class cls);

/* Names of librdkafka's threads ("rdk:...") and the shim's own ("rf:..."). */
bool rf_thread_name_is_library(const char *name);

/*
 * A thread of the Go runtime (cgo): started at runtime/cgo's threadentry by
 * _cgo_try_pthread_create. The runtime's threads (its Ms) serve every
 * goroutine and live as long as the process.
 */
bool rf_thread_is_go_runtime(const char *start_name, const char *creator);

/* Glob match of s against pattern[0..len): '*' any run, '?' one character. */
bool rf_pattern_match(const char *pattern, size_t len, const char *s);

/* Does s match any pattern of a comma-separated list (NULL or "": none)? */
bool rf_pattern_list_match(const char *list, const char *s);

#endif /* RF_THREAD_RULES_H */
