/*
 * heap_bench.c - a malloc/free-heavy program for the heap accounting
 * benchmark (test-apps/bench/heap.sh, docs/benchmarks.md).
 *
 * Each thread keeps --slots live blocks and, --pairs times, frees a random
 * one and allocates a new block of a random size from 16 B to 1 KiB in its
 * place (touching its first byte), as a server handling small requests does.
 * --min-size and --max-size change the range (bytes, inclusive).
 * Prints one line: threads, pairs per thread, wall time per pair and per
 * thread, and pairs per second over all threads.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long opt_threads = 1, opt_pairs = 10000000, opt_slots = 64, opt_min = 16, opt_max = 1024;
static pthread_barrier_t start;

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *worker(void *arg)
{
	uint64_t x = 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)arg;
	unsigned char **slots = calloc((size_t)opt_slots, sizeof(*slots));
	unsigned long sum = 0;

	if (slots == NULL)
		abort();
	pthread_barrier_wait(&start);
	for (long i = 0; i < opt_pairs; i++) {
		size_t j, size;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		j = (size_t)(x % (uint64_t)opt_slots);
		size = (size_t)opt_min + (size_t)((x >> 20) % (uint64_t)(opt_max - opt_min + 1));
		free(slots[j]);
		slots[j] = malloc(size);
		if (slots[j] == NULL)
			abort();
		slots[j][0] = (unsigned char)i;
		sum += slots[j][0];
	}
	for (long j = 0; j < opt_slots; j++)
		free(slots[j]);
	free(slots);
	return (void *)(uintptr_t)sum;
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{"threads", required_argument, NULL, 't'},
		{"pairs", required_argument, NULL, 'p'},
		{"slots", required_argument, NULL, 's'},
		{"min-size", required_argument, NULL, 'm'},
		{"max-size", required_argument, NULL, 'M'},
		{NULL, 0, NULL, 0},
	};
	pthread_t tids[64];
	int64_t t0, t1;
	double ns;
	int c;

	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 't':
			opt_threads = strtol(optarg, NULL, 10);
			break;
		case 'p':
			opt_pairs = strtol(optarg, NULL, 10);
			break;
		case 's':
			opt_slots = strtol(optarg, NULL, 10);
			break;
		case 'm':
			opt_min = strtol(optarg, NULL, 10);
			break;
		case 'M':
			opt_max = strtol(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr,
				"usage: %s [--threads N] [--pairs N] [--slots N] [--min-size B] "
				"[--max-size B]\n",
				argv[0]);
			return 2;
		}
	}
	if (opt_threads < 1 || opt_threads > 64 || opt_pairs < 1 || opt_slots < 1 || opt_min < 1 ||
	    opt_max < opt_min)
		return 2;
	pthread_barrier_init(&start, NULL, (unsigned)opt_threads + 1);
	for (long i = 0; i < opt_threads; i++)
		if (pthread_create(&tids[i], NULL, worker, (void *)(uintptr_t)(i + 1)) != 0)
			return 1;
	pthread_barrier_wait(&start);
	t0 = now_ns();
	for (long i = 0; i < opt_threads; i++)
		pthread_join(tids[i], NULL);
	t1 = now_ns();
	ns = (double)(t1 - t0) / (double)opt_pairs;
	printf("threads %ld pairs %ld ns_per_pair %.2f mpairs_per_s %.2f\n", opt_threads, opt_pairs,
	       ns, (double)opt_threads * 1000.0 / ns);
	return 0;
}
