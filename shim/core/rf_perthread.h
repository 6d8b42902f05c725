/*
 * rf_perthread.h - blocks of per-thread state that outlive their thread.
 *
 * A registry hands each thread a block of its own the first time it asks,
 * from mmap'd pages (never malloc: the shim interposes it). When the thread
 * ends, the registry's end function runs on the block (a pthread key
 * destructor) and the block is marked free; the next new thread takes it
 * over as it is, so what it holds (counters that must never drop) carries
 * on. Blocks are never unmapped nor unlinked, so any thread may walk them at
 * any time without a lock. Their number is that of the most threads ever
 * alive at once.
 *
 * A block type starts with struct rf_perthread_hdr.
 */
#ifndef RF_PERTHREAD_H
#define RF_PERTHREAD_H

#include <pthread.h>
#include <stddef.h>

struct rf_perthread;

struct rf_perthread_hdr {
	struct rf_perthread_hdr *next; /* every block of the registry */
	struct rf_perthread *registry;
	int free;                      /* atomic: its thread ended */
};

struct rf_perthread {
	size_t size;                          /* of a block, header included */
	void (*end)(struct rf_perthread_hdr *); /* at thread end, before the block is freed; may be NULL */
	pthread_mutex_t lock;
	pthread_key_t key;      /* created under the lock at the first take */
	int key_ready;
	struct rf_perthread_hdr *head; /* atomic */
	unsigned char *page_next, *page_end;
};

#define RF_PERTHREAD_INIT(type, end_fn)                                                 \
	{                                                                               \
		.size = sizeof(type), .end = (end_fn), .lock = PTHREAD_MUTEX_INITIALIZER \
	}

/*
 * A block for the calling thread: one freed by a thread that ended, else a
 * new zeroed one. The caller keeps it in thread-local storage. NULL when no
 * memory can be mapped. Takes the registry's lock: never call it from a
 * signal handler or with the lock held.
 */
void *rf_perthread_take(struct rf_perthread *registry);

/* The first block and the next one, for walking every block (lock-free). */
void *rf_perthread_first(struct rf_perthread *registry);
void *rf_perthread_next(void *block);

/* In a fork child: every block but self is free now (its thread is gone). */
void rf_perthread_fork_child(struct rf_perthread *registry, void *self);

#endif /* RF_PERTHREAD_H */
