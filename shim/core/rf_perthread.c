/*
 * rf_perthread.c - blocks of per-thread state that outlive their thread.
 */
#include "rf_perthread.h"

#include <errno.h>
#include <sys/mman.h>

#define RF_PERTHREAD_PAGE ((size_t)64 * 1024)
#define RF_PERTHREAD_ALIGN 64 /* blocks on cache lines of their own */

/* A mapping blocks are carved from; used grows past the end when it is spent. */
struct rf_perthread_page {
	uint64_t used; /* atomic: bytes handed out, from data */
	size_t capacity;
	unsigned char data[] __attribute__((aligned(RF_PERTHREAD_ALIGN)));
};

static void rf_perthread_thread_end(void *arg)
{
	struct rf_perthread_hdr *b = arg;

	if (b->registry->end == NULL || b->registry->end(b))
		__atomic_store_n(&b->free, 1, __ATOMIC_RELEASE);
}

/* The registry's key, created once without waiting: 1 when it can be used. */
static int rf_perthread_key_ready(struct rf_perthread *r)
{
	int state = __atomic_load_n(&r->key_state, __ATOMIC_ACQUIRE), expected = 0;

	if (state != 0)
		return state == 2;
	if (!__atomic_compare_exchange_n(&r->key_state, &expected, 1, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return 0;
	state = pthread_key_create(&r->key, rf_perthread_thread_end) == 0 ? 2 : -1;
	__atomic_store_n(&r->key_state, state, __ATOMIC_RELEASE);
	return state == 2;
}

/* A block freed by a thread that ended, claimed; NULL when there is none. */
static struct rf_perthread_hdr *rf_perthread_reuse(struct rf_perthread *r)
{
	for (struct rf_perthread_hdr *b = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE); b != NULL;
	     b = b->next) {
		uint32_t expected = 1;

		if (__atomic_load_n(&b->free, __ATOMIC_RELAXED) == 1 &&
		    __atomic_compare_exchange_n(&b->free, &expected, 0, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED))
			return b;
	}
	return NULL;
}

/* size zeroed bytes from the registry's page, or a new page; NULL when mmap fails. */
static void *rf_perthread_carve(struct rf_perthread *r, size_t size)
{
	size_t len = sizeof(struct rf_perthread_page) + size;

	if (len < RF_PERTHREAD_PAGE)
		len = RF_PERTHREAD_PAGE;
	for (;;) {
		struct rf_perthread_page *page = __atomic_load_n(&r->page, __ATOMIC_ACQUIRE),
					 *fresh;
		int saved = errno;

		if (page != NULL) {
			uint64_t at = __atomic_fetch_add(&page->used, size, __ATOMIC_RELAXED);

			if (at + size <= page->capacity)
				return page->data + at;
		}
		/* Spent (its tail is lost: a block's worth at most): a new page. */
		fresh = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		errno = saved;
		if (fresh == MAP_FAILED)
			return NULL;
		fresh->capacity = len - sizeof(*fresh);
		if (!__atomic_compare_exchange_n(&r->page, &page, fresh, 0, __ATOMIC_ACQ_REL,
						 __ATOMIC_ACQUIRE))
			munmap(fresh, len); /* another thread put one first: carve from it */
	}
}

void *rf_perthread_take(struct rf_perthread *r)
{
	size_t size = (r->size + RF_PERTHREAD_ALIGN - 1) & ~(size_t)(RF_PERTHREAD_ALIGN - 1);
	struct rf_perthread_hdr *b = rf_perthread_reuse(r);

	if (b == NULL) {
		b = rf_perthread_carve(r, size);
		if (b == NULL)
			return NULL;
		b->registry = r;
		b->next = __atomic_load_n(&r->head, __ATOMIC_RELAXED);
		while (!__atomic_compare_exchange_n(&r->head, &b->next, b, 1, __ATOMIC_RELEASE,
						    __ATOMIC_RELAXED))
			;
	}
	/* Low keys need no allocation in glibc: safe from inside malloc. */
	b->ends = rf_perthread_key_ready(r) && pthread_setspecific(r->key, b) == 0;
	return b;
}

void *rf_perthread_first(struct rf_perthread *registry)
{
	return __atomic_load_n(&registry->head, __ATOMIC_ACQUIRE);
}

void *rf_perthread_next(void *block)
{
	return ((struct rf_perthread_hdr *)block)->next;
}

void rf_perthread_give_back(void *block)
{
	__atomic_store_n(&((struct rf_perthread_hdr *)block)->free, 1, __ATOMIC_RELEASE);
}

void rf_perthread_fork_child(struct rf_perthread *registry, void *self)
{
	for (struct rf_perthread_hdr *b = registry->head; b != NULL; b = b->next)
		b->free = b != self;
}
