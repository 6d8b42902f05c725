/*
 * rf_stats.c - per-thread counters, summed when published.
 *
 * Ordering: a block is linked into the list (release) before its thread
 * writes it; readers walk the list with acquire loads and read counters with
 * relaxed loads, so a sum may miss the very latest adds of a running thread
 * but never sees a torn or foreign value. Blocks are never unlinked.
 */
#include "rf_stats.h"

#include <pthread.h>
#include <stddef.h>
#include <sys/mman.h>

struct rf_stats_block {
	uint64_t v[RF_STAT__COUNT];
	struct rf_stats_block *next; /* every block ever made */
	int free;                    /* its thread ended: the next new thread takes it */
};

static struct rf_stats_block *rf_stats_blocks; /* atomic head */
static pthread_mutex_t rf_stats_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t rf_stats_key;
static pthread_once_t rf_stats_once = PTHREAD_ONCE_INIT;
static uint64_t rf_stats_orphans[RF_STAT__COUNT]; /* atomic: adds from threads without a block */

static __thread struct rf_stats_block *rf_tls_block __attribute__((tls_model("initial-exec")));
static __thread int rf_tls_registering __attribute__((tls_model("initial-exec")));

static void rf_stats_thread_end(void *block)
{
	__atomic_store_n(&((struct rf_stats_block *)block)->free, 1, __ATOMIC_RELEASE);
}

static void rf_stats_key_init(void)
{
	pthread_key_create(&rf_stats_key, rf_stats_thread_end);
}

/* A block for this thread: a freed one, or a new one from a fresh page. */
static struct rf_stats_block *rf_stats_register(void)
{
	static struct rf_stats_block *page_next, *page_end;
	struct rf_stats_block *b = NULL;

	pthread_once(&rf_stats_once, rf_stats_key_init);
	pthread_mutex_lock(&rf_stats_lock);
	for (struct rf_stats_block *it = rf_stats_blocks; it != NULL; it = it->next)
		if (__atomic_load_n(&it->free, __ATOMIC_ACQUIRE)) {
			it->free = 0;
			b = it;
			break;
		}
	if (b == NULL) {
		if (page_next == NULL || page_next + 1 > page_end) {
			size_t len = 64 * 1024;
			void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				       -1, 0);
			if (p == MAP_FAILED) {
				pthread_mutex_unlock(&rf_stats_lock);
				return NULL;
			}
			page_next = p;
			page_end = (struct rf_stats_block *)((char *)p + len);
		}
		b = page_next++;
		b->next = rf_stats_blocks;
		__atomic_store_n(&rf_stats_blocks, b, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&rf_stats_lock);
	/* Low keys need no allocation in glibc: safe from inside malloc. */
	pthread_setspecific(rf_stats_key, b);
	return b;
}

void rf_stats_add(enum rf_stat stat, uint64_t n)
{
	struct rf_stats_block *b = rf_tls_block;

	if ((unsigned)stat >= RF_STAT__COUNT)
		return;
	if (b == NULL) {
		/* Registration may itself count (or allocate): such adds go to the orphans. */
		if (!rf_tls_registering) {
			rf_tls_registering = 1;
			b = rf_tls_block = rf_stats_register();
			rf_tls_registering = 0;
		}
		if (b == NULL) {
			__atomic_fetch_add(&rf_stats_orphans[stat], n, __ATOMIC_RELAXED);
			return;
		}
	}
	__atomic_store_n(&b->v[stat], b->v[stat] + n, __ATOMIC_RELAXED);
}

void rf_stats_snapshot(uint64_t *out)
{
	for (unsigned i = 0; i < RF_STAT__COUNT; i++)
		out[i] = __atomic_load_n(&rf_stats_orphans[i], __ATOMIC_RELAXED);
	for (struct rf_stats_block *b = __atomic_load_n(&rf_stats_blocks, __ATOMIC_ACQUIRE);
	     b != NULL; b = b->next)
		for (unsigned i = 0; i < RF_STAT__COUNT; i++)
			out[i] += __atomic_load_n(&b->v[i], __ATOMIC_RELAXED);
}

void rf_stats_reset(void)
{
	/* In a fork child: the only thread left is this one; the others' blocks are free. */
	pthread_mutex_init(&rf_stats_lock, NULL);
	for (struct rf_stats_block *b = rf_stats_blocks; b != NULL; b = b->next) {
		for (unsigned i = 0; i < RF_STAT__COUNT; i++)
			__atomic_store_n(&b->v[i], 0, __ATOMIC_RELAXED);
		b->free = b != rf_tls_block;
	}
	for (unsigned i = 0; i < RF_STAT__COUNT; i++)
		__atomic_store_n(&rf_stats_orphans[i], 0, __ATOMIC_RELAXED);
}
