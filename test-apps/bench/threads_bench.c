/*
 * threads_bench.c - rf-threads-bench: create and join threads one after
 * another, the worst case for a shim that tracks thread creation.
 *
 *   rf-threads-bench [--count N] [--checkpoint N] [--linger-ms MS] [--idle-threads N]
 *
 * Prints "ns_per_thread N" at the end. --idle-threads starts N threads that
 * only sleep, as the shim's publisher does, to measure what their mere
 * presence costs each thread created (docs/benchmarks.md). With --checkpoint K it prints
 * "checkpoint" after K threads and pauses 700 ms (outside the timing) so a
 * test can read the registry's size there; --linger-ms keeps the process
 * alive after "done" for the same reason.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void *noop(void *arg)
{
	return arg;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

static void *idle(void *arg)
{
	for (;;)
		pause_ms(3600 * 1000);
	return arg;
}

int main(int argc, char **argv)
{
	long count = 100000, checkpoint = 0, linger_ms = 0, idle_threads = 0;
	long long start, paused = 0, elapsed;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--count") == 0)
			count = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--checkpoint") == 0)
			checkpoint = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--linger-ms") == 0)
			linger_ms = atol(argv[i + 1]);
		else if (strcmp(argv[i], "--idle-threads") == 0)
			idle_threads = atol(argv[i + 1]);
		else {
			fprintf(stderr, "usage: rf-threads-bench [--count N] [--checkpoint N] "
					"[--linger-ms MS] [--idle-threads N]\n");
			return 2;
		}
	}
	for (long i = 0; i < idle_threads; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, idle, NULL) != 0 || pthread_detach(t) != 0) {
			fprintf(stderr, "rf-threads-bench: idle thread %ld failed\n", i);
			return 1;
		}
	}
	start = now_ns();
	for (long i = 0; i < count; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, noop, NULL) != 0 || pthread_join(t, NULL) != 0) {
			fprintf(stderr, "rf-threads-bench: thread %ld failed\n", i);
			return 1;
		}
		if (i + 1 == checkpoint) {
			long long p = now_ns();
			printf("checkpoint\n");
			fflush(stdout);
			pause_ms(700);
			paused += now_ns() - p;
		}
	}
	elapsed = now_ns() - start - paused;
	printf("threads %ld ns_per_thread %lld\n", count, elapsed / (count ? count : 1));
	printf("done\n");
	fflush(stdout);
	if (linger_ms > 0)
		pause_ms(linger_ms);
	return 0;
}
