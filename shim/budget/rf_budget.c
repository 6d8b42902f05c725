/*
 * rf_budget.c - one process-wide byte budget on buffered produced messages.
 *
 * The per-message paths take no lock, and each shared counter is written by
 * one side only, so no cache line travels between the producing thread and
 * the threads that release. Admission takes from a reserve in the thread's
 * own account, refilled from the charge a reserve at a time, and carves from
 * the thread's own arena chunk. Releases (free of an arena payload,
 * acknowledgement of an uncopied message) bank the credit in that account,
 * paid into the charge past a threshold, at once when someone waits, and on
 * demand when admission finds the budget spent, a handle closes or the
 * figures are published. The charge therefore never under-counts: budget is
 * given back late, never early. Per-handle counters (rf_kafka_handle.h) are
 * split the same way (charged in / released out); a copied payload's release
 * is owed to its handle's released-out count too, and banked with it (struct
 * rf_bank), so that threads releasing for one handle share no line.
 * The mutex guards what is rare: refilling a thread's chunk, returning
 * drained chunks to the pool, and the queue of waiters (threads that found
 * the budget spent). The queue is first come first served: a waiter behind
 * the head takes only what leaves the head's need free. A release wakes the
 * waiters only when there are some, the head fits, and none has looked
 * since the last wake-up (rf_budget_wake_released): one wake-up for many
 * releases, not one each. The charge and the waiter count are read and
 * written sequentially consistent, so that a releaser either sees a new
 * waiter or the waiter sees the release (no lost wake-up; waits are also
 * sliced).
 * The mutex is never held across a call into librdkafka or the allocator:
 * the purge of drop-oldest, which makes librdkafka call our interceptor,
 * runs unlocked.
 *
 * An arena payload's record goes through the states of enum
 * rf_budget_record_state (rf_budget.h), so that it is credited exactly once.
 * librdkafka acknowledges every message (success or failure) before it
 * frees the payload (on_acknowledgement, rdkafka.h), so an arena payload freed
 * outside a produce call was acknowledged: its charge leaves the handle's
 * acknowledged-but-unfreed figure when it is freed, with no per-record flag.
 */
#define _GNU_SOURCE
#include "rf_budget.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "rf_perthread.h"
#include "rf_arena.h"
#include "rf_kafka_handle.h"
#include "rf_stats.h"
#include "rf_time.h"

#define RF_REC_STATE_MASK 0xfu /* of a record's state word (enum rf_budget_record_state) */

#define RF_WAIT_SLICE_NS ((int64_t)(50 * RF_MS))
#define RF_DROP_WAIT_NS ((int64_t)(100 * RF_MS)) /* drop-oldest never blocks longer */
/*
 * A poller that serves its handle's reports polls as soon as they are ready;
 * ready reports with no poll for this long mean it cannot run now (blocked
 * behind the waiter, as Python's polling thread is behind the interpreter
 * lock a waiting Producer.produce holds).
 */
#define RF_POLL_STALL_NS ((int64_t)(500 * RF_MS))
/*
 * The threads that polled a handle within this of its last poll are the ones
 * that serve it: one thread in most programs, several where each producing
 * thread polls, whichever thread the runtime picks in Go.
 */
#define RF_POLL_RECENT_NS RF_POLL_STALL_NS

/*
 * A thread's banked credit: budget it released and has not paid back yet,
 * and the reserve its admissions take from (rf_budget_reserve_take); both
 * count as charged until paid back, so the charge never under-counts.
 * Copied payloads' credit is owed to their handle's copied_out as well, so
 * it is banked with the handle's slot in one word (RF_BANK_*): whoever takes
 * the word takes the bytes and the handle they belong to at once. The bank
 * keeps one handle's at a time; the owner's release for another handle pays
 * it first. Only the owner adds to a bank (and takes from pending, for its
 * admissions); any thread may take all of it, to pay it in.
 */
struct rf_bank {
	struct rf_perthread_hdr hdr;
	uint64_t pending; /* atomic: uncopied credit and reserve */
	uint64_t copied;  /* atomic: RF_BANK_WORD(slot, bytes) */
};

#define RF_BANK_SLOT_SHIFT 48
#define RF_BANK_WORD(slot, bytes) (((uint64_t)(slot) << RF_BANK_SLOT_SHIFT) | (uint64_t)(bytes))
#define RF_BANK_SLOT(word) ((int)((word) >> RF_BANK_SLOT_SHIFT))
#define RF_BANK_BYTES(word) ((word) & ((UINT64_C(1) << RF_BANK_SLOT_SHIFT) - 1))
_Static_assert(RF_KAFKA_HANDLES <= 1 << (64 - RF_BANK_SLOT_SHIFT), "a slot fits a bank word");

static bool rf_bank_thread_end(void *bank);

/* Banks outlive their thread (paid back at its end) and go to the next one. */
static struct rf_perthread rf_banks = RF_PERTHREAD_INIT(struct rf_bank, rf_bank_thread_end);

/* A thread waiting for budget: queued first come first served. */
struct rf_waiter {
	struct rf_waiter *next, *prev;
	pid_t tid;
	size_t need;      /* its message's charge */
	int64_t since_ns; /* CLOCK_MONOTONIC: when it began to wait */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int cond_ready;
	pthread_key_t cursor_key;
	int cursor_key_ready;
	struct rf_shm_config config;
	int passive;
	rf_budget_purge_fn purge;

	struct rf_arena arena;
	int arena_failed;

	uint64_t charged;        /* atomic, seq_cst: charged now, plus credits still banked */
	uint64_t bank_threshold; /* a bank pays back once it holds this much */
	uint64_t bank_reserve;   /* what admission takes into its bank at once (rf_budget_admit) */
	uint64_t peak;           /* atomic */
	uint32_t waiting;        /* atomic, seq_cst: threads in the queue */
	uint64_t wake_room;      /* atomic: releases wake the queue once this much is free */
	uint32_t wake_sent;      /* atomic, seq_cst: woken, and no waiter has looked since */
	struct rf_waiter *head, *tail;
	/* The publisher's: live heap at its last publish with nobody waiting. */
	uint64_t heap_calm;
} rf_budget = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

struct rf_budget_bounds rf_budget_bounds;

static __thread struct rf_bank *rf_tls_bank __attribute__((tls_model("initial-exec")));

/* This thread's open arena chunk. */
static __thread struct rf_arena_cursor rf_tls_cursor __attribute__((tls_model("initial-exec"))) =
	RF_ARENA_CURSOR_INIT;

/* Heap pressure (rf_budget_heap_pressure): while set, admission finds the budget spent. */
static uint32_t rf_budget_heap_on;
/* Another allocator's free() comes before the shim's: nothing is copied into the arena. */
static int rf_budget_arena_forbidden;

/* Thread exit: its open chunk goes back to the pool once drained. */
static void rf_budget_cursor_end(void *cursor)
{
	pthread_mutex_lock(&rf_budget.lock);
	rf_arena_cursor_close(&rf_budget.arena, cursor);
	pthread_mutex_unlock(&rf_budget.lock);
}

/* A copied word taken from a bank: its bytes go to its handle; returns them. */
static uint64_t rf_bank_settle(uint64_t word)
{
	uint64_t bytes = RF_BANK_BYTES(word);

	if (bytes != 0)
		__atomic_fetch_add(&rf_kafka_handle_at(RF_BANK_SLOT(word))->copied_out, bytes,
				   __ATOMIC_RELEASE);
	return bytes;
}

/*
 * Pay a bank's credit into the charge, and its copied credit to its handle.
 * The copied word keeps its slot, with nothing in it, so that the owner's
 * next release for that handle banks without a detour.
 */
static void rf_bank_pay(struct rf_bank *bank)
{
	uint64_t credit = __atomic_exchange_n(&bank->pending, 0, __ATOMIC_SEQ_CST);
	uint64_t slot = RF_BANK_SLOT(__atomic_load_n(&bank->copied, __ATOMIC_RELAXED));

	credit += rf_bank_settle(
		__atomic_exchange_n(&bank->copied, RF_BANK_WORD(slot, 0), __ATOMIC_SEQ_CST));
	if (credit != 0)
		__atomic_fetch_sub(&rf_budget.charged, credit, __ATOMIC_SEQ_CST);
}

/* Pay every bank in: the charge becomes exact. Any thread, any time. */
static void rf_bank_pay_all(void)
{
	for (struct rf_bank *b = rf_perthread_first(&rf_banks); b != NULL; b = rf_perthread_next(b))
		rf_bank_pay(b);
}

/* Credit still banked (figures). */
static uint64_t rf_bank_total(void)
{
	uint64_t total = 0;

	for (struct rf_bank *b = rf_perthread_first(&rf_banks); b != NULL; b = rf_perthread_next(b))
		total += __atomic_load_n(&b->pending, __ATOMIC_RELAXED) +
			 RF_BANK_BYTES(__atomic_load_n(&b->copied, __ATOMIC_RELAXED));
	return total;
}

static bool rf_bank_thread_end(void *bank)
{
	rf_bank_pay(bank);
	return true;
}

/* This thread's bank; NULL when none can be had (the caller then pays at once). */
static struct rf_bank *rf_bank_get(void)
{
	if (rf_tls_bank == NULL)
		rf_tls_bank = rf_perthread_take(&rf_banks);
	return rf_tls_bank;
}

static void rf_budget_cond_init(void)
{
	pthread_condattr_t attr;

	/* Waits are measured on the monotonic clock: wall-clock jumps must not matter. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&rf_budget.cond, &attr);
	pthread_condattr_destroy(&attr);
	rf_budget.cond_ready = 1;
}

uint32_t rf_budget_mode;

/* Under the lock: the mode the produce path reads (rf_budget.h). */
static void rf_budget_mode_set(void)
{
	uint32_t mode = 0;

	if (!rf_budget.passive) {
		mode |= RF_BUDGET_ON;
		if (rf_budget.config.policy != RF_POLICY_OBSERVE) {
			mode |= RF_BUDGET_FAST;
			if (!__atomic_load_n(&rf_budget_arena_forbidden, __ATOMIC_RELAXED))
				mode |= RF_BUDGET_COPIES;
		}
	}
	__atomic_store_n(&rf_budget_mode, mode, __ATOMIC_RELAXED);
}

void rf_budget_setup(const struct rf_shm_config *config, int passive, rf_budget_purge_fn purge)
{
	pthread_mutex_lock(&rf_budget.lock);
	if (!rf_budget.cond_ready)
		rf_budget_cond_init();
	if (!rf_budget.cursor_key_ready)
		rf_budget.cursor_key_ready =
			pthread_key_create(&rf_budget.cursor_key, rf_budget_cursor_end) == 0;
	/* Banked credit is budget given back late: keep it a small share. */
	rf_budget.bank_threshold = config->budget / 256;
	if (rf_budget.bank_threshold > 256 * 1024)
		rf_budget.bank_threshold = 256 * 1024;
	rf_budget.bank_reserve = rf_budget.bank_threshold / 2;
	rf_budget.config = *config;
	rf_budget.passive = passive;
	rf_budget.purge = purge;
	rf_bank_pay_all(); /* what admission kept in reserve */
	if (rf_budget_bounds.base != 0 &&
	    __atomic_load_n(&rf_budget.charged, __ATOMIC_SEQ_CST) == 0) {
		/* Tests re-configure: start from a fresh arena of the new size. */
		__atomic_store_n(&rf_budget_bounds.base, 0, __ATOMIC_RELEASE);
		rf_arena_destroy(&rf_budget.arena);
		rf_tls_cursor = (struct rf_arena_cursor)RF_ARENA_CURSOR_INIT;
		rf_budget_bounds.size = 0;
		rf_budget.peak = 0;
	}
	rf_budget.arena_failed = 0;
	rf_budget_mode_set();
	pthread_mutex_unlock(&rf_budget.lock);
}

/* Map the arena at the first copied message. */
static int rf_budget_arena(void)
{
	int rc = 0;

	if (__atomic_load_n(&rf_budget_bounds.base, __ATOMIC_ACQUIRE) != 0)
		return 0;
	pthread_mutex_lock(&rf_budget.lock);
	if (rf_budget_bounds.base == 0) {
		if (rf_budget.arena_failed) {
			rc = -ENOMEM;
		} else if ((rc = rf_arena_init(&rf_budget.arena, rf_budget.config.budget)) < 0) {
			rf_budget.arena_failed = 1;
			rf_stats_add(RF_STAT_shim_errors, 1);
		} else {
			rf_budget_bounds.size = rf_budget.arena.size;
			/* rf_budget_owns reads base, then size: size must be visible first. */
			__atomic_store_n(&rf_budget_bounds.base, (uintptr_t)rf_budget.arena.base,
					 __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&rf_budget.lock);
	return rc;
}

/* ---- Charging ------------------------------------------------------------------ */

/* Charge a handle: in the part its release comes back by (rf_kafka_handle.h). */
static inline void rf_budget_handle_charge(int slot, size_t charge, int copied)
{
	struct rf_kafka_handle *h = rf_kafka_handle_at(slot);

	__atomic_fetch_add(copied ? &h->copied_in : &h->uncopied_in, charge, __ATOMIC_RELEASE);
}

static size_t rf_budget_charge_of(const struct rf_budget_msg *m)
{
	return (m->copy ? rf_arena_record_size(m->len) : m->len) + m->extra;
}

static void rf_budget_peak_note(uint64_t charged)
{
	uint64_t peak = __atomic_load_n(&rf_budget.peak, __ATOMIC_RELAXED);

	while (charged > peak && !__atomic_compare_exchange_n(&rf_budget.peak, &peak, charged, 1,
							      __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/* Wake the waiters, if there are any, after budget came back. */
static void rf_budget_wake(int locked)
{
	if (__atomic_load_n(&rf_budget.waiting, __ATOMIC_SEQ_CST) == 0)
		return;
	if (!locked)
		pthread_mutex_lock(&rf_budget.lock);
	pthread_cond_broadcast(&rf_budget.cond);
	if (!locked)
		pthread_mutex_unlock(&rf_budget.lock);
}

/*
 * Wake the waiters after a release, once the budget has room for the head of
 * the queue and a bank's worth more (rf_budget.wake_room), and only if no
 * waiter has looked at the budget since the last wake-up (wake_sent). Waking
 * them at every release would cost a broadcast and a scramble for the lock
 * per message: librdkafka acknowledges a produce response's messages one by
 * one on its broker thread, and an uncopied message is released at its
 * acknowledgement. A release that leaves too little room wakes nobody: a
 * later one will, or the head's next wait slice. No wake-up is lost: a
 * waiter clears wake_sent before it looks at the charge (rf_budget_wait_locked),
 * so a release that finds it set was paid before that look.
 */
static void rf_budget_wake_released(void)
{
	if (__atomic_load_n(&rf_budget.waiting, __ATOMIC_SEQ_CST) == 0 ||
	    __atomic_load_n(&rf_budget.charged, __ATOMIC_SEQ_CST) +
			    __atomic_load_n(&rf_budget.wake_room, __ATOMIC_RELAXED) >
		    rf_budget.config.budget ||
	    __atomic_exchange_n(&rf_budget.wake_sent, 1, __ATOMIC_SEQ_CST) != 0)
		return;
	rf_budget_wake(0);
}

/*
 * A credit's rare end, out of line: the thread has no bank yet (or none can
 * be had: the charge is paid at once), its bank is full, or someone waits
 * for budget; a copied payload's also when the bank holds another handle's
 * copied credit. banked: the charge is in the bank already. copied: a copied
 * payload acknowledged before, whose charge is owed to the handle's
 * copied_out too (any other credit's handle counts are added already).
 */
static __attribute__((noinline)) void rf_budget_credit_pay(int slot, size_t charge, int banked,
							   int copied)
{
	struct rf_bank *bank = rf_bank_get();

	rf_stats_add(RF_STAT_budget_released, 1);
	if (bank == NULL) {
		if (copied)
			rf_bank_settle(RF_BANK_WORD(slot, charge));
		__atomic_fetch_sub(&rf_budget.charged, charge, __ATOMIC_SEQ_CST);
	} else {
		if (!banked && copied) {
			/* The bank keeps this handle's from now on; the other's is paid. */
			uint64_t paid = rf_bank_settle(__atomic_exchange_n(
				&bank->copied, RF_BANK_WORD(slot, charge), __ATOMIC_SEQ_CST));

			if (paid != 0)
				__atomic_fetch_sub(&rf_budget.charged, paid, __ATOMIC_SEQ_CST);
		} else if (!banked) {
			__atomic_add_fetch(&bank->pending, charge, __ATOMIC_SEQ_CST);
		}
		if (banked || charge >= rf_budget.bank_threshold ||
		    __atomic_load_n(&rf_budget.waiting, __ATOMIC_SEQ_CST) != 0)
			rf_bank_pay(bank);
	}
	rf_budget_wake_released();
}

/*
 * Credit a charge: to its handle (copied: an arena payload's; acked:
 * acknowledged before), to the budget through this thread's bank (paid in
 * at once when someone waits for budget). A copied payload acknowledged
 * before, nearly every one, is banked with its handle: one atomic add on a
 * line of this thread's, not on the handle's, which the handle's other
 * releasing threads write too and would take back at every message. Inline: a constant copied and acked leave one path, and the release of
 * every copied message calls nothing and needs no saved register. Never
 * under the budget's lock.
 */
static inline __attribute__((always_inline)) void rf_budget_credit(int slot, size_t charge,
								   int copied, int acked)
{
	struct rf_bank *bank = rf_tls_bank;
	struct rf_kafka_handle *h;
	uint64_t word;

	if (copied && acked) {
		if (__builtin_expect(bank == NULL, 0) ||
		    RF_BANK_SLOT(word = __atomic_load_n(&bank->copied, __ATOMIC_RELAXED)) != slot ||
		    !__atomic_compare_exchange_n(&bank->copied, &word, word + charge, 0,
						 __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
			rf_budget_credit_pay(slot, charge, 0, 1);
			return;
		}
		if (__builtin_expect(
			    RF_BANK_BYTES(word) + charge >= rf_budget.bank_threshold ||
				    __atomic_load_n(&rf_budget.waiting, __ATOMIC_SEQ_CST) != 0,
			    0)) {
			rf_budget_credit_pay(slot, charge, 1, 1);
			return;
		}
		/* Counted last, so that nothing is kept across its rare call. */
		rf_stats_add(RF_STAT_budget_released, 1);
		return;
	}
	h = rf_kafka_handle_at(slot);
	__atomic_fetch_add(copied ? &h->copied_out : &h->uncopied_out, charge, __ATOMIC_RELEASE);
	if (copied)
		__atomic_fetch_add(&h->unacked_out, charge, __ATOMIC_RELEASE);
	if (__builtin_expect(bank == NULL, 0) ||
	    __builtin_expect(__atomic_add_fetch(&bank->pending, charge, __ATOMIC_SEQ_CST) >=
					     rf_budget.bank_threshold ||
				     __atomic_load_n(&rf_budget.waiting, __ATOMIC_SEQ_CST) != 0,
			     0)) {
		rf_budget_credit_pay(slot, charge, bank != NULL, 0);
		return;
	}
	rf_stats_add(RF_STAT_budget_released, 1);
}

/* An uncopied message's charge comes back (refused, or acknowledged). */
static __attribute__((noinline)) void rf_budget_credit_uncopied(int slot, size_t charge)
{
	rf_budget_credit(slot, charge, 0, 0);
}

/*
 * A record just carved for m: what its release credits (charge beyond the
 * record, handle), and in the call until settled.
 */
static inline void rf_budget_record_open(const struct rf_budget_msg *m)
{
	struct rf_arena_record *rec = rf_arena_record_of(m->payload);

	rec->tag =
		((uint64_t)m->extra << 16) | (uint64_t)(rf_kafka_slot_valid(m->slot) ? m->slot : 0);
	__atomic_store_n(&rec->state, RF_REC_IN_CALL, __ATOMIC_RELAXED);
}

/*
 * Take the charge now if it fits with reserve to spare, carving the arena
 * when m copies. Lock-free unless the thread's chunk needs a refill; locked
 * says the caller holds the lock already.
 */
static int rf_budget_take(struct rf_budget_msg *m, int locked, uint64_t reserve)
{
	uint64_t charged;

	if (__atomic_load_n(&rf_budget_heap_on, __ATOMIC_ACQUIRE))
		return 0; /* heap pressure: as if the budget were spent */
	charged = __atomic_add_fetch(&rf_budget.charged, m->charge, __ATOMIC_SEQ_CST);

	if (charged + reserve > rf_budget.config.budget) {
		/* Spent, or only on paper: pay the banks in and look again. */
		__atomic_fetch_sub(&rf_budget.charged, m->charge, __ATOMIC_SEQ_CST);
		rf_bank_pay_all();
		charged = __atomic_add_fetch(&rf_budget.charged, m->charge, __ATOMIC_SEQ_CST);
		if (charged + reserve > rf_budget.config.budget) {
			__atomic_fetch_sub(&rf_budget.charged, m->charge, __ATOMIC_SEQ_CST);
			return 0;
		}
	}
	if (m->copy) {
		m->payload = rf_arena_carve(&rf_budget.arena, &rf_tls_cursor, m->len);
		if (m->payload == NULL) {
			int had_chunk = rf_tls_cursor.chunk != RF_ARENA_NONE;

			if (!locked)
				pthread_mutex_lock(&rf_budget.lock);
			m->payload = rf_arena_refill(&rf_budget.arena, &rf_tls_cursor, m->len);
			if (!locked)
				pthread_mutex_unlock(&rf_budget.lock);
			if (!had_chunk && rf_tls_cursor.chunk != RF_ARENA_NONE &&
			    rf_budget.cursor_key_ready)
				pthread_setspecific(rf_budget.cursor_key, &rf_tls_cursor);
		}
		if (m->payload == NULL) {
			/* Fragmented: the charge fits but no chunk is free; wait for drains. */
			__atomic_fetch_sub(&rf_budget.charged, m->charge, __ATOMIC_SEQ_CST);
			return 0;
		}
		rf_budget_record_open(m);
	}
	rf_budget_peak_note(charged);
	rf_budget_handle_charge(m->slot, m->charge, m->copy);
	rf_stats_add(RF_STAT_budget_admitted, 1);
	return 1;
}

/* Whether tid waits for budget here. Lock held. */
static int rf_budget_is_waiter(pid_t tid)
{
	for (struct rf_waiter *w = rf_budget.head; w != NULL; w = w->next)
		if (w->tid == tid)
			return 1;
	return 0;
}

/* Whether thread tid of this process has ended. */
static int rf_budget_thread_gone(pid_t tid)
{
	int saved = errno, gone;

	gone = tid > 0 && syscall(SYS_tgkill, getpid(), tid, 0) < 0 && errno == ESRCH;
	errno = saved;
	return gone;
}

/*
 * Whether the reports of h wait for a poll that cannot come while we wait.
 * Judged on what was observed, not on which thread polled last (Go moves
 * the goroutine that polls from thread to thread):
 *   - ready reports left unserved for RF_POLL_STALL_NS: whoever polls cannot
 *     run now;
 *   - otherwise, for a caller that asked to block (RD_KAFKA_MSG_F_BLOCK),
 *     never: librdkafka blocks such a call as long as it takes, and polls
 *     that keep coming serve the reports;
 *   - otherwise, when every thread that polled h lately (RF_POLL_RECENT_NS
 *     of its last poll; the creator when none has) waits here itself or has
 *     ended: the single-threaded produce-then-poll loop, threads that each
 *     produce and poll all waiting, a poller gone. Its reports then wait for
 *     a poll that only a waiter would make: refused at once.
 * Lock held.
 */
static int rf_budget_poller_unavailable(const struct rf_kafka_handle *h, int64_t now, int block)
{
	pid_t tids[RF_KAFKA_POLLERS];
	int n;

	if (rf_kafka_handle_acked(h) > 0 &&
	    now - __atomic_load_n(&h->last_poll_ns, __ATOMIC_RELAXED) > RF_POLL_STALL_NS)
		return 1;
	if (block)
		return 0;
	n = rf_kafka_handle_pollers(h, RF_POLL_RECENT_NS, tids);
	for (int i = 0; i < n; i++)
		if (!rf_budget_is_waiter(tids[i]) && !rf_budget_thread_gone(tids[i]))
			return 0;
	return 1;
}

/*
 * Whether the caller, by waiting, keeps reports from being served that it
 * would serve itself: a caller that did not ask to block, which polled its
 * handle lately, while that handle has reports ready. Whoever else polls the
 * handle may serve them, but when every producer of a handle also polls it
 * (each thread of a pool that produces and polls), all of them end up
 * waiting, nobody polls until the next slice judges the waits hopeless, and
 * the budget's throughput falls to a fraction. Refused at once, the caller
 * polls and retries, as it does when librdkafka's own queue is full. Lock
 * held, the banks paid in (they hold part of the handle's releases).
 */
static int rf_budget_waiter_serves_reports(const struct rf_budget_msg *m, pid_t tid)
{
	const struct rf_kafka_handle *h;
	pid_t tids[RF_KAFKA_POLLERS];
	int n;

	if (m->block || !rf_kafka_slot_valid(m->slot))
		return 0;
	h = rf_kafka_handle_at(m->slot);
	if (!rf_kafka_handle_needs_poll(h) || rf_kafka_handle_acked(h) == 0)
		return 0;
	n = rf_kafka_handle_pollers(h, RF_POLL_RECENT_NS, tids);
	for (int i = 0; i < n; i++)
		if (tids[i] == tid)
			return 1;
	return 0;
}

/*
 * Budget that only waiting threads can give back: the copied payloads held
 * by handles whose delivery reports wait for a poll that cannot come while m
 * waits (rf_budget_poller_unavailable). Uncopied messages are not in it:
 * their charge comes back at acknowledgement, on librdkafka's threads, poll
 * or no poll. Waiting is hopeless when that plus what m
 * needs exceeds the budget, or when nothing else is left to be released:
 * then the arena stays as it is (fragmented or full) until a waiter polls.
 * Anything else will be released by someone, and is re-judged at each
 * release and each wait slice. Lock held, the banks paid in.
 */
static int rf_budget_wait_hopeless_locked(const struct rf_budget_msg *m)
{
	int64_t now = rf_clock_ns(CLOCK_MONOTONIC_COARSE);
	uint64_t stuck = 0;
	int heap_stuck = 0;

	for (int i = 1; i < RF_KAFKA_HANDLES; i++) {
		const struct rf_kafka_handle *h = rf_kafka_handle_at(i);
		uint64_t bytes = rf_kafka_handle_copied(h);

		if (rf_kafka_handle_needs_poll(h) && bytes > 0 &&
		    rf_budget_poller_unavailable(h, now, m->block))
			stuck += bytes;
		/* Under heap pressure, reports only a waiter would serve may hold the heap. */
		if (__atomic_load_n(&rf_budget_heap_on, __ATOMIC_ACQUIRE) && !heap_stuck &&
		    rf_kafka_handle_needs_poll(h) && rf_budget_poller_unavailable(h, now, m->block))
			heap_stuck = 1;
	}
	return heap_stuck || stuck + m->charge > rf_budget.config.budget ||
	       (stuck > 0 && stuck >= __atomic_load_n(&rf_budget.charged, __ATOMIC_SEQ_CST));
}

/*
 * Releases wake the queue once its head fits, with a bank's worth to spare
 * (so that a wake-up serves more than one message) where the budget allows.
 * Lock held.
 */
static void rf_budget_wake_room_set(void)
{
	uint64_t room;

	if (rf_budget.head == NULL)
		return;
	room = rf_budget.head->need + rf_budget.bank_threshold;
	if (room > rf_budget.config.budget)
		room = rf_budget.head->need;
	__atomic_store_n(&rf_budget.wake_room, room, __ATOMIC_RELAXED);
}

static void rf_budget_queue_push(struct rf_waiter *w)
{
	w->next = NULL;
	w->prev = rf_budget.tail;
	if (rf_budget.tail != NULL)
		rf_budget.tail->next = w;
	else
		rf_budget.head = w;
	rf_budget.tail = w;
	/* Before releasers can see it waiting. */
	if (rf_budget.head == w)
		rf_budget_wake_room_set();
	__atomic_add_fetch(&rf_budget.waiting, 1, __ATOMIC_SEQ_CST);
}

/* took: w leaves with its charge taken (the room left for the others shrank). */
static void rf_budget_queue_remove(struct rf_waiter *w, int took)
{
	int was_head = rf_budget.head == w;

	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		rf_budget.head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	else
		rf_budget.tail = w->prev;
	__atomic_sub_fetch(&rf_budget.waiting, 1, __ATOMIC_SEQ_CST);
	if (was_head) {
		rf_budget_wake_room_set();
		/* The room it kept for itself is the next one's, which may fit now. */
		if (!took)
			pthread_cond_broadcast(&rf_budget.cond);
	}
}

/*
 * Wait first come first served until deadline; 0, or -ENOBUFS. Lock held.
 * Not a cancellation point, as librdkafka's produce calls are not without
 * F_BLOCK: a thread cancelled in pthread_cond_timedwait would leave holding
 * the lock, its queue entry on a stack that is gone. A cancel waits for the
 * application's next cancellation point, after the call has returned.
 */
static int rf_budget_wait_locked(struct rf_budget_msg *m, int64_t deadline)
{
	int64_t start = rf_clock_ns(CLOCK_MONOTONIC), now = start;
	struct rf_waiter self = {.tid = gettid(), .need = m->charge, .since_ns = start};
	int rc = -ENOBUFS, cancel_state;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
	/* The judge reads who polled lately: fresh records, from every slice on. */
	rf_kafka_poll_tick_advance();
	rf_budget_queue_push(&self);
	m->waited = 1;
	rf_stats_add(RF_STAT_budget_waits, 1);
	for (;;) {
		/* Before looking at the charge: see rf_budget_wake_released. */
		__atomic_store_n(&rf_budget.wake_sent, 0, __ATOMIC_SEQ_CST);
		/* The head takes when it fits; the others when the head's room stays free. */
		if (rf_budget_take(m, 1, rf_budget.head == &self ? 0 : rf_budget.head->need)) {
			rc = 0;
			break;
		}
		/* Judged on the exact charge and handle figures. */
		rf_bank_pay_all();
		if (rf_budget_waiter_serves_reports(m, self.tid) ||
		    rf_budget_wait_hopeless_locked(m)) {
			rf_stats_add(RF_STAT_budget_self_refusals, 1);
			break;
		}
		if (now >= deadline) {
			rf_stats_add(RF_STAT_budget_timeouts, 1);
			break;
		}
		int64_t until =
			now + RF_WAIT_SLICE_NS < deadline ? now + RF_WAIT_SLICE_NS : deadline;
		struct timespec ts = rf_timespec_of_ns(until);
		pthread_cond_timedwait(&rf_budget.cond, &rf_budget.lock, &ts);
		rf_kafka_poll_tick_advance();
		now = rf_clock_ns(CLOCK_MONOTONIC);
	}
	rf_budget_queue_remove(&self, rc == 0);
	pthread_setcancelstate(cancel_state, NULL);
	rf_stats_add(RF_STAT_budget_wait_ns, (uint64_t)(rf_clock_ns(CLOCK_MONOTONIC) - start));
	return rc;
}

/* The open handle holding the most budget in messages not yet acknowledged. Lock held. */
static void *rf_budget_drop_victim_locked(void)
{
	uint64_t most = 0;
	void *rk = NULL;

	for (int i = 1; i < RF_KAFKA_HANDLES; i++) {
		const struct rf_kafka_handle *h = rf_kafka_handle_at(i);
		uint64_t bytes = rf_kafka_handle_held(h);
		uint64_t acked = rf_kafka_handle_acked(h);
		uint64_t queued = bytes > acked ? bytes - acked : 0;

		if (__atomic_load_n(&h->state, __ATOMIC_RELAXED) == RF_SHM_HANDLE_OPEN &&
		    queued > most) {
			most = queued;
			rk = h->rk;
		}
	}
	return rk;
}

/* Everything admission may meet: the policies, the arena's first mapping, waiting. */
static __attribute__((noinline)) int rf_budget_admit_slow(struct rf_budget_msg *m)
{
	enum rf_policy policy = (enum rf_policy)rf_budget.config.policy;
	int rc = -ENOBUFS;

	m->payload = NULL;
	m->waited = 0;
	if (policy == RF_POLICY_OBSERVE)
		m->copy = 0;
	m->charge = rf_budget_charge_of(m);
	if (policy == RF_POLICY_OBSERVE) {
		/* Never interferes: every message is charged, whatever the budget says. */
		uint64_t charged =
			__atomic_add_fetch(&rf_budget.charged, m->charge, __ATOMIC_SEQ_CST);

		rf_budget_handle_charge(m->slot, m->charge, 0);
		rf_budget_peak_note(charged);
		rf_stats_add(RF_STAT_budget_admitted, 1);
		if (m->charge > rf_budget.config.budget)
			rf_stats_add(RF_STAT_budget_observed_oversized, 1);
		else if (charged > rf_budget.config.budget)
			rf_stats_add(RF_STAT_budget_observed_over, 1);
		else
			rf_stats_add(RF_STAT_budget_nowait, 1);
		if (__atomic_load_n(&rf_budget_heap_on, __ATOMIC_RELAXED))
			rf_stats_add(RF_STAT_heap_limit_observed, 1);
		return 0;
	}
	if (m->charge > rf_budget.config.budget) {
		rf_stats_add(RF_STAT_budget_oversized, 1);
		return -EMSGSIZE;
	}
	if (m->copy && rf_budget_arena() < 0) {
		/* No arena: degrade to charging without copying rather than refuse. */
		m->copy = 0;
		m->charge = rf_budget_charge_of(m);
	}
	/* The fast path, unless others already queue for budget (first come first served). */
	if (__atomic_load_n(&rf_budget.waiting, __ATOMIC_SEQ_CST) == 0 && rf_budget_take(m, 0, 0)) {
		rf_stats_add(RF_STAT_budget_nowait, 1);
		return 0;
	}
	if (__atomic_load_n(&rf_budget_heap_on, __ATOMIC_RELAXED))
		rf_stats_add(RF_STAT_heap_limit_pushbacks, 1);

	pthread_mutex_lock(&rf_budget.lock);
	switch (policy) {
	case RF_POLICY_FAIL:
		if (rf_budget.head == NULL && rf_budget_take(m, 1, 0))
			rc = 0;
		break;
	case RF_POLICY_BLOCK:
		rc = rf_budget_wait_locked(m, rf_clock_ns(CLOCK_MONOTONIC) +
						      (int64_t)rf_budget.config.block_timeout);
		break;
	case RF_POLICY_DROP_OLDEST: {
		void *rk = rf_budget_drop_victim_locked();
		rf_budget_purge_fn purge = rf_budget.purge;

		if (rk != NULL && purge != NULL) {
			/* The purge calls our interceptor, which must not find the lock held. */
			pthread_mutex_unlock(&rf_budget.lock);
			rf_stats_add(RF_STAT_budget_purges, 1);
			purge(rk);
			pthread_mutex_lock(&rf_budget.lock);
		}
		/* The purged payloads are freed when their reports are served: by
		 * librdkafka at once without a delivery callback, else by a poll. */
		rc = rf_budget_wait_locked(m, rf_clock_ns(CLOCK_MONOTONIC) + RF_DROP_WAIT_NS);
		break;
	}
	case RF_POLICY_OBSERVE:
		break; /* handled above */
	}
	pthread_mutex_unlock(&rf_budget.lock);
	if (rc < 0)
		rf_stats_add(RF_STAT_budget_rejected, 1);
	return rc;
}

static __attribute__((noinline)) void rf_budget_count_nowait_slow(void)
{
	rf_stats_add(RF_STAT_budget_admitted, 1);
	rf_stats_add(RF_STAT_budget_nowait, 1);
}

/* An admission that did not wait: two counts, the counters' pointer loaded once. */
static inline void rf_budget_count_nowait(void)
{
	uint64_t *v = rf_stats_mine();

	/* The thread's counters not there yet: one call, last, so nothing is kept across it. */
	if (__builtin_expect(v == NULL, 0)) {
		rf_budget_count_nowait_slow();
		return;
	}
	rf_stats_add_to(v, RF_STAT_budget_admitted, 1);
	rf_stats_add_to(v, RF_STAT_budget_nowait, 1);
}

/*
 * Charge the budget for a message and a reserve besides, kept in this
 * thread's bank for the admissions that follow (struct rf_bank: it counts as
 * charged, as banked credit does, and goes back whenever the bank is paid).
 * So the shared charge takes one atomic add per reserve, not one per
 * message from every producing thread. Only the charge when the reserve
 * does not fit. Returns the charge as it stands, or 0 when even the
 * message's does not fit (nothing charged).
 */
static uint64_t rf_budget_reserve_take(size_t charge)
{
	struct rf_bank *bank = rf_bank_get();
	uint64_t reserve = bank != NULL ? rf_budget.bank_reserve : 0;
	uint64_t charged =
		__atomic_add_fetch(&rf_budget.charged, charge + reserve, __ATOMIC_SEQ_CST);

	if (charged > rf_budget.config.budget && reserve != 0) {
		charged = __atomic_sub_fetch(&rf_budget.charged, reserve, __ATOMIC_SEQ_CST);
		reserve = 0;
	}
	if (charged > rf_budget.config.budget) {
		__atomic_fetch_sub(&rf_budget.charged, charge, __ATOMIC_SEQ_CST);
		return 0;
	}
	if (reserve != 0) {
		__atomic_add_fetch(&bank->pending, reserve, __ATOMIC_SEQ_CST);
		/* A thread that began to wait meanwhile may have paid the banks in already. */
		if (__atomic_load_n(&rf_budget.waiting, __ATOMIC_SEQ_CST) != 0)
			rf_bank_pay(bank);
	}
	return charged - reserve;
}

/*
 * The end of an admission whose charge is taken (charged: the charge as it
 * then stood, for the peak; 0 when nothing new was charged): carve and
 * count. Inline in both admissions that take without the lock.
 */
static inline __attribute__((always_inline)) int rf_budget_admit_taken(struct rf_budget_msg *m,
								       size_t charge,
								       uint64_t charged)
{
	m->payload = NULL;
	if (m->copy &&
	    (m->payload = rf_arena_carve(&rf_budget.arena, &rf_tls_cursor, m->len)) == NULL) {
		/* Given back to the charge whichever way it came: the bank keeps what it has. */
		__atomic_fetch_sub(&rf_budget.charged, charge, __ATOMIC_SEQ_CST);
		return rf_budget_admit_slow(m);
	}
	m->charge = charge;
	m->waited = 0;
	if (m->payload != NULL)
		rf_budget_record_open(m);
	if (__builtin_expect(charged > __atomic_load_n(&rf_budget.peak, __ATOMIC_RELAXED), 0))
		rf_budget_peak_note(charged);
	rf_budget_handle_charge(m->slot, charge, m->copy);
	rf_budget_count_nowait();
	return 0;
}

/* Admission whose thread's bank ran short: from the budget, with a new reserve. */
static __attribute__((noinline)) int rf_budget_admit_reserve(struct rf_budget_msg *m, size_t charge)
{
	uint64_t charged = rf_budget_reserve_take(charge);

	if (charged == 0)
		return rf_budget_admit_slow(m);
	return rf_budget_admit_taken(m, charge, charged);
}

/*
 * Admission as most messages meet it, with nothing to decide: a policy that
 * charges, the arena mapped (for a copy), nobody waiting, no heap pressure,
 * the charge fits and the thread's chunk has room. The charge is taken from
 * the thread's bank (its reserve, or what it released itself), else from
 * the budget with a new reserve; then one atomic add on the handle's
 * counter, a bump of the thread's cursor, and counts in the thread's own
 * counters. Anything else starts over on the slow path.
 */
int rf_budget_admit(struct rf_budget_msg *m)
{
	uint64_t budget = rf_budget.config.budget, left;
	size_t charge = rf_budget_charge_of(m);
	struct rf_bank *bank = rf_tls_bank;

	if (__builtin_expect(
		    !(__atomic_load_n(&rf_budget_mode, __ATOMIC_RELAXED) & RF_BUDGET_FAST) ||
			    charge > budget ||
			    (m->copy &&
			     __atomic_load_n(&rf_budget_bounds.base, __ATOMIC_ACQUIRE) == 0) ||
			    __atomic_load_n(&rf_budget.waiting, __ATOMIC_SEQ_CST) != 0 ||
			    __atomic_load_n(&rf_budget_heap_on, __ATOMIC_ACQUIRE),
		    0))
		return rf_budget_admit_slow(m);
	if (__builtin_expect(bank == NULL, 0) ||
	    (left = __atomic_load_n(&bank->pending, __ATOMIC_RELAXED)) < charge ||
	    !__atomic_compare_exchange_n(&bank->pending, &left, left - charge, 0, __ATOMIC_SEQ_CST,
					 __ATOMIC_RELAXED))
		return rf_budget_admit_reserve(m, charge);
	/* Taken from the bank, the charge as a whole does not change: no peak to note. */
	return rf_budget_admit_taken(m, charge, 0);
}

size_t rf_budget_payload_size(const void *p)
{
	return rf_arena_record_of((void *)p)->len;
}

/* The last record of a chunk left: the chunk goes back to the pool. */
static __attribute__((noinline)) void rf_budget_reclaim(uint32_t chunk)
{
	pthread_mutex_lock(&rf_budget.lock);
	rf_arena_reclaim(&rf_budget.arena, chunk);
	pthread_mutex_unlock(&rf_budget.lock);
}

/*
 * A release that drained its chunk, out of line: the chunk goes back to the
 * pool before the credit can wake a waiter that needs it.
 */
static __attribute__((noinline)) void rf_budget_release_drained(uint32_t chunk, int slot,
								size_t charge, int acked)
{
	rf_budget_reclaim(chunk);
	rf_budget_credit(slot, charge, 1, acked);
}

/*
 * Credit an arena record and give its space back; acked: it left the acked
 * figure too. Inline: rf_budget_free's release, nearly every one, keeps
 * nothing across a call and saves no register.
 */
static inline __attribute__((always_inline)) void rf_budget_release_record(void *payload, int acked)
{
	struct rf_arena_record *rec = rf_arena_record_of(payload);
	/* Read the header before the space can be reused. */
	int slot = (int)(rec->tag & 0xffff);
	size_t charge = rf_arena_record_size(rec->len) + (size_t)(rec->tag >> 16);
	uint32_t drained;

	/* A second free of the payload finds no owner and is only counted. */
	__atomic_store_n(&rec->state, 0, __ATOMIC_RELEASE);
	drained = rf_arena_release(&rf_budget.arena, payload);
	if (__builtin_expect(drained != RF_ARENA_NONE, 0))
		rf_budget_release_drained(drained, slot, charge, acked);
	else
		rf_budget_credit(slot, charge, 1, acked);
}

void rf_budget_free(void *p)
{
	struct rf_arena_record *rec = rf_arena_record_of(p);
	uint32_t state = __atomic_load_n(&rec->state, __ATOMIC_ACQUIRE);

	for (;;) {
		switch (state & RF_REC_STATE_MASK) {
		case RF_REC_IN_CALL:
			/* The produce call has not returned: settle will credit it. */
			if (__atomic_compare_exchange_n(&rec->state, &state,
							(state & ~(uint32_t)RF_REC_STATE_MASK) |
								RF_REC_FREED_IN_CALL,
							0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				return;
			continue;
		case RF_REC_LIVE:
			rf_budget_release_record(p, 1);
			return;
		default:
			/* A second free: ignore it, corrupt nothing. */
			rf_stats_add(RF_STAT_shim_errors, 1);
			return;
		}
	}
}

int rf_budget_settle(struct rf_budget_msg *m, int accepted)
{
	if (m->payload != NULL) {
		struct rf_arena_record *rec = rf_arena_record_of(m->payload);
		uint32_t state = __atomic_load_n(&rec->state, __ATOMIC_ACQUIRE);

		while (accepted && (state & RF_REC_STATE_MASK) == RF_REC_IN_CALL) {
			if (__atomic_compare_exchange_n(&rec->state, &state,
							(state & ~(uint32_t)RF_REC_STATE_MASK) |
								RF_REC_LIVE,
							0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				return 0;
		}
		/* Refused (still ours; any acknowledgement came in the call and was not
		 * counted), or accepted and already delivered and freed by a broker
		 * thread (whose acknowledgement was counted). */
		int freed = (state & RF_REC_STATE_MASK) == RF_REC_FREED_IN_CALL;
		rf_budget_release_record(m->payload, accepted && freed);
		return freed;
	}
	if (!accepted)
		rf_budget_credit_uncopied(m->slot, m->charge);
	return 0;
}

void rf_budget_ack(int slot, const void *payload, size_t len, size_t extra, int purged, int in_call)
{
	struct rf_kafka_handle *h = rf_kafka_handle_at(slot);

	if (purged) {
		__atomic_fetch_add(&h->dropped_msgs, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&h->dropped_bytes, len, __ATOMIC_RELAXED);
		rf_stats_add(RF_STAT_budget_dropped_msgs, 1);
		rf_stats_add(RF_STAT_budget_dropped_bytes, len);
		if (purged == 2)
			rf_stats_add(RF_STAT_budget_dropped_maybe_sent, 1);
	}
	if (rf_budget_owns(payload)) {
		rf_budget_ack_copied(slot, payload, in_call);
	} else if (!in_call) {
		/* An uncopied message: librdkafka is done with it now. */
		rf_budget_credit_uncopied(slot, len + extra);
	}
}

void rf_budget_handle_close(int slot)
{
	/* Its figures exact (the banks hold part of its releases), so that it is reused only empty. */
	rf_bank_pay_all();
	rf_kafka_handle_close(slot);
	/* Its waiters' space can no longer be held by its delivery reports. */
	rf_budget_wake(0);
}

/* ---- Giving memory back --------------------------------------------------------- */

/*
 * Arena chunks free this long give their pages back. A producer under load
 * reuses its chunks within milliseconds (last freed first), so only memory
 * left over from a burst goes; a burst after a longer pause faults its pages
 * in again (about a microsecond per 4 KiB page).
 */
#define RF_ARENA_IDLE_MS 1000
#define RF_ARENA_RETURN_BATCH 64 /* chunks per hold of the lock */

static uint64_t rf_budget_arena_returned; /* bytes given back; the publisher's own */

/* On the publisher's thread: madvise runs outside the lock, a batch at a time. */
static void rf_budget_arena_return(void)
{
	uint32_t chunks[RF_ARENA_RETURN_BATCH], n;

	if (__atomic_load_n(&rf_budget_bounds.base, __ATOMIC_ACQUIRE) == 0)
		return;
	do {
		pthread_mutex_lock(&rf_budget.lock);
		n = rf_arena_idle_take(&rf_budget.arena, RF_ARENA_IDLE_MS, chunks,
				       RF_ARENA_RETURN_BATCH);
		pthread_mutex_unlock(&rf_budget.lock);
		if (n == 0)
			return;
		rf_arena_idle_give(&rf_budget.arena, chunks, n);
		pthread_mutex_lock(&rf_budget.lock);
		rf_arena_idle_done(&rf_budget.arena, chunks, n);
		/* A refill may have passed them by meanwhile and gone to wait. */
		rf_budget_wake(1);
		pthread_mutex_unlock(&rf_budget.lock);
		rf_budget_arena_returned += (uint64_t)n * rf_budget.arena.chunk;
	} while (n == RF_ARENA_RETURN_BATCH);
}

/* ---- Figures ------------------------------------------------------------------- */

void rf_budget_publish(struct rf_publication *pub)
{
	struct rf_shm_layout *shm = pub->seg->shm;
	uint64_t acked, chunks = 0, resident = 0, charged, banked, room, heap;
	int64_t longest = 0;
	uint32_t count;

	if (shm == NULL)
		return;
	/* The handles' releases, part of which the banks hold, as of now. */
	rf_bank_pay_all();
	/* The handles' last polls, as published, are as fresh as this. */
	rf_kafka_poll_tick_advance();
	if (!pub->exiting)
		rf_budget_arena_return();
	room = rf_segment_room(pub->seg, RF_SHM_SECTION_HANDLES, rf_kafka_handle_listed());
	count = rf_kafka_handle_publish(shm->handles, (uint32_t)room, &acked);
	rf_segment_section_count(pub->seg, RF_SHM_SECTION_HANDLES, count);
	pthread_mutex_lock(&rf_budget.lock);
	if (rf_budget_bounds.base != 0) {
		chunks = rf_arena_chunks_in_use(&rf_budget.arena);
		resident = rf_arena_resident_bytes(&rf_budget.arena);
	}
	/* The queue is first come first served: its head has waited longest. */
	if (rf_budget.head != NULL)
		longest = rf_clock_ns(CLOCK_MONOTONIC) - rf_budget.head->since_ns;
	pthread_mutex_unlock(&rf_budget.lock);
	/* The heap publisher came first (rf_publish.c): its figure is this publication's. */
	heap = pub->stats[RF_STAT_heap_live_bytes];
	if (longest == 0)
		rf_budget.heap_calm = heap;
	rf_publication_set(pub, RF_STAT_budget_waiting_longest_ns, (uint64_t)longest);
	rf_publication_set(pub, RF_STAT_budget_waiting_heap_growth_bytes,
			   longest > 0 && heap > rf_budget.heap_calm ? heap - rf_budget.heap_calm
								     : 0);
	charged = __atomic_load_n(&rf_budget.charged, __ATOMIC_SEQ_CST);
	banked = rf_bank_total();
	rf_publication_set(pub, RF_STAT_budget_bytes, charged > banked ? charged - banked : 0);
	rf_publication_set(pub, RF_STAT_budget_bytes_peak,
			   __atomic_load_n(&rf_budget.peak, __ATOMIC_RELAXED));
	/* From this publication's sums of the counters, so that they agree. */
	rf_publication_set(pub, RF_STAT_budget_records,
			   pub->stats[RF_STAT_budget_admitted] -
				   pub->stats[RF_STAT_budget_released]);
	rf_publication_set(pub, RF_STAT_budget_ring_bytes, chunks * rf_budget.arena.chunk);
	rf_publication_set(pub, RF_STAT_budget_acked_unfreed_bytes, acked);
	rf_publication_set(pub, RF_STAT_budget_arena_bytes, rf_budget_bounds.size);
	rf_publication_set(pub, RF_STAT_budget_waiting,
			   __atomic_load_n(&rf_budget.waiting, __ATOMIC_SEQ_CST));
	rf_publication_set(pub, RF_STAT_budget_arena_resident_bytes, resident);
	rf_publication_set(pub, RF_STAT_budget_arena_returned_bytes, rf_budget_arena_returned);
}

void rf_budget_fork_child(void)
{
	/* The parent's waiters are not in this process; its locks may be held. */
	pthread_mutex_init(&rf_budget.lock, NULL);
	rf_kafka_handle_fork_child();
	rf_budget_cond_init();
	rf_budget.head = rf_budget.tail = NULL;
	__atomic_store_n(&rf_budget.waiting, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&rf_budget.wake_sent, 0, __ATOMIC_SEQ_CST);
}

/* ---- Heap pressure (rf_heap.c, docs/heap.md) ------------------------------------ */

void rf_budget_heap_pressure(int on, int may_wake)
{
	/* From the allocation path this is a store only: no lock, signal-safe. */
	__atomic_store_n(&rf_budget_heap_on, on ? 1u : 0u, __ATOMIC_RELEASE);
	if (!on && may_wake)
		rf_budget_wake(0);
}

void rf_budget_arena_forbid(void)
{
	__atomic_store_n(&rf_budget_arena_forbidden, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&rf_budget.lock);
	rf_budget_mode_set();
	pthread_mutex_unlock(&rf_budget.lock);
}
