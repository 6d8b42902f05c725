/*
 * rf_kafka_handle.h - the librdkafka producer handles of the process, and
 * the topic objects made from them: who created and who polls each handle,
 * what librdkafka copies of its messages, and its share of the budget.
 *
 * A handle lives in a slot from rd_kafka_new to rd_kafka_destroy (and is
 * listed, destroyed, until the slot is needed again); slot 0 stands for
 * messages whose handle is unknown (a topic made before the shim saw its
 * handle). The per-handle figures are written by the budget without a lock
 * (each counter on the cache line of the side that writes it); opening,
 * naming, closing and binding topics take the registry's own lock. Lookups
 * by handle or topic are lock-free and cached per thread, since applications
 * poll once per message.
 *
 * Knows nothing of preloading: the Kafka interposers call it, the budget
 * reads it, the unit tests drive it directly.
 */
#ifndef RF_KAFKA_HANDLE_H
#define RF_KAFKA_HANDLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "rf_shm.h"

#define RF_KAFKA_HANDLES RF_SHM_HANDLES_MAX
#define RF_KAFKA_SLOT_UNKNOWN 0

#define RF_KAFKA_CACHELINE 64
/* A power of two, so that the produce path finds a handle's entry with a shift. */
#define RF_KAFKA_HANDLE_SIZE 512

/* Bumped (atomic) when a handle opens, binds or closes, or a topic is bound: memos restart. */
extern uint32_t rf_kafka_generation __attribute__((visibility("hidden")));

/*
 * The threads that polled a handle lately, each with the time of its last
 * poll: a program may poll one handle from several threads (threads that
 * each produce and poll), or from whichever thread its runtime picks (Go
 * moves goroutines between threads). Kept in RF_KAFKA_POLLERS words, each a
 * thread id and the millisecond of its last poll packed into one 64-bit
 * word so that a reader never sees one without the other (RF_KAFKA_POLLER).
 * A hint, written without a lock: racing polls may lose an entry.
 */
#define RF_KAFKA_POLLERS 4
#define RF_KAFKA_POLLER(tid, ms) (((uint64_t)(uint32_t)(tid) << 32) | (uint32_t)(ms))
#define RF_KAFKA_POLLER_TID(word) ((pid_t)(uint32_t)((word) >> 32))
#define RF_KAFKA_POLLER_MS(word) ((uint32_t)(word))

/*
 * One producer handle. Budget charged to its messages and not yet released
 * is held in two parts, since they come back by different roads:
 * copied_in - copied_out for payloads copied into the arena, given back when
 * librdkafka frees them (after the delivery report is served, on the polling
 * thread when the handle has reports); uncopied_in - uncopied_out for the
 * rest, given back when librdkafka acknowledges them, on its own threads.
 * acked_in - acked_out: the copied part that librdkafka acknowledged and
 * whose payload waits for a poll to be freed. A copied payload released is
 * nearly always one acknowledged before, so acked_out is not counted apart:
 * it is copied_out less unacked_out, the payloads released without an
 * acknowledgement counted in acked_in (refused, or freed inside the call),
 * and a release costs one atomic add rather than two.
 */
struct rf_kafka_handle {
	void *rk;
	uint32_t state; /* enum rf_shm_handle_state */
	int needs_poll; /* delivery reports are served by rd_kafka_poll/flush */
	pid_t poller;   /* last thread to poll it; the creator until then */
	int64_t last_poll_ns;
	/* The last threads to poll it (the creator at time 0 until one does). */
	uint64_t pollers[RF_KAFKA_POLLERS];
	size_t copy_limit;                      /* fixed at creation: see rf_kafka_handle_copies */
	char name[RF_SHM_HANDLE_NAME_MAX];      /* under the registry's lock */
	char client_id[RF_SHM_HANDLE_NAME_MAX]; /* under the registry's lock */
	uint64_t copied_in __attribute__((aligned(RF_KAFKA_CACHELINE))); /* producers */
	uint64_t uncopied_in;
	uint64_t acked_in __attribute__((aligned(RF_KAFKA_CACHELINE))); /* acknowledgers */
	uint64_t dropped_msgs, dropped_bytes;
	uint64_t copied_out __attribute__((aligned(RF_KAFKA_CACHELINE))); /* releasers */
	uint64_t uncopied_out;
	uint64_t unacked_out; /* added after copied_out */
} __attribute__((aligned(RF_KAFKA_HANDLE_SIZE)));

_Static_assert(sizeof(struct rf_kafka_handle) == RF_KAFKA_HANDLE_SIZE,
	       "a handle fills RF_KAFKA_HANDLE_SIZE exactly");

/*
 * A producer handle is being created. needs_poll: its delivery reports are
 * served by rd_kafka_poll/flush (a delivery callback or DR events), so its
 * payloads are freed on the polling thread. creator_tid stands for the
 * poller until a poll is seen. Returns its slot (>= 1), or
 * RF_KAFKA_SLOT_UNKNOWN when every slot holds an open handle or a destroyed
 * one that still holds budget.
 */
int rf_kafka_handle_open(void *rk, int needs_poll, pid_t creator_tid);

/* The handle rd_kafka_new returned for slot. */
void rf_kafka_handle_bind(int slot, void *rk);

/*
 * What librdkafka copies of a handle's messages while they are in flight,
 * fixed before its first message (an uncopied message's charge is
 * recomputed at acknowledgement and must not change meanwhile): copy_limit,
 * the handle's message.copy.max.bytes when the application chose one (a
 * payload up to it is copied into the request buffer); 0 when the shim set
 * it to 0 and nothing is copied.
 */
void rf_kafka_handle_copies(int slot, size_t copy_limit);

/* Names for the figures, once rd_kafka_new returned. */
void rf_kafka_handle_name(int slot, const char *name, const char *client_id);

/* The handle was destroyed (or its creation failed). Its topics are forgotten. */
void rf_kafka_handle_close(int slot);

/* The slot of an open handle rk, or RF_KAFKA_SLOT_UNKNOWN. */
int rf_kafka_handle_slot(const void *rk);

/* The open handle of slot, or NULL. */
void *rf_kafka_handle_rk(int slot);

/* Whether slot names a handle's slot (open or not): 1 to RF_KAFKA_HANDLES - 1. */
static inline int rf_kafka_slot_valid(int slot)
{
	return slot > 0 && slot < RF_KAFKA_HANDLES;
}

/* The table itself, for the inline lookups below; rf_kafka_handle.c owns it. */
extern struct rf_kafka_handle rf_kafka_handles[RF_KAFKA_HANDLES]
	__attribute__((visibility("hidden")));

/* The entry of slot; slot 0's (the unknown handle's) for an invalid slot. */
static inline struct rf_kafka_handle *rf_kafka_handle_at(int slot)
{
	return &rf_kafka_handles[rf_kafka_slot_valid(slot) ? slot : 0];
}

/* What a message of len bytes costs in librdkafka's copies for slot's handle. */
static inline size_t rf_kafka_handle_extra(int slot, size_t len)
{
	size_t limit = rf_kafka_handle_at(slot)->copy_limit; /* slot 0's is 0 */

	return len < limit ? len : limit;
}

/* tid polled (or flushed) slot's handle at now_ns (CLOCK_MONOTONIC_COARSE). */
void rf_kafka_handle_polled(int slot, pid_t tid, int64_t now_ns);

/*
 * Polls, cheaply. Many programs poll once per message, and what the budget
 * needs of a poll is only who polled a handle lately and when: the deadlock
 * judge of a waiting producer reads it, and the publisher. So a thread
 * records a poll (rf_kafka_poll_record: the clock, the handle's poller
 * words) only when rf_kafka_poll_tick moved since it last recorded a poll of
 * the same handle; the publisher moves the tick at each publication, a
 * waiter at each of its wait slices, and the registry whenever a handle or
 * topic changes (a handle may come at a destroyed one's address). Any other
 * poll costs a few loads and compares on this thread's own memo and on one
 * word written rarely (rf_kafka_poll_recorded): no clock, no shared write. The
 * records are as fresh as the tick: within a publish interval, within a wait
 * slice while someone waits.
 */
struct rf_kafka_poll_memo {
	const void *rk; /* the handle this thread last recorded a poll of */
	uint32_t tick;  /* rf_kafka_poll_tick then */
};

extern uint32_t rf_kafka_poll_tick; /* atomic */
extern __thread struct rf_kafka_poll_memo rf_kafka_poll_memo
	__attribute__((tls_model("initial-exec"), visibility("hidden")));

/* Whether this thread's poll of rk needs no record: recorded since the tick last moved. */
static inline int rf_kafka_poll_recorded(const void *rk)
{
	const struct rf_kafka_poll_memo *memo = &rf_kafka_poll_memo;

	return rk == memo->rk &&
	       memo->tick == __atomic_load_n(&rf_kafka_poll_tick, __ATOMIC_RELAXED);
}

/* Record tid's poll of rk at now_ns (CLOCK_MONOTONIC_COARSE), and remember it in the memo. */
void rf_kafka_poll_record(const void *rk, pid_t tid, int64_t now_ns);

/* Records of polls are wanted fresh: the next poll of every thread records itself. */
static inline void rf_kafka_poll_tick_advance(void)
{
	__atomic_add_fetch(&rf_kafka_poll_tick, 1, __ATOMIC_RELAXED);
}

/*
 * The threads that polled h within window_ns of its last poll (the last
 * poller among them), up to RF_KAFKA_POLLERS into tids; returns how many.
 * A handle never polled gives its creator.
 */
int rf_kafka_handle_pollers(const struct rf_kafka_handle *h, int64_t window_ns, pid_t *tids);

/*
 * Budget held by h's messages now; the part of it in copied payloads (freed
 * by librdkafka); the acknowledged part of that.
 */
uint64_t rf_kafka_handle_held(const struct rf_kafka_handle *h);
uint64_t rf_kafka_handle_copied(const struct rf_kafka_handle *h);
uint64_t rf_kafka_handle_acked(const struct rf_kafka_handle *h);

/* Whether h is an open handle whose delivery reports wait for a poll. */
int rf_kafka_handle_needs_poll(const struct rf_kafka_handle *h);

/* Remember which handle a topic object belongs to (rd_kafka_produce has only the topic). */
void rf_kafka_topic_bind(const void *rkt, int slot);

/* A thread's last topic lookup: good while no handle or topic changed since. */
struct rf_kafka_topic_memo {
	const void *rkt;
	uint32_t generation;
	int slot;
};
extern __thread struct rf_kafka_topic_memo rf_kafka_topic_memo
	__attribute__((tls_model("initial-exec"), visibility("hidden")));

/* The lookup behind rf_kafka_topic_slot, which also fills the memo. */
int rf_kafka_topic_lookup(const void *rkt);

/*
 * The slot of the handle a topic object belongs to, or RF_KAFKA_SLOT_UNKNOWN:
 * inline from this thread's memo, as rd_kafka_produce asks once per message.
 */
static inline int rf_kafka_topic_slot(const void *rkt)
{
	const struct rf_kafka_topic_memo *memo = &rf_kafka_topic_memo;

	if (__builtin_expect(rkt == memo->rkt && rkt != NULL &&
				     memo->generation == __atomic_load_n(&rf_kafka_generation,
									 __ATOMIC_ACQUIRE),
			     1))
		return memo->slot;
	return rf_kafka_topic_lookup(rkt);
}

/* How many handles are listed: open, or destroyed and not yet reused. */
uint32_t rf_kafka_handle_listed(void);

/*
 * Copy up to max listed handles into out (in slot order) and return how
 * many; *acked gets the acknowledged-but-unfreed budget of every slot, the
 * unknown handle's included.
 */
uint32_t rf_kafka_handle_publish(struct rf_shm_handle *out, uint32_t max, uint64_t *acked);

/* After fork: the child's registry lock is free (its other threads are gone). */
void rf_kafka_handle_fork_child(void);

#endif /* RF_KAFKA_HANDLE_H */
