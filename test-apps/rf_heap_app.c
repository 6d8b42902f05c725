/*
 * rf_heap_app.c - a program that allocates known amounts, run under the
 * shim by the heap tests (test-apps/e2e/heap_*.sh, docs/heap.md).
 *
 * It checks the shim's figures itself: between two points where only its
 * own known allocations ran, it reads its own segment (/dev/shm/<prefix>.
 * <pid>, after two further publishes) and compares the differences with
 * what it did. Each check prints "ok <what>"; the first mismatch prints
 * "FAIL <what>: ..." and exits 1.
 *
 *   rf-heap-app counts [--threads N --count N --size N]  threads, groups
 *   rf-heap-app calls                                    realloc, aligned, calloc, errno
 *   rf-heap-app fork                                     the child's own figures
 *   rf-heap-app signal [--ms N]                          a signal handler that mallocs
 *   rf-heap-app produce --bootstrap B [...]              heap climbing while producing
 *   rf-heap-app churn [--threads N --count N]            plain multi-threaded work
 *   rf-heap-app cache                                    the thread cache: sizes, end,
 *                                                        double free (with
 *                                                        RINGFENCE_HEAP_CACHE=0: none)
 *   rf-heap-app leak [--threads N --count N --size N]    threads that keep their heap
 *                                                        and never end (exit after --ms)
 *
 * Run it with RINGFENCE_PUBLISH_INTERVAL=10ms so checks are quick.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "rf_shm.h"

static struct {
	long threads, count, size, ms;
	const char *bootstrap;
	long payload;
} opt = {.threads = 4, .count = 1000, .size = 1000, .ms = 1000, .payload = 4096};

/* ---- output without malloc ------------------------------------------------------------ */

static void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDOUT_FILENO, line, (size_t)n) < 0)
		_exit(3);
}

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			say("FAIL " __VA_ARGS__);                                                  \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

/* ---- the process's own segment -------------------------------------------------------- */

struct figures {
	uint64_t s[RF_STAT__COUNT];
	uint64_t groups;
	struct rf_shm_thread_group g[RF_SHM_THREAD_GROUPS_MAX];
};

static uint64_t seq_of(int fd)
{
	uint64_t seq = 1;

	if (pread(fd, &seq, sizeof(seq), offsetof(struct rf_shm_header, seq)) != sizeof(seq))
		return 1;
	return __atomic_load_n(&seq, __ATOMIC_RELAXED);
}

/* The figures of a publish that started after this call (no allocation here). */
static void figures_read(struct figures *f)
{
	static struct rf_shm_header h;
	char name[128];
	const char *prefix = getenv("RINGFENCE_SHM_PREFIX");
	uint64_t start, seq;
	int fd;

	snprintf(name, sizeof(name), "/%s.%d", prefix ? prefix : "ringfence", (int)getpid());
	fd = shm_open(name, O_RDONLY, 0);
	CHECK(fd >= 0, "no segment %s (run under the shim)", name);
	CHECK(pread(fd, &h, sizeof(h), 0) == sizeof(h) && h.magic == RF_SHM_MAGIC &&
		      h.version == RF_SHM_VERSION,
	      "segment %s unreadable or of another version", name);
	start = seq_of(fd);
	for (int tries = 0;; tries++) {
		const struct rf_shm_section *st = &h.sections[RF_SHM_SECTION_STATS - 1];
		const struct rf_shm_section *sg = &h.sections[RF_SHM_SECTION_THREAD_GROUPS - 1];

		CHECK(tries < 2000, "no publish within 10 s");
		nanosleep(&(struct timespec){0, 5000000}, NULL);
		seq = seq_of(fd);
		if ((seq & 1) || seq < (start | 1) + 3)
			continue; /* a whole publish must have started after we asked */
		CHECK(pread(fd, &h, sizeof(h), 0) == sizeof(h), "header");
		f->groups =
			sg->count < RF_SHM_THREAD_GROUPS_MAX ? sg->count : RF_SHM_THREAD_GROUPS_MAX;
		if (pread(fd, f->s, sizeof(f->s), (off_t)st->offset) != sizeof(f->s) ||
		    pread(fd, f->g, sizeof(f->g[0]) * f->groups, (off_t)sg->offset) !=
			    (ssize_t)(sizeof(f->g[0]) * f->groups))
			continue;
		if (seq_of(fd) == seq)
			break;
	}
	close(fd);
}

#define D(a, b, stat) ((int64_t)((b)->s[RF_STAT_##stat] - (a)->s[RF_STAT_##stat]))

/* ---- counts: threads in a group ------------------------------------------------------ */

static pthread_barrier_t bar;

static void *counts_worker(void *arg)
{
	char **blocks = arg;

	for (long i = 0; i < opt.count; i++) {
		blocks[i] = malloc((size_t)opt.size);
		CHECK(blocks[i] != NULL, "malloc");
		memset(blocks[i], 1, (size_t)opt.size);
	}
	pthread_barrier_wait(&bar); /* allocated */
	pthread_barrier_wait(&bar); /* counted: free */
	for (long i = 0; i < opt.count; i++)
		free(blocks[i]);
	pthread_barrier_wait(&bar); /* freed */
	pthread_barrier_wait(&bar); /* counted: exit */
	return NULL;
}

static int run_counts(void)
{
	static struct figures a, b, c;
	pthread_t tids[64];
	char **blocks[64];
	int64_t want = opt.threads * opt.count * opt.size;
	uint64_t found = 0;

	CHECK(opt.threads > 0 && opt.threads <= 64, "--threads 1..64");
	for (long t = 0; t < opt.threads; t++)
		blocks[t] = mmap(NULL, sizeof(char *) * (size_t)opt.count, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pthread_barrier_init(&bar, NULL, (unsigned)opt.threads + 1);
	for (long t = 0; t < opt.threads; t++)
		CHECK(pthread_create(&tids[t], NULL, counts_worker, blocks[t]) == 0, "create");
	/* The threads exist (their start-up allocations are done) before the first figures:
	 * wait for them to be allocating? No: read a before they start is racy, so the
	 * difference is taken between "allocated" and "freed" instead, plus the group. */
	pthread_barrier_wait(&bar);
	figures_read(&a);
	for (uint64_t i = 0; i < a.groups; i++)
		if (a.g[i].alive == (uint64_t)opt.threads &&
		    a.g[i].heap_live_bytes == (uint64_t)want)
			found = 1;
	CHECK(found, "counts: no thread group holds %" PRId64 " live bytes", want);
	say("ok counts: the group of %ld threads holds %" PRId64 " live bytes", opt.threads, want);
	pthread_barrier_wait(&bar);
	pthread_barrier_wait(&bar);
	figures_read(&b);
	CHECK(D(&a, &b, heap_frees) == opt.threads * opt.count, "counts: frees %" PRId64,
	      D(&a, &b, heap_frees));
	CHECK(D(&a, &b, heap_allocs) == 0, "counts: allocs %" PRId64, D(&a, &b, heap_allocs));
	CHECK(-D(&a, &b, heap_live_bytes) == want, "counts: live %" PRId64,
	      D(&a, &b, heap_live_bytes));
	CHECK(b.s[RF_STAT_heap_live_peak_bytes] >= (uint64_t)want, "counts: peak");
	for (uint64_t i = 0; i < b.groups; i++)
		if (b.g[i].alive == (uint64_t)opt.threads)
			CHECK(b.g[i].heap_live_bytes == 0, "counts: group still holds %" PRIu64,
			      b.g[i].heap_live_bytes);
	say("ok counts: %" PRId64 " frees, live down by %" PRId64, D(&a, &b, heap_frees), want);
	pthread_barrier_wait(&bar);
	for (long t = 0; t < opt.threads; t++)
		pthread_join(tids[t], NULL);
	/* Allocations now, from the main thread: counted outside every group. */
	char *keep = malloc(12345);
	__asm__ volatile("" : : "r"(keep) : "memory"); /* the compiler must not drop the pair */
	figures_read(&c);
	CHECK(D(&b, &c, heap_allocs) == 1 && D(&b, &c, heap_alloc_bytes) == 12345,
	      "counts: main allocs %" PRId64 " bytes %" PRId64, D(&b, &c, heap_allocs),
	      D(&b, &c, heap_alloc_bytes));
	CHECK(c.s[RF_STAT_heap_unattributed_bytes] >= 12345, "counts: unattributed");
	CHECK(c.s[RF_STAT_heap_interposed] == 1, "counts: not interposed");
	free(keep);
	say("ok counts: main thread allocation counted outside the groups");
	return 0;
}

/* ---- calls: realloc, the memalign family, calloc, errno ------------------------------ */

static int run_calls(void)
{
	static struct figures a, b;
	char *p, *q;
	void *v = NULL;
	static volatile size_t huge = (size_t)-1; /* opaque to the compiler's own checks */
	size_t big = huge;

	figures_read(&a);
	/* realloc growth and shrink, contents kept, usable size consistent. */
	p = malloc(100);
	memset(p, 'x', 100);
	CHECK(malloc_usable_size(p) >= 100, "usable 100");
	p = realloc(p, 100000);
	CHECK(p != NULL && p[99] == 'x' && malloc_usable_size(p) >= 100000, "realloc grow");
	memset(p, 'y', malloc_usable_size(p)); /* the whole usable size is the caller's */
	p = realloc(p, 10);
	CHECK(p != NULL && p[9] == 'y' && malloc_usable_size(p) >= 10, "realloc shrink");
	figures_read(&b);
	CHECK(D(&a, &b, heap_live_bytes) == 10 && D(&a, &b, heap_allocs) == 3 &&
		      D(&a, &b, heap_frees) == 2 &&
		      D(&a, &b, heap_alloc_bytes) == 100 + 100000 + 10,
	      "realloc figures: live %" PRId64 " allocs %" PRId64 " frees %" PRId64
	      " bytes %" PRId64,
	      D(&a, &b, heap_live_bytes), D(&a, &b, heap_allocs), D(&a, &b, heap_frees),
	      D(&a, &b, heap_alloc_bytes));
	q = realloc(p, 0);
	CHECK(q == NULL, "realloc(p, 0) frees");
	q = realloc(NULL, 50);
	CHECK(q != NULL, "realloc(NULL, n)");
	free(q);
	say("ok realloc: growth, shrink, contents, usable size, counted as free + allocation");

	/* The memalign family. */
	figures_read(&a);
	static const size_t aligns[] = {16, 32, 64, 256, 4096, 65536, 1 << 20};
	void *blocks[8];
	uint64_t total = 0;
	for (size_t i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
		CHECK(posix_memalign(&blocks[i], aligns[i], 1000 + i) == 0, "posix_memalign");
		CHECK((uintptr_t)blocks[i] % aligns[i] == 0, "posix_memalign alignment %zu",
		      aligns[i]);
		CHECK(malloc_usable_size(blocks[i]) >= 1000 + i, "usable aligned");
		memset(blocks[i], 0xab, malloc_usable_size(blocks[i]));
		total += 1000 + i;
	}
	void *m = memalign(128, 300), *al = aligned_alloc(512, 1024), *va = valloc(5000);
	void *pv = pvalloc(5000);
	long page = sysconf(_SC_PAGESIZE);
	CHECK(m && (uintptr_t)m % 128 == 0, "memalign");
	CHECK(al && (uintptr_t)al % 512 == 0, "aligned_alloc");
	CHECK(va && (uintptr_t)va % (uintptr_t)page == 0, "valloc");
	CHECK(pv && (uintptr_t)pv % (uintptr_t)page == 0 && malloc_usable_size(pv) >= 8192,
	      "pvalloc");
	total += 300 + 1024 + 5000 + 8192;
	/* realloc of an aligned block: moved, contents kept. */
	void *ra = realloc(blocks[4], 3000);
	CHECK(ra && ((unsigned char *)ra)[999] == 0xab, "realloc aligned");
	blocks[4] = ra;
	total += 3000 - 1004;
	figures_read(&b);
	CHECK(D(&a, &b, heap_live_bytes) == (int64_t)total,
	      "aligned live %" PRId64 ", want %" PRIu64, D(&a, &b, heap_live_bytes), total);
	for (size_t i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++)
		free(blocks[i]);
	free(m);
	free(al);
	free(va);
	free(pv);
	errno = 0;
	CHECK(posix_memalign(&v, 24, 10) == EINVAL && errno == 0, "posix_memalign EINVAL");
	say("ok aligned: posix_memalign, memalign, aligned_alloc, valloc, pvalloc, realloc");

	/* calloc: overflow, zeroes; huge requests; errno. */
	errno = 0;
	CHECK(calloc(big / 2, 3) == NULL && errno == ENOMEM, "calloc overflow");
	errno = 0;
	CHECK(malloc(big - 8) == NULL && errno == ENOMEM, "malloc huge");
	errno = 0;
	CHECK(reallocarray(NULL, big / 2, 3) == NULL && errno == ENOMEM, "reallocarray overflow");
	p = calloc(1000, 10);
	for (int i = 0; i < 10000; i++)
		CHECK(p[i] == 0, "calloc zeroes");
	free(p);
	errno = 4321;
	p = malloc(77);
	free(p);
	p = calloc(3, 3);
	p = realloc(p, 9000);
	free(p);
	CHECK(errno == 4321, "errno changed to %d", errno);
	figures_read(&a);
	CHECK(a.s[RF_STAT_heap_foreign_frees] == 0, "foreign frees");
	say("ok calloc: overflow gives NULL with ENOMEM; zeroes; errno kept");
	return 0;
}

/* ---- fork ----------------------------------------------------------------------------- */

static int run_fork(void)
{
	static struct figures a, b, c;
	char *held = malloc(1 << 20);
	pid_t child;
	int status;

	memset(held, 1, 1 << 20);
	figures_read(&a);
	CHECK(a.s[RF_STAT_heap_live_bytes] >= 1 << 20, "fork: parent live");
	child = fork();
	CHECK(child >= 0, "fork");
	if (child == 0) {
		figures_read(&b);
		/* Counts start at zero in the child; the inherited heap is its own. */
		CHECK(b.s[RF_STAT_heap_allocs] < 100, "child allocs %" PRIu64,
		      b.s[RF_STAT_heap_allocs]);
		CHECK(b.s[RF_STAT_heap_live_bytes] >= 1 << 20, "child live %" PRIu64,
		      b.s[RF_STAT_heap_live_bytes]);
		free(held);
		figures_read(&c);
		CHECK(D(&b, &c, heap_live_bytes) == -(1 << 20), "child free: live %" PRId64,
		      D(&b, &c, heap_live_bytes));
		CHECK(D(&b, &c, heap_frees) == 1, "child frees");
		say("ok fork child: counts from zero, inherited live bytes its own and freed");
		_exit(0);
	}
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "fork child failed");
	figures_read(&b);
	CHECK(b.s[RF_STAT_heap_live_bytes] >= 1 << 20, "fork: parent live after child");
	free(held);
	say("ok fork parent: its figures untouched by the child");
	return 0;
}

/* ---- signal --------------------------------------------------------------------------- */

static volatile sig_atomic_t handler_allocs;
static void *handler_keep[4096];

static void on_alarm(int sig)
{
	/* Against the rules (malloc is not async-signal-safe), as real programs do. */
	void *p = malloc(48);

	(void)sig;
	if (p != NULL && handler_allocs < 4096)
		handler_keep[handler_allocs] = p;
	else
		free(p);
	handler_allocs = handler_allocs + 1;
}

static int run_signal(void)
{
	static struct figures a, b;
	struct itimerval it = {{0, 200}, {0, 200}};
	struct sigaction sa = {.sa_handler = on_alarm};
	long loops = 0, kept;
	struct timespec t0, t;

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	figures_read(&a);
	setitimer(ITIMER_REAL, &it, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		for (int i = 0; i < 1000; i++) {
			void *p = malloc((size_t)(16 + (i & 511)));
			void *q = calloc(1, 24);
			p = realloc(p, 600);
			free(q);
			free(p);
		}
		loops++;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < opt.ms);
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	signal(SIGALRM, SIG_IGN);
	kept = handler_allocs < 4096 ? handler_allocs : 4096;
	figures_read(&b);
	CHECK(handler_allocs > 10, "only %d signals", (int)handler_allocs);
	/* Each loop iteration: malloc, calloc, realloc (1 free + 1 alloc), 3 frees. */
	CHECK(D(&a, &b, heap_allocs) == loops * 3000 + handler_allocs,
	      "signal: allocs %" PRId64 ", want %ld", D(&a, &b, heap_allocs),
	      loops * 3000 + (long)handler_allocs);
	CHECK(D(&a, &b, heap_live_bytes) == kept * 48, "signal: live %" PRId64 ", want %ld",
	      D(&a, &b, heap_live_bytes), kept * 48);
	for (long i = 0; i < kept; i++)
		free(handler_keep[i]);
	say("ok signal: %d handler mallocs among %ld loops, every count exact, no deadlock",
	    (int)handler_allocs, loops);
	return 0;
}

/* ---- churn: plain multi-threaded work (other allocators) ---------------------------- */

static void *churn_worker(void *arg)
{
	uint64_t x = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
	void *slots[256] = {0};

	for (long i = 0; i < opt.count; i++) {
		size_t j;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		j = x % 256;
		switch (x >> 60) {
		case 0:
			slots[j] = realloc(slots[j], (size_t)(x >> 40) % 70000);
			break;
		case 1: {
			void *p = NULL;
			free(slots[j]);
			slots[j] = posix_memalign(&p, 64, 100) == 0 ? p : NULL;
			break;
		}
		case 2:
			free(slots[j]);
			slots[j] = calloc(4, 25);
			break;
		default:
			free(slots[j]);
			slots[j] = malloc((size_t)(x >> 40) % 2048);
		}
		if (slots[j] != NULL && malloc_usable_size(slots[j]) > 0)
			((char *)slots[j])[0] = 1;
	}
	for (int j = 0; j < 256; j++)
		free(slots[j]);
	return NULL;
}

static int run_churn(void)
{
	pthread_t tids[64];

	for (long t = 0; t < opt.threads && t < 64; t++)
		CHECK(pthread_create(&tids[t], NULL, churn_worker, (void *)(uintptr_t)(t + 1)) == 0,
		      "create");
	for (long t = 0; t < opt.threads && t < 64; t++)
		pthread_join(tids[t], NULL);
	say("ok churn: %ld threads x %ld operations", opt.threads, opt.count);
	return 0;
}

/* ---- cache: the shim's thread cache (docs/heap.md) ----------------------------------- */

#define CACHE_SIZES 129 /* 0 to 1024 bytes, every 8 */
#define CACHE_EACH 16

static void *cache_worker(void *arg)
{
	static void *blocks[CACHE_SIZES][CACHE_EACH];

	(void)arg;
	for (int s = 0; s < CACHE_SIZES; s++)
		for (int i = 0; i < CACHE_EACH; i++)
			CHECK((blocks[s][i] = malloc((size_t)s * 8)) != NULL, "malloc");
	for (int s = 0; s < CACHE_SIZES; s++)
		for (int i = 0; i < CACHE_EACH; i++)
			free(blocks[s][i]);
	pthread_barrier_wait(&bar); /* freed: some kept by the thread's cache */
	pthread_barrier_wait(&bar); /* counted: exit */
	return NULL;
}

/* The return path: blocks one thread allocates and another frees. The
 * freeing thread sends them in batches of 64 and keeps a batch not yet full
 * (and the free that updates its shared count goes to the allocator): at
 * least 512 of 640 are back with the allocating thread. */
#define RETURNED 640
#define RETURNED_BACK 512
#define RETURNED_SIZE 200 /* librdkafka's rd_kafka_msg_t, about */
static void *returned[RETURNED];

static void *free_returned(void *arg)
{
	char *volatile warm = malloc(1); /* the thread's first calls take the slow paths */

	(void)arg;
	free(warm);
	for (int i = 0; i < RETURNED; i++)
		free(returned[i]);
	pthread_barrier_wait(&bar); /* freed */
	pthread_barrier_wait(&bar); /* looked at: end */
	return NULL;
}

static void *free_and_end(void *p)
{
	char *volatile warm = malloc(1); /* the thread's first calls take the slow paths */

	free(warm);
	free(p);
	return NULL;
}

static int run_cache(void)
{
	static struct figures a, b, c;
	const char *cache_env = getenv("RINGFENCE_HEAP_CACHE");
	int cache_off = cache_env != NULL && strcmp(cache_env, "0") == 0;
	pthread_t tid;
	size_t inuse_before, inuse_after;
	int status;
	pid_t pid;

	/* A block freed at one size serves every size up to its usable size,
	 * and every size gets what it asked for. */
	for (size_t n = 0; n <= 1100; n++) {
		char *p = malloc(n), *q;

		CHECK(p != NULL && malloc_usable_size(p) >= n, "usable %zu", n);
		memset(p, 0x5a, malloc_usable_size(p));
		free(p);
		q = malloc(n + 15);
		CHECK(q != NULL && malloc_usable_size(q) >= n + 15, "usable %zu after %zu", n + 15,
		      n);
		memset(q, 0xa5, malloc_usable_size(q));
		free(q);
	}
	say("ok cache: sizes 0 to 1115 B, each served its usable size after a free of a neighbour");

	/* A large block (mapped by glibc) shrunk to a small size is not kept
	 * as a small one: freed, its mapping goes. */
	size_t mapped_before = mallinfo2().hblkhd;
	char *shrunk[8];
	for (int i = 0; i < 8; i++) {
		shrunk[i] = malloc(200000);
		CHECK(shrunk[i] != NULL, "malloc 200000");
		shrunk[i][0] = 'z';
	}
	for (int i = 0; i < 8; i++) {
		shrunk[i] = realloc(shrunk[i], 100);
		CHECK(shrunk[i] != NULL && shrunk[i][0] == 'z', "realloc to 100");
	}
	for (int i = 0; i < 8; i++)
		free(shrunk[i]);
	CHECK(mallinfo2().hblkhd <= mapped_before,
	      "glibc still maps %zu bytes more after large blocks shrunk and freed",
	      mallinfo2().hblkhd - mapped_before);
	say("ok cache: large blocks shrunk to small sizes do not stay mapped");

	/* A thread's cached blocks go back to the allocator when it ends. */
	figures_read(&a);
	inuse_before = mallinfo2().uordblks;
	pthread_barrier_init(&bar, NULL, 2);
	CHECK(pthread_create(&tid, NULL, cache_worker, NULL) == 0, "create");
	pthread_barrier_wait(&bar);
	figures_read(&b);
	pthread_barrier_wait(&bar);
	pthread_join(tid, NULL);
	figures_read(&c);
	inuse_after = mallinfo2().uordblks;
	if (cache_off) {
		CHECK(b.s[RF_STAT_heap_cached_bytes] == 0,
		      "%" PRIu64 " bytes cached with RINGFENCE_HEAP_CACHE=0",
		      b.s[RF_STAT_heap_cached_bytes]);
	} else {
		CHECK(D(&a, &b, heap_cached_bytes) >= 64 * 1024,
		      "cached bytes rose by %" PRId64 " while the thread held freed blocks",
		      D(&a, &b, heap_cached_bytes));
	}
	CHECK(D(&a, &c, heap_cached_bytes) <= 16 * 1024,
	      "cached bytes %" PRId64 " above the start after the thread ended",
	      D(&a, &c, heap_cached_bytes));
	CHECK(inuse_after < inuse_before + 64 * 1024,
	      "the allocator holds %zu bytes more after the thread ended",
	      inuse_after - inuse_before);
	if (cache_off)
		say("ok cache: off, nothing cached");
	else
		say("ok cache: %" PRId64
		    " bytes cached while the thread lived, given back at its end",
		    D(&a, &b, heap_cached_bytes));

	/* Blocks freed by another thread serve the allocating thread's next
	 * mallocs: none of them asks the allocator below for memory. */
	if (!cache_off) {
		size_t inuse_mid;

		for (int i = 0; i < RETURNED; i++)
			CHECK((returned[i] = malloc(RETURNED_SIZE)) != NULL, "malloc");
		figures_read(&a);
		pthread_barrier_init(&bar, NULL, 2);
		CHECK(pthread_create(&tid, NULL, free_returned, NULL) == 0, "create");
		pthread_barrier_wait(&bar);
		figures_read(&b);
		inuse_before = mallinfo2().uordblks;
		for (int i = 0; i < RETURNED_BACK; i++) {
			CHECK((returned[i] = malloc(RETURNED_SIZE)) != NULL, "malloc");
			memset(returned[i], 0x3c, RETURNED_SIZE);
		}
		inuse_mid = mallinfo2().uordblks;
		CHECK(inuse_mid == inuse_before,
		      "%d blocks of %d B freed by another thread: the allocating thread's "
		      "next %d took %zd bytes more from the allocator",
		      RETURNED, RETURNED_SIZE, RETURNED_BACK, (ssize_t)(inuse_mid - inuse_before));
		CHECK(D(&a, &b, heap_cached_bytes) >= RETURNED * RETURNED_SIZE,
		      "cached bytes rose by %" PRId64 " with %d blocks on their way back",
		      D(&a, &b, heap_cached_bytes), RETURNED);
		pthread_barrier_wait(&bar);
		pthread_join(tid, NULL);
		for (int i = 0; i < RETURNED_BACK; i++)
			free(returned[i]);
		say("ok cache: of %d blocks freed by another thread, %d served the allocating "
		    "thread again, none from the allocator",
		    RETURNED, RETURNED_BACK);
	}

	/* A double free aborts with the shim's message, as glibc aborts on one
	 * it catches: a block the thread cache holds (100 B; given back to glibc
	 * with the cache off), one given back to glibc (2,000 B), and one that
	 * another thread freed (cached there) before it ended (100 B, last). */
	static const size_t doubly[] = {100, 2000, 100};
	for (size_t i = 0; i < sizeof(doubly) / sizeof(doubly[0]); i++) {
		pid = fork();
		CHECK(pid >= 0, "fork");
		if (pid == 0) {
			/* volatile: the compiler may not drop the pair */
			char *volatile p;

			/* meson's MALLOC_PERTURB_ would make glibc overwrite the
			 * freed block: the shim's check is what is tested here. */
			mallopt(M_PERTURB, 0);
			p = malloc(doubly[i]);
			if (i == 2) {
				pthread_t freer;

				CHECK(pthread_create(&freer, NULL, free_and_end, p) == 0, "create");
				pthread_join(freer, NULL);
			} else {
				free(p);
			}
			free(p);
			_exit(0);
		}
		CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
		      "a double free of %zu bytes ended the child with status %#x, not SIGABRT",
		      doubly[i], status);
	}
	say("ok cache: a double free aborts (100 and 2,000 bytes, and freed by a thread since "
	    "ended)");
	return 0;
}

/* ---- leak: threads that keep their heap and never end -------------------------------- */

static void *leak_worker(void *arg)
{
	(void)arg;
	for (long i = 0; i < opt.count; i++)
		memset(malloc((size_t)opt.size), 2, (size_t)opt.size);
	pthread_barrier_wait(&bar);
	for (;;)
		pause();
	return NULL;
}

static int run_leak(void)
{
	pthread_t tid;

	pthread_barrier_init(&bar, NULL, (unsigned)opt.threads + 1);
	for (long t = 0; t < opt.threads; t++)
		CHECK(pthread_create(&tid, NULL, leak_worker, NULL) == 0, "create");
	pthread_barrier_wait(&bar);
	say("ready: %ld threads hold %ld bytes", opt.threads, opt.threads * opt.count * opt.size);
	nanosleep(&(struct timespec){opt.ms / 1000, (opt.ms % 1000) * 1000000}, NULL);
	exit(0);
}

/* ---- produce: heap climbing while producing ------------------------------------------- */

static long delivered, dr_failed;
static volatile int producing = 1;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	(void)opaque;
	if (m->err)
		__atomic_add_fetch(&dr_failed, 1, __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&delivered, 1, __ATOMIC_RELAXED);
	free(m->_private); /* the application's buffer, held until delivered */
}

static void *poller(void *rk)
{
	while (producing)
		rd_kafka_poll(rk, 10);
	return NULL;
}

struct producer {
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt;
	long retries;
};

static void *produce_worker(void *arg)
{
	struct producer *p = arg;

	for (long i = 0; i < opt.count; i++) {
		/* The payload lives on the heap until its delivery report. */
		char *buf = malloc((size_t)opt.payload);

		CHECK(buf != NULL, "malloc payload");
		memset(buf, 'a' + (int)(i % 26), (size_t)opt.payload);
		while (rd_kafka_produce(p->rkt, RD_KAFKA_PARTITION_UA, 0, buf, (size_t)opt.payload,
					NULL, 0, buf) != 0) {
			CHECK(rd_kafka_last_error() == RD_KAFKA_RESP_ERR__QUEUE_FULL, "produce: %s",
			      rd_kafka_err2str(rd_kafka_last_error()));
			p->retries++;
			nanosleep(&(struct timespec){0, 2000000}, NULL);
		}
	}
	return NULL;
}

static int run_produce(void)
{
	static struct figures f;
	char err[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	struct producer prods[64];
	pthread_t tids[64], poll_tid;
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt;
	long retries = 0, total = opt.threads * opt.count;

	CHECK(opt.bootstrap != NULL, "--bootstrap required");
	rd_kafka_conf_set(conf, "bootstrap.servers", opt.bootstrap, err, sizeof(err));
	rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof(err));
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	CHECK(rk != NULL, "rd_kafka_new: %s", err);
	rkt = rd_kafka_topic_new(rk, "rf-heap", NULL);
	pthread_create(&poll_tid, NULL, poller, rk);
	for (long t = 0; t < opt.threads && t < 64; t++) {
		prods[t] = (struct producer){.rk = rk, .rkt = rkt};
		pthread_create(&tids[t], NULL, produce_worker, &prods[t]);
	}
	for (long t = 0; t < opt.threads && t < 64; t++) {
		pthread_join(tids[t], NULL);
		retries += prods[t].retries;
	}
	CHECK(rd_kafka_flush(rk, 60000) == RD_KAFKA_RESP_ERR_NO_ERROR, "flush");
	producing = 0;
	pthread_join(poll_tid, NULL);
	figures_read(&f);
	say("{\"produced\": %ld, \"delivered\": %ld, \"dr_failed\": %ld, \"retries\": %ld, "
	    "\"heap_live_peak_bytes\": %" PRIu64 ", \"heap_limit_episodes\": %" PRIu64
	    ", \"heap_limit_pushbacks\": %" PRIu64 ", \"budget_waits\": %" PRIu64 "}",
	    total, delivered, dr_failed, retries, f.s[RF_STAT_heap_live_peak_bytes],
	    f.s[RF_STAT_heap_limit_episodes], f.s[RF_STAT_heap_limit_pushbacks],
	    f.s[RF_STAT_budget_waits]);
	CHECK(delivered == total && dr_failed == 0, "produce: %ld of %ld delivered", delivered,
	      total);
	rd_kafka_topic_destroy(rkt);
	rd_kafka_destroy(rk);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{"threads", required_argument, NULL, 't'},
		{"count", required_argument, NULL, 'c'},
		{"size", required_argument, NULL, 's'},
		{"ms", required_argument, NULL, 'm'},
		{"bootstrap", required_argument, NULL, 'b'},
		{"payload", required_argument, NULL, 'p'},
		{NULL, 0, NULL, 0},
	};
	const char *mode = argc > 1 ? argv[1] : "";
	int c;

	optind = 2;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 't':
			opt.threads = strtol(optarg, NULL, 10);
			break;
		case 'c':
			opt.count = strtol(optarg, NULL, 10);
			break;
		case 's':
			opt.size = strtol(optarg, NULL, 10);
			break;
		case 'm':
			opt.ms = strtol(optarg, NULL, 10);
			break;
		case 'b':
			opt.bootstrap = optarg;
			break;
		case 'p':
			opt.payload = strtol(optarg, NULL, 10);
			break;
		default:
			return 2;
		}
	}
	if (strcmp(mode, "counts") == 0)
		return run_counts();
	if (strcmp(mode, "calls") == 0)
		return run_calls();
	if (strcmp(mode, "fork") == 0)
		return run_fork();
	if (strcmp(mode, "signal") == 0)
		return run_signal();
	if (strcmp(mode, "churn") == 0)
		return run_churn();
	if (strcmp(mode, "produce") == 0)
		return run_produce();
	if (strcmp(mode, "leak") == 0)
		return run_leak();
	if (strcmp(mode, "cache") == 0)
		return run_cache();
	fprintf(stderr, "usage: %s counts|calls|fork|signal|churn|leak|produce|cache [options]\n",
		argv[0]);
	return 2;
}
