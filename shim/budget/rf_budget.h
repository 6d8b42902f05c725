/*
 * rf_budget.h - one process-wide byte budget on buffered produced messages.
 *
 * Every message a produce call hands to librdkafka is charged to the budget
 * before the real call and credited back when librdkafka is done with it:
 *
 *   copied messages (the application passed F_COPY or F_FREE): the payload
 *     is copied into the arena (rf_arena.h) and given to librdkafka with
 *     F_FREE; the charge is the record plus the message's other costs, and is
 *     credited when librdkafka frees the payload through free();
 *   uncopied messages (no ownership flag: the application keeps its buffer
 *     and may recognise it in the delivery report; and every message under
 *     the observe policy): the charge is credited when librdkafka
 *     acknowledges the message (the on_acknowledgement interceptor).
 *
 * A message's other costs: its key, its headers, and RF_BUDGET_MSG_OVERHEAD
 * for librdkafka's own per-message structure.
 *
 * When a charge does not fit, the policy decides (enum rf_policy): block
 * waits first come first served up to the block timeout, fail refuses at
 * once, drop-oldest purges the queue of the handle holding most, observe
 * lets everything through and counts what it would have done. Refusals use
 * librdkafka's own signal for a full queue (RD_KAFKA_RESP_ERR__QUEUE_FULL).
 *
 * Waiting never deadlocks: a waiter whose space is held by delivery reports
 * that only waiting threads (itself included) would serve is refused at once,
 * which tells the application to poll, as a full librdkafka queue does. A
 * caller that asked to block (RD_KAFKA_MSG_F_BLOCK) waits as long as polls
 * keep coming, from whichever thread, and is refused once ready reports
 * stay unserved.
 *
 * Knows nothing of preloading: the interposers call it, and the unit tests.
 */
#ifndef RF_BUDGET_H
#define RF_BUDGET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "rf_arena.h"
#include "rf_kafka_handle.h"
#include "rf_segment.h"
#include "rf_shm.h"

/*
 * librdkafka's own cost of a queued message beyond payload and key: its
 * rd_kafka_msg_t, allocator overhead and queue bookkeeping. Measured with
 * 2.0.2: 100,000 queued 16-byte messages grew resident memory by 409 B each,
 * of which 35 B were the arena record and key (docs/budget.md).
 */
#define RF_BUDGET_MSG_OVERHEAD 384
/* Each header is its own allocation: struct, name and value, allocator overhead. */
#define RF_BUDGET_HEADER_OVERHEAD 64

/* Purges the queued messages of a handle (drop-oldest); 0 or a negative errno. */
typedef int (*rf_budget_purge_fn)(void *rk);

/*
 * Configure from the effective configuration. Nothing is mapped until the
 * first charge. passive: count only, never charge. May be called again
 * (tests); not while messages are charged.
 */
void rf_budget_setup(const struct rf_shm_config *config, int passive, rf_budget_purge_fn purge);

/* What the produce path asks of the budget at every call, set by rf_budget_setup. */
enum {
	RF_BUDGET_ON = 1,     /* produce calls are charged (not passive) */
	RF_BUDGET_COPIES = 2, /* copied messages are copied (not observe, arena allowed) */
	RF_BUDGET_FAST = 4,   /* admission may take the lock-free path (not observe) */
};
extern uint32_t rf_budget_mode __attribute__((visibility("hidden"))); /* atomic */

/* Whether produce calls are charged (not passive). */
static inline int rf_budget_enabled(void)
{
	return (__atomic_load_n(&rf_budget_mode, __ATOMIC_RELAXED) & RF_BUDGET_ON) != 0;
}

/* Whether copied messages are copied (not passive, not observe). */
static inline int rf_budget_copies(void)
{
	return (__atomic_load_n(&rf_budget_mode, __ATOMIC_RELAXED) & RF_BUDGET_COPIES) != 0;
}

/* ---- Handles ---------------------------------------------------------------- */

/*
 * Producer handles and topics are registered in rf_kafka_handle.h; the
 * budget reads their figures. A handle was destroyed (or failed to be
 * created): forget it, and wake the waiters its reports may have held back.
 */
void rf_budget_handle_close(int slot);

/* ---- Messages ----------------------------------------------------------------- */

/*
 * An arena payload's record goes through these states (its header's state
 * word), so that a payload librdkafka frees while the real produce call has
 * not yet returned (fast delivery on a broker thread, or 2.0.2's batch
 * quirk) is credited exactly once, by whoever comes second:
 *   IN_CALL --free()--> FREED_IN_CALL --settle--> released
 *   IN_CALL --settle(accepted)--> LIVE --free()--> released
 *   IN_CALL --settle(refused)--> released
 */
enum rf_budget_record_state {
	RF_REC_IN_CALL = 1,
	RF_REC_LIVE = 2,
	RF_REC_FREED_IN_CALL = 3,
};

struct rf_budget_msg {
	int slot;     /* handle */
	size_t len;   /* payload bytes */
	size_t extra; /* key, headers, overhead: rf_budget_msg_extra() */
	int copy;     /* 1: copy into the arena; 0: charge only */
	int block;    /* the caller asked to block (RD_KAFKA_MSG_F_BLOCK) */
	/* Filled by rf_budget_admit: */
	void *payload; /* where the payload is copied, in the arena */
	size_t charge; /* what was charged */
	int waited;    /* 1 when the call had to wait */
};

/* What a message costs beyond its payload. */
static inline size_t rf_budget_msg_extra(size_t keylen, size_t header_count, size_t header_bytes)
{
	return RF_BUDGET_MSG_OVERHEAD + keylen + header_count * RF_BUDGET_HEADER_OVERHEAD +
	       header_bytes;
}

/*
 * Charge m to the budget under the policy; on 0 and m->copy, m->payload holds
 * len bytes to copy the payload into. -EMSGSIZE: larger than the whole
 * budget (never fits); -ENOBUFS: refused (full, timed out, or waiting could
 * not succeed). Under observe, always 0.
 * The caller then makes the real call and settles.
 */
int rf_budget_admit(struct rf_budget_msg *m);

/*
 * After the real call: accepted says whether librdkafka took the message.
 * Returns 1 when librdkafka already freed the copied payload during the
 * call (2.0.2's produce_batch frees a message whose partitioner failed with
 * F_FREE still set), so the caller can mirror that for the application's
 * own buffer; otherwise 0.
 */
int rf_budget_settle(struct rf_budget_msg *m, int accepted);

/*
 * rf_budget_settle's common case, inline: a copied message librdkafka took
 * and did not free during the call becomes live. 1 when so settled; 0:
 * call rf_budget_settle.
 */
static inline int rf_budget_settle_live(struct rf_budget_msg *m)
{
	uint32_t expected = RF_REC_IN_CALL;

	return m->payload != NULL &&
	       __atomic_compare_exchange_n(&rf_arena_record_of(m->payload)->state, &expected,
					   RF_REC_LIVE, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/*
 * Where the arena lies, for rf_budget_owns: base is published (release) after
 * size, and stays 0 until the first copied message maps the arena.
 */
struct rf_budget_bounds {
	uintptr_t base;
	size_t size;
};
extern struct rf_budget_bounds rf_budget_bounds;

/* Whether p is a payload the arena handed out: one load and one compare, inline on every free(). */
static inline int rf_budget_owns(const void *p)
{
	uintptr_t base = __atomic_load_n(&rf_budget_bounds.base, __ATOMIC_ACQUIRE);

	return base != 0 && (uintptr_t)p - base < rf_budget_bounds.size;
}

/* librdkafka freed an arena payload (the free() interposer). */
void rf_budget_free(void *p);

/* Payload bytes of an arena payload (malloc_usable_size on it). */
size_t rf_budget_payload_size(const void *p);

/*
 * librdkafka acknowledged a message of handle slot (on_acknowledgement),
 * delivered or failed: the same to the budget. For an arena payload the
 * bytes become acknowledged-but-unfreed; an uncopied message is credited
 * now, charge recomputed from len and extra exactly as at admission.
 * purged: 1 when purged from a queue, 2 when also possibly sent before
 * (POSSIBLY_PERSISTED). in_call: the ack came on the producing thread during
 * the real produce call (a refused message being unrolled): settle will
 * credit it instead.
 */
void rf_budget_ack(int slot, const void *payload, size_t len, size_t extra, int purged,
		   int in_call);

/*
 * rf_budget_ack for an arena payload (rf_budget_owns) that was not purged:
 * inline, once per delivered copied message. Its charge, carried in its
 * record, becomes acknowledged-but-unfreed until librdkafka frees it.
 */
static inline void rf_budget_ack_copied(int slot, const void *payload, int in_call)
{
	const struct rf_arena_record *rec = rf_arena_record_of((void *)payload);

	/* Counted only outside the call, as only such frees leave the figure. */
	if (!in_call)
		__atomic_fetch_add(&rf_kafka_handle_at(slot)->acked_in,
				   rf_arena_record_size(rec->len) + (size_t)(rec->tag >> 16),
				   __ATOMIC_RELEASE);
}

/* ---- Figures ------------------------------------------------------------------ */

/*
 * Within a publication: the budget's gauges and the handle table. After the
 * heap's publisher: the heap's growth while threads wait is measured from
 * the publication's heap_live_bytes.
 */
void rf_budget_publish(struct rf_publication *pub);

/* After fork: the child has no librdkafka threads and no waiters. */
void rf_budget_fork_child(void);

/* ---- Heap pressure (rf_heap.c, docs/heap.md) ------------------------------------ */

/*
 * Live heap rose above RINGFENCE_HEAP_LIMIT (on) or fell below its low-water
 * mark (off). While on, admission finds the budget spent and the policy
 * applies (block waits, fail refuses, drop-oldest purges, observe counts);
 * a waiter whose handle's reports only waiters would serve is refused at
 * once. may_wake 0: a store only (the allocation path, perhaps a signal
 * handler); 1: the publisher, which also wakes waiters when it turns off.
 */
void rf_budget_heap_pressure(int on, int may_wake);

/*
 * Another allocator's free() comes before the shim's: arena payloads would
 * reach it, so nothing is copied into the arena (charged uncopied instead).
 */
void rf_budget_arena_forbid(void);

#endif /* RF_BUDGET_H */
