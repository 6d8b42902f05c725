/*
 * rf_threads_app.c - rf-threads-app: programs whose threads never exit, in
 * the patterns of the goroutine-leak articles, each with its fixed version
 * (--fixed), for the thread-leak end-to-end tests.
 *
 *   handler   a request handler starts 20 consumers on a queue it fills and
 *             never closes; called --calls times, --interval-ms apart. The
 *             consumers block forever waiting for more. Fixed: the handler
 *             closes the queue and joins its consumers.
 *   primes    each batch starts a pool of --workers threads that test numbers
 *             for primality from a queue the batch never closes. Fixed: the
 *             queue is closed and the workers joined.
 *   unjoined  --calls joinable threads that finish and are never joined,
 *             beside threads that are detached (pthread_detach and the
 *             detached attribute, also after a join that was cancelled while
 *             it waited), joined, cancelled and joined, and ended with
 *             pthread_exit and joined; then one thread ended with
 *             pthread_exit and one cancelled, neither joined. Fixed: every
 *             thread joined.
 *   c11       C11 thrd_create workers that wait on a condition nobody
 *             signals. Fixed: signalled, and thrd_join'ed.
 *   fork      3 blocked threads, then a fork whose child starts and joins 3
 *             threads of its own and prints "child PID".
 *
 * After the work the program stays --linger-ms, then returns from main with
 * status 0 (leaked threads and all). Prints "ready" on stdout when the work
 * is done, so a test knows when to look.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static struct {
	const char *mode;
	int calls;
	int interval_ms;
	int workers;
	int linger_ms;
	bool fixed;
} opt = {.calls = 5, .interval_ms = 100, .workers = 4};

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* ---- a queue of ints, closable: the C stand-in for a Go channel ---------- */

struct queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int *items;
	int cap, head, count;
	bool closed;
};

static NOINLINE struct queue *queue_new(int cap)
{
	struct queue *q = calloc(1, sizeof(*q));

	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->items = calloc((size_t)cap, sizeof(int));
	q->cap = cap;
	return q;
}

static void queue_free(struct queue *q)
{
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	free(q->items);
	free(q);
}

static void queue_put(struct queue *q, int v)
{
	pthread_mutex_lock(&q->mu);
	q->items[(q->head + q->count) % q->cap] = v;
	q->count++;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

static void queue_close(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->closed = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* Like `for v := range ch`: false once the queue is closed and drained. */
static NOINLINE bool queue_get(struct queue *q, int *v)
{
	bool ok = false;

	pthread_mutex_lock(&q->mu);
	while (q->count == 0 && !q->closed)
		pthread_cond_wait(&q->cv, &q->mu);
	if (q->count > 0) {
		*v = q->items[q->head];
		q->head = (q->head + 1) % q->cap;
		q->count--;
		ok = true;
	}
	pthread_mutex_unlock(&q->mu);
	return ok;
}

/* ---- handler: consumers on a queue nobody closes (seed 001) -------------- */

#define HANDLER_CONSUMERS 20
#define HANDLER_TASKS 100

static volatile long handled_tasks;

static NOINLINE void *consumer(void *arg)
{
	struct queue *q = arg;
	int task;

	while (queue_get(q, &task))
		__atomic_fetch_add(&handled_tasks, 1, __ATOMIC_RELAXED); /* stands for the RPC */
	return NULL;
}

static NOINLINE void handle_request(void)
{
	struct queue *q = queue_new(HANDLER_TASKS);
	pthread_t tids[HANDLER_CONSUMERS];

	for (int i = 0; i < HANDLER_TASKS; i++)
		queue_put(q, i);
	for (int i = 0; i < HANDLER_CONSUMERS; i++)
		pthread_create(&tids[i], NULL, consumer, q);
	if (!opt.fixed)
		return; /* the bug: q is never closed, the consumers wait forever */
	queue_close(q);
	for (int i = 0; i < HANDLER_CONSUMERS; i++)
		pthread_join(tids[i], NULL);
	queue_free(q);
}

static void run_handler(void)
{
	for (int c = 0; c < opt.calls; c++) {
		handle_request();
		if (c + 1 < opt.calls)
			sleep_ms(opt.interval_ms);
	}
}

/* ---- primes: a worker pool over an unclosed queue (seed 002) ------------- */

struct pool {
	struct queue *q;
	pthread_t *tids;
	int n;
};

static volatile long primes_found;

static bool is_prime(int n)
{
	if (n < 2)
		return false;
	for (int d = 2; d * d <= n; d++)
		if (n % d == 0)
			return false;
	return true;
}

static NOINLINE void *prime_worker(void *arg)
{
	struct queue *q = arg;
	int num;

	while (queue_get(q, &num))
		if (is_prime(num))
			__atomic_fetch_add(&primes_found, 1, __ATOMIC_RELAXED);
	return NULL;
}

static NOINLINE void pool_spawn_workers(struct pool *p)
{
	for (int i = 0; i < p->n; i++)
		pthread_create(&p->tids[i], NULL, prime_worker, p->q);
}

static NOINLINE struct pool *pool_start(int workers, int queue_cap)
{
	struct pool *p = calloc(1, sizeof(*p));

	p->q = queue_new(queue_cap);
	p->n = workers;
	p->tids = calloc((size_t)workers, sizeof(pthread_t));
	pool_spawn_workers(p);
	return p;
}

static NOINLINE void compute_primes(int lo, int hi)
{
	struct pool *p = pool_start(opt.workers, hi - lo);

	for (int n = lo; n < hi; n++)
		queue_put(p->q, n);
	if (!opt.fixed) {
		/* The bug: wait for the queue to drain, but never close it. */
		for (;;) {
			pthread_mutex_lock(&p->q->mu);
			int left = p->q->count;
			pthread_mutex_unlock(&p->q->mu);
			if (left == 0)
				break;
			sleep_ms(1);
		}
		return;
	}
	queue_close(p->q);
	for (int i = 0; i < p->n; i++)
		pthread_join(p->tids[i], NULL);
	queue_free(p->q);
	free(p->tids);
	free(p);
}

static void run_primes(void)
{
	for (int c = 0; c < opt.calls; c++) {
		compute_primes(c * 1000, (c + 1) * 1000);
		if (c + 1 < opt.calls)
			sleep_ms(opt.interval_ms);
	}
}

/* ---- unjoined: finished threads nobody joined ---------------------------- */

static void *finish_at_once(void *arg)
{
	return arg;
}

static void *finish_with_exit(void *arg)
{
	pthread_exit(arg);
}

static void *wait_for_cancel(void *arg)
{
	for (;;)
		sleep_ms(1000); /* a cancellation point */
	return arg;
}

static volatile int forgotten_count;

static NOINLINE void spawn_forgotten(pthread_t *tid)
{
	pthread_create(tid, NULL, finish_at_once, NULL);
	forgotten_count++; /* not a tail call: this frame stays in the creation stack */
}

static NOINLINE void spawn_detached(void)
{
	pthread_attr_t attr;
	pthread_t tid;

	pthread_create(&tid, NULL, finish_at_once, NULL);
	pthread_detach(tid);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_create(&tid, &attr, finish_at_once, NULL);
	pthread_attr_destroy(&attr);
}

static NOINLINE void spawn_joined(void)
{
	pthread_t a, b, c;
	struct timespec deadline;

	pthread_create(&a, NULL, finish_at_once, NULL);
	pthread_join(a, NULL);
	pthread_create(&b, NULL, finish_with_exit, NULL);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 10;
	pthread_timedjoin_np(b, NULL, &deadline);
	pthread_create(&c, NULL, wait_for_cancel, NULL);
	pthread_cancel(c);
	pthread_join(c, NULL);
}

/* Two joinable threads that end otherwise than by returning, never joined. */
static NOINLINE void spawn_ended_otherwise(pthread_t *exited, pthread_t *cancelled)
{
	pthread_create(exited, NULL, finish_with_exit, NULL);
	pthread_create(cancelled, NULL, wait_for_cancel, NULL);
	pthread_cancel(*cancelled);
	forgotten_count++;
}

static void *wait_for_release(void *arg)
{
	while (!__atomic_load_n((int *)arg, __ATOMIC_ACQUIRE))
		sleep_ms(1);
	return NULL;
}

static void *join_until_cancelled(void *arg)
{
	pthread_join(*(pthread_t *)arg, NULL); /* cancelled while it waits */
	return NULL;
}

/*
 * A join cancelled while it waits leaves its target joinable (glibc forgets
 * the joiner), so the detach that follows detaches it for real: the target
 * must not be left "unjoined" when it ends.
 */
static NOINLINE void spawn_detached_after_a_cancelled_join(void)
{
	pthread_t target, joiner;
	int release = 0;

	pthread_create(&target, NULL, wait_for_release, &release);
	pthread_create(&joiner, NULL, join_until_cancelled, &target);
	sleep_ms(20); /* the joiner waits in pthread_join */
	pthread_cancel(joiner);
	pthread_join(joiner, NULL);
	pthread_detach(target);
	__atomic_store_n(&release, 1, __ATOMIC_RELEASE);
	sleep_ms(20); /* the target has read release before this frame goes */
}

static void run_unjoined(void)
{
	pthread_t *forgotten = calloc((size_t)opt.calls, sizeof(pthread_t));
	pthread_t exited, cancelled;

	for (int c = 0; c < opt.calls; c++) {
		spawn_forgotten(&forgotten[c]);
		spawn_detached();
		spawn_joined();
		spawn_detached_after_a_cancelled_join();
	}
	spawn_ended_otherwise(&exited, &cancelled);
	sleep_ms(50); /* let the detached ones end */
	if (opt.fixed) {
		pthread_join(exited, NULL);
		pthread_join(cancelled, NULL);
	}
	if (opt.fixed)
		for (int c = 0; c < opt.calls; c++) {
			if (c % 2 == 0)
				pthread_join(forgotten[c], NULL);
			else
				while (pthread_tryjoin_np(forgotten[c], NULL) != 0)
					sleep_ms(1);
		}
	free(forgotten);
}

/* ---- c11: thrd_create workers waiting on a condition nobody signals ------ */

static mtx_t c11_mu;
static cnd_t c11_cv;
static bool c11_stop;

static int c11_worker(void *arg)
{
	mtx_lock(&c11_mu);
	while (!c11_stop)
		cnd_wait(&c11_cv, &c11_mu);
	mtx_unlock(&c11_mu);
	return (int)(intptr_t)arg;
}

static NOINLINE void start_c11_workers(thrd_t *thr, int n)
{
	for (int i = 0; i < n; i++)
		thrd_create(&thr[i], c11_worker, (void *)(intptr_t)i);
}

static void run_c11(void)
{
	thrd_t *thr = calloc((size_t)(opt.calls * opt.workers), sizeof(thrd_t));

	mtx_init(&c11_mu, mtx_plain);
	cnd_init(&c11_cv);
	for (int c = 0; c < opt.calls; c++) {
		start_c11_workers(thr + c * opt.workers, opt.workers);
		if (c + 1 < opt.calls)
			sleep_ms(opt.interval_ms);
	}
	if (opt.fixed) {
		mtx_lock(&c11_mu);
		c11_stop = true;
		cnd_broadcast(&c11_cv);
		mtx_unlock(&c11_mu);
		for (int i = 0; i < opt.calls * opt.workers; i++) {
			int res;
			thrd_join(thr[i], &res);
		}
	}
	free(thr);
}

/* ---- fork: the child's registry holds its own threads only --------------- */

static void run_fork(void)
{
	struct queue *q = queue_new(4);
	pthread_t tid;
	pid_t child;
	int status;

	for (int i = 0; i < 3; i++)
		pthread_create(&tid, NULL, consumer, q); /* blocked, in the parent only */
	child = fork();
	if (child == 0) {
		spawn_joined(); /* 3 threads, all joined */
		printf("child %d\n", (int)getpid());
		fflush(stdout);
		exit(0);
	}
	waitpid(child, &status, 0);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: rf-threads-app handler|primes|unjoined|c11|fork [--fixed] [--calls N]\n"
		   "       [--interval-ms MS] [--workers N] [--linger-ms MS]\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"fixed", no_argument, NULL, 'f'},
		{"calls", required_argument, NULL, 'c'},
		{"interval-ms", required_argument, NULL, 'i'},
		{"workers", required_argument, NULL, 'w'},
		{"linger-ms", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			opt.fixed = true;
			break;
		case 'c':
			opt.calls = atoi(optarg);
			break;
		case 'i':
			opt.interval_ms = atoi(optarg);
			break;
		case 'w':
			opt.workers = atoi(optarg);
			break;
		case 'l':
			opt.linger_ms = atoi(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc || opt.calls < 1 || opt.workers < 1) {
		usage(stderr);
		return 2;
	}
	opt.mode = argv[optind];
	if (strcmp(opt.mode, "handler") == 0)
		run_handler();
	else if (strcmp(opt.mode, "primes") == 0)
		run_primes();
	else if (strcmp(opt.mode, "unjoined") == 0)
		run_unjoined();
	else if (strcmp(opt.mode, "c11") == 0)
		run_c11();
	else if (strcmp(opt.mode, "fork") == 0)
		run_fork();
	else {
		usage(stderr);
		return 2;
	}
	printf("ready\n");
	fflush(stdout);
	if (opt.linger_ms > 0)
		sleep_ms(opt.linger_ms);
	return 0;
}
