/*
 * rf_perthread.h - blocks of per-thread state that outlive their thread.
 *
 * A registry hands each thread a block of its own the first time it asks,
 * from mmap'd pages (never malloc: the shim interposes it). When the thread
 * ends, the registry's end function runs on the block, on that thread (a
 * pthread key destructor), and the block is then marked free unless the
 * end function says otherwise; the next new thread takes it over as it is,
 * so what it holds (counters that must never drop) carries on. Blocks are
 * never unmapped nor unlinked, so any thread may walk them at any time.
 * Their number is that of the most threads ever alive at once.
 *
 * Lock-free throughout (compare-and-swap on the list, the free marks and
 * the page being carved), so that a block can be taken from inside the
 * allocator interposers, a signal handler included: the heap's counters
 * come from here as well as the produce path's.
 *
 * A block type starts with struct rf_perthread_hdr.
 */
#ifndef RF_PERTHREAD_H
#define RF_PERTHREAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rf_perthread;

struct rf_perthread_hdr {
	struct rf_perthread_hdr *next; /* every block of the registry */
	struct rf_perthread *registry;
	uint32_t free; /* atomic: its thread ended, the next may take it */
	uint32_t ends; /* the registry's end runs at its thread's end (the key could be had) */
};

struct rf_perthread_page;

struct rf_perthread {
	size_t size; /* of a block, header included */
	/*
	 * At the end of the block's thread, on that thread, before the block is
	 * freed; may be NULL. Returns whether the block may go to another thread
	 * (false: it stays taken for good).
	 */
	bool (*end)(void *block);
	int key_state; /* atomic: 0 none, 1 being created, 2 ready, -1 failed */
	pthread_key_t key;
	struct rf_perthread_hdr *head;  /* atomic */
	struct rf_perthread_page *page; /* atomic: the page blocks are carved from */
};

#define RF_PERTHREAD_INIT(type, end_fn)                                                            \
	{                                                                                          \
		.size = sizeof(type), .end = (end_fn)                                              \
	}

/*
 * A block for the calling thread: one freed by a thread that ended, else a
 * new zeroed one. The caller keeps it in thread-local storage. NULL when no
 * memory can be mapped. Lock-free and async-signal-safe. The registry's end
 * runs and the block is freed at the thread's end only when the registry's
 * pthread key could be had (it is created once, without waiting: a thread
 * that races its creation keeps its block for good): hdr.ends says so.
 */
void *rf_perthread_take(struct rf_perthread *registry);

/* The first block and the next one, for walking every block (lock-free). */
void *rf_perthread_first(struct rf_perthread *registry);
void *rf_perthread_next(void *block);

/* Mark a block free for the next new thread (fork handlers). */
void rf_perthread_give_back(void *block);

/* In a fork child: every block but self is free now (its thread is gone). */
void rf_perthread_fork_child(struct rf_perthread *registry, void *self);

#endif /* RF_PERTHREAD_H */
