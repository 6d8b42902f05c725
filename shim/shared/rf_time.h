/*
 * rf_time.h - clocks in nanoseconds, and back to a timespec.
 *
 * Every time the shim keeps, publishes or compares is an int64_t of
 * nanoseconds (from CLOCK_MONOTONIC unless the name says realtime), so the
 * segment's times and a reader's own clock compare directly.
 */
#ifndef RF_TIME_H
#define RF_TIME_H

#include <stdint.h>
#include <time.h>

#define RF_NS_PER_SEC INT64_C(1000000000)

/* clock_gettime(clock) in nanoseconds. */
static inline int64_t rf_clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * RF_NS_PER_SEC + ts.tv_nsec;
}

/* Nanoseconds (not negative) as a timespec, for sleeps and timed waits. */
static inline struct timespec rf_timespec_of_ns(int64_t ns)
{
	struct timespec ts = {(time_t)(ns / RF_NS_PER_SEC), (long)(ns % RF_NS_PER_SEC)};

	return ts;
}

#endif /* RF_TIME_H */
