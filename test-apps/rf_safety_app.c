/*
 * rf_safety_app.c - what ordinary programs do that a preloaded library must
 * survive: run plain and under the shim by test-apps/e2e/safety_*.sh, which
 * compare exit status and output. Each mode prints what it saw, on stdout,
 * in a form that does not depend on timing.
 *
 *   exhaust HEADROOM   use up the address space (run under ulimit -v), bring the
 *                      main thread's stack to HEADROOM bytes above its lowest
 *                      mapped page, then pthread_create
 *   quick-exit STATUS  quick_exit(STATUS) after an at_quick_exit handler
 *   drop-user          threads running, the main thread switches to nobody
 *   signal-alloc       a timer signal's handler mallocs and frees, 2000 times
 *   exit-thread        a thread calls exit() while others allocate
 *   spawn-storm        threads that fork, vfork and posix_spawn, at once
 *   churn N            N threads ended every way: joined, detached,
 *                      pthread_exit, cancelled
 *   late-kafka PART    dlopen PART (librf-late-kafka-part.so, which links
 *                      librdkafka) late, with RTLD_LOCAL, and produce through it
 *                      to a broker that does not exist
 *   threads N SECONDS  N threads that wait, alive for SECONDS
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define CHECK(cond, what)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("FAIL %s (%s)\n", what, strerror(errno));                           \
			exit(2);                                                                   \
		}                                                                                  \
	} while (0)

static void *thread_return(void *arg)
{
	return arg;
}

/* ---- exhaust --------------------------------------------------------------------- */

static uintptr_t stack_lowest_mapped(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	uintptr_t lo = 0, hi = 0;
	char line[512];

	CHECK(f != NULL, "maps");
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, "[stack]") != NULL)
			sscanf(line, "%lx-%lx", &lo, &hi);
	fclose(f);
	return lo;
}

static __attribute__((noinline)) int create_one(void)
{
	pthread_t t;
	int rc = pthread_create(&t, NULL, thread_return, NULL);

	if (rc == 0)
		pthread_join(t, NULL);
	return rc;
}

static int mode_exhaust(size_t headroom)
{
	uintptr_t lo = stack_lowest_mapped(), sp;
	volatile char *pad;
	int rc;

	for (size_t size = (size_t)1 << 30; size >= 4096; size /= 2)
		while (mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) !=
		       MAP_FAILED)
			;
	sp = (uintptr_t)__builtin_frame_address(0);
	pad = alloca(sp - lo - headroom);
	pad[0] = 0;
	rc = create_one();
	printf("exhaust: pthread_create with %zu bytes of stack left: %s\n", headroom,
	       rc == 0 ? "created" : strerror(rc));
	return 0;
}

/* ---- quick_exit ------------------------------------------------------------------ */

static void at_quick(void)
{
	printf("quick-exit: handler ran\n");
	fflush(stdout);
}

static int mode_quick_exit(int status)
{
	at_quick_exit(at_quick);
	quick_exit(status);
}

/* ---- drop-user ------------------------------------------------------------------- */

static pthread_mutex_t wait_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wait_cond = PTHREAD_COND_INITIALIZER;
static int wait_over;

static void *thread_wait(void *arg)
{
	pthread_mutex_lock(&wait_lock);
	while (!wait_over)
		pthread_cond_wait(&wait_cond, &wait_lock);
	pthread_mutex_unlock(&wait_lock);
	return arg;
}

static void wait_end(pthread_t *t, int n)
{
	pthread_mutex_lock(&wait_lock);
	wait_over = 1;
	pthread_cond_broadcast(&wait_cond);
	pthread_mutex_unlock(&wait_lock);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

static int mode_drop_user(void)
{
	pthread_t t[2];

	for (int i = 0; i < 2; i++)
		CHECK(pthread_create(&t[i], NULL, thread_wait, NULL) == 0, "pthread_create");
	CHECK(setgroups(0, NULL) == 0, "setgroups");
	CHECK(setresgid(65534, 65534, 65534) == 0, "setresgid");
	CHECK(setresuid(65534, 65534, 65534) == 0, "setresuid");
	printf("drop-user: now uid %d gid %d, 2 threads running\n", (int)geteuid(), (int)getegid());
	wait_end(t, 2);
	printf("drop-user: threads joined\n");
	return 0;
}

/* ---- signal-alloc ---------------------------------------------------------------- */

static volatile sig_atomic_t handled;

static void on_alarm(int sig)
{
	int saved = errno;
	void *p = malloc(64 + (size_t)(handled % 5000));

	(void)sig;
	if (p != NULL)
		memset(p, 1, 64);
	free(p);
	handled++;
	errno = saved;
}

static int mode_signal_alloc(void)
{
	struct itimerval every = {{0, 200}, {0, 200}};
	struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
	volatile unsigned long spins = 0;

	/* The main thread does not allocate meanwhile: glibc's malloc is not
	 * async-signal-safe, and a handler that interrupts it is undefined
	 * plain too (rf-heap-app's signal mode tests that case under the shim). */
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &every, NULL);
	while (handled < 2000)
		spins++;
	setitimer(ITIMER_REAL, &(struct itimerval){{0, 0}, {0, 0}}, NULL);
	printf("signal-alloc: 2000 signal handlers allocated and freed\n");
	return 0;
}

/* ---- exit-thread ----------------------------------------------------------------- */

static void *thread_allocate(void *arg)
{
	void *keep[32] = {0};

	for (long i = 0;; i++) {
		free(keep[i % 32]);
		keep[i % 32] = malloc(32 + (size_t)(i % 3000));
	}
	return arg;
}

static void *thread_exit_soon(void *arg)
{
	usleep(100000);
	printf("exit-thread: a thread calls exit(3) while 4 others allocate\n");
	fflush(stdout);
	exit(3);
	return arg;
}

static int mode_exit_thread(void)
{
	pthread_t t;

	for (int i = 0; i < 4; i++)
		CHECK(pthread_create(&t, NULL, thread_allocate, NULL) == 0, "pthread_create");
	CHECK(pthread_create(&t, NULL, thread_exit_soon, NULL) == 0, "pthread_create");
	for (;;)
		pause();
}

/* ---- spawn-storm ----------------------------------------------------------------- */

#define STORM_THREADS 4
#define STORM_EACH 30

/* In a function of its own: nothing of the caller's frame lives across vfork. */
static __attribute__((noinline)) pid_t spawn_vfork(char **argv)
{
	pid_t pid = vfork();

	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void *thread_spawn(void *arg)
{
	long which = (long)(intptr_t)arg, ok = 0;
	char *argv[] = {"/bin/true", NULL};

	for (int i = 0; i < STORM_EACH; i++) {
		pid_t pid = -1;
		int status = -1;

		switch ((which + i) % 3) {
		case 0:
			pid = fork();
			if (pid == 0) {
				void *p = malloc(100); /* the child allocates before it execs */
				free(p);
				execv(argv[0], argv);
				_exit(127);
			}
			break;
		case 1:
			pid = spawn_vfork(argv);
			break;
		default:
			if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0)
				pid = -1;
			break;
		}
		if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0)
			ok++;
	}
	return (void *)(intptr_t)ok;
}

static int mode_spawn_storm(void)
{
	pthread_t t[STORM_THREADS];
	long ok = 0;

	for (long i = 0; i < STORM_THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, thread_spawn, (void *)(intptr_t)i) == 0,
		      "pthread_create");
	for (int i = 0; i < STORM_THREADS; i++) {
		void *r;

		pthread_join(t[i], &r);
		ok += (long)(intptr_t)r;
	}
	printf("spawn-storm: %ld of %d children (fork, vfork, posix_spawn) exited 0\n", ok,
	       STORM_THREADS * STORM_EACH);
	return 0;
}

/* ---- churn ----------------------------------------------------------------------- */

static void *thread_churn(void *arg)
{
	long how = (long)(intptr_t)arg;

	if (how == 2)
		pthread_exit(arg);
	if (how == 3)
		for (;;)
			pause(); /* a cancellation point */
	return arg;
}

static int mode_churn(long n)
{
	long counts[4] = {0};

	for (long i = 0; i < n; i++) {
		long how = i % 4;
		pthread_t t;
		pthread_attr_t attr;

		pthread_attr_init(&attr);
		if (how == 1)
			pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		CHECK(pthread_create(&t, &attr, thread_churn, (void *)(intptr_t)how) == 0,
		      "pthread_create");
		pthread_attr_destroy(&attr);
		if (how == 3)
			CHECK(pthread_cancel(t) == 0, "pthread_cancel");
		if (how != 1) {
			void *r;

			CHECK(pthread_join(t, &r) == 0, "pthread_join");
			if ((how == 3 && r == PTHREAD_CANCELED) || (how != 3 && r == (void *)how))
				counts[how]++;
		} else {
			counts[how]++;
		}
	}
	printf("churn: %ld returned, %ld detached, %ld exited, %ld cancelled\n", counts[0],
	       counts[1], counts[2], counts[3]);
	return 0;
}

/* ---- late-kafka ------------------------------------------------------------------ */

static int mode_late_kafka(const char *part)
{
	void *h = dlopen(part, RTLD_NOW | RTLD_LOCAL);
	int (*produce)(int, int *);
	int produced, left = -1;

	CHECK(h != NULL, "dlopen");
	*(void **)&produce = dlsym(h, "rf_late_produce");
	CHECK(produce != NULL, "dlsym");
	produced = produce(100, &left);
	printf("late-kafka: %d produced, %d left after the flush\n", produced, left);
	return 0;
}

/* ---- threads --------------------------------------------------------------------- */

static int mode_threads(int n, int seconds)
{
	pthread_t t[64];

	if (n > 64)
		n = 64;
	for (int i = 0; i < n; i++)
		CHECK(pthread_create(&t[i], NULL, thread_wait, NULL) == 0, "pthread_create");
	printf("threads: %d running\n", n);
	fflush(stdout);
	sleep((unsigned)seconds);
	wait_end(t, n);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	long arg = argc > 2 ? strtol(argv[2], NULL, 10) : 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(mode, "exhaust") == 0)
		return mode_exhaust((size_t)arg);
	if (strcmp(mode, "quick-exit") == 0)
		return mode_quick_exit((int)arg);
	if (strcmp(mode, "drop-user") == 0)
		return mode_drop_user();
	if (strcmp(mode, "signal-alloc") == 0)
		return mode_signal_alloc();
	if (strcmp(mode, "exit-thread") == 0)
		return mode_exit_thread();
	if (strcmp(mode, "spawn-storm") == 0)
		return mode_spawn_storm();
	if (strcmp(mode, "churn") == 0)
		return mode_churn(arg);
	if (strcmp(mode, "late-kafka") == 0 && argc > 2)
		return mode_late_kafka(argv[2]);
	if (strcmp(mode, "threads") == 0 && argc > 3)
		return mode_threads((int)arg, atoi(argv[3]));
	fprintf(stderr, "usage: rf-safety-app exhaust HEADROOM | quick-exit STATUS | drop-user | "
			"signal-alloc | exit-thread | spawn-storm | churn N | late-kafka PART | "
			"threads N SECONDS\n");
	return 64;
}
