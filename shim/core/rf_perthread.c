/*
 * rf_perthread.c - blocks of per-thread state that outlive their thread.
 */
#include "rf_perthread.h"

#include <stdint.h>
#include <sys/mman.h>

#define RF_PERTHREAD_PAGE (64 * 1024)

static void rf_perthread_thread_end(void *arg)
{
	struct rf_perthread_hdr *b = arg;

	if (b->registry->end != NULL)
		b->registry->end(b);
	__atomic_store_n(&b->free, 1, __ATOMIC_RELEASE);
}

void *rf_perthread_take(struct rf_perthread *registry)
{
	struct rf_perthread_hdr *b = NULL;
	size_t size = (registry->size + 63) & ~(size_t)63; /* blocks on their own cache lines */

	pthread_mutex_lock(&registry->lock);
	if (!registry->key_ready)
		registry->key_ready =
			pthread_key_create(&registry->key, rf_perthread_thread_end) == 0;
	for (struct rf_perthread_hdr *it = registry->head; it != NULL && b == NULL; it = it->next)
		if (__atomic_load_n(&it->free, __ATOMIC_ACQUIRE)) {
			it->free = 0;
			b = it;
		}
	if (b == NULL) {
		if (registry->page_next == NULL || registry->page_next + size > registry->page_end) {
			void *p = mmap(NULL, RF_PERTHREAD_PAGE, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p != MAP_FAILED) {
				registry->page_next = p;
				registry->page_end = (unsigned char *)p + RF_PERTHREAD_PAGE;
			}
		}
		if (registry->page_next != NULL && registry->page_next + size <= registry->page_end) {
			b = (struct rf_perthread_hdr *)registry->page_next;
			registry->page_next += size;
			b->registry = registry;
			b->next = registry->head;
			__atomic_store_n(&registry->head, b, __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&registry->lock);
	/* Low keys need no allocation in glibc: safe from inside malloc. */
	if (b != NULL && registry->key_ready)
		pthread_setspecific(registry->key, b);
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

void rf_perthread_fork_child(struct rf_perthread *registry, void *self)
{
	pthread_mutex_init(&registry->lock, NULL);
	for (struct rf_perthread_hdr *b = registry->head; b != NULL; b = b->next)
		b->free = b != self;
}
