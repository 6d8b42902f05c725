/*
 * rf_budget.c - one process-wide byte budget on buffered produced messages.
 *
 * One mutex guards the ring, the charge and the handle table. It is taken by
 * producing threads (admission), by whichever thread librdkafka frees a ring
 * payload on (librdkafka's broker threads, or the polling thread), and by the
 * acknowledgement interceptor. It is never held across a call into
 * librdkafka or the allocator: the purge of drop-oldest, which makes
 * librdkafka call our interceptor, runs unlocked.
 *
 * A ring payload's record goes through these states (rec->state), so that a
 * payload librdkafka frees while the real produce call has not yet returned
 * (fast delivery on a broker thread, or 2.0.2's batch quirk) is credited
 * exactly once, by whoever comes second:
 *   IN_CALL --free()--> FREED_IN_CALL --settle--> released
 *   IN_CALL --settle(accepted)--> LIVE --free()--> released
 *   IN_CALL --settle(refused)--> released
 * with RF_REC_ACKED or-ed in when the acknowledgement came.
 */
#define _GNU_SOURCE
#include "rf_budget.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rf_ring.h"
#include "rf_stats.h"

enum {
	RF_REC_IN_CALL = 1,
	RF_REC_LIVE = 2,
	RF_REC_FREED_IN_CALL = 3,
	RF_REC_STATE_MASK = 0xf,
	RF_REC_ACKED = 0x10,
};

#define RF_HANDLES RF_SHM_HANDLES_MAX
#define RF_TOPICS 1024
#define RF_WAIT_SLICE_NS ((int64_t)(50 * RF_MS))
#define RF_DROP_WAIT_NS ((int64_t)(100 * RF_MS))/* drop-oldest never blocks longer */

struct rf_handle {
	void *rk;
	uint32_t state; /* enum rf_shm_handle_state */
	int needs_poll;
	pid_t poller;   /* last thread to poll it; the creator until then */
	int64_t last_poll_ns;
	uint64_t bytes, msgs;          /* charged and not yet credited */
	uint64_t ring_bytes;           /* of which: ring payloads (credited when freed) */
	uint64_t acked_bytes, acked_msgs; /* ring payloads acknowledged, not yet freed */
	uint64_t produced_msgs, produced_bytes;
	uint64_t dropped_msgs, dropped_bytes;
	char name[RF_SHM_HANDLE_NAME_MAX];
	char client_id[RF_SHM_HANDLE_NAME_MAX];
};

/* A thread waiting for budget: queued first come first served. */
struct rf_waiter {
	struct rf_waiter *next, *prev;
	pid_t tid;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int cond_ready;
	struct rf_shm_config config;
	int passive;
	rf_budget_purge_fn purge;

	struct rf_ring ring;
	uintptr_t arena_base; /* atomic: published after the ring is mapped */
	size_t arena_size;
	int arena_failed;

	uint64_t charged; /* everything charged now: ring records and the rest */
	uint64_t peak;
	uint64_t records;

	struct rf_waiter *head, *tail;
	uint32_t waiting;

	struct rf_handle handles[RF_HANDLES]; /* slot 0: unknown handle */
	struct {
		const void *rkt;
		int slot;
	} topics[RF_TOPICS];
	uint32_t topics_used;
} rf_budget = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

static int64_t rf_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
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

void rf_budget_setup(const struct rf_shm_config *config, int passive, rf_budget_purge_fn purge)
{
	pthread_mutex_lock(&rf_budget.lock);
	if (!rf_budget.cond_ready)
		rf_budget_cond_init();
	rf_budget.config = *config;
	rf_budget.passive = passive;
	rf_budget.purge = purge;
	if (rf_budget.arena_base != 0 && rf_budget.records == 0) {
		/* Tests re-configure: start from a fresh ring of the new size. */
		__atomic_store_n(&rf_budget.arena_base, 0, __ATOMIC_RELEASE);
		rf_ring_destroy(&rf_budget.ring);
		rf_budget.arena_size = 0;
		rf_budget.charged = rf_budget.peak = 0;
	}
	rf_budget.arena_failed = 0;
	pthread_mutex_unlock(&rf_budget.lock);
}

int rf_budget_enabled(void)
{
	return !rf_budget.passive;
}

int rf_budget_copies(void)
{
	return !rf_budget.passive && rf_budget.config.policy != RF_POLICY_OBSERVE;
}

/* Map the ring at the first copied message; the caller holds the lock. */
static int rf_budget_arena_locked(void)
{
	int rc;

	if (rf_budget.arena_base != 0)
		return 0;
	if (rf_budget.arena_failed)
		return -ENOMEM;
	rc = rf_ring_init(&rf_budget.ring, rf_budget.config.budget);
	if (rc < 0) {
		rf_budget.arena_failed = 1;
		rf_stats_add(RF_STAT_shim_errors, 1);
		return rc;
	}
	rf_budget.arena_size = rf_budget.ring.size;
	/* rf_budget_owns reads base, then size: size must be visible first. */
	__atomic_store_n(&rf_budget.arena_base, (uintptr_t)rf_budget.ring.base, __ATOMIC_RELEASE);
	return 0;
}

/* ---- Handles ------------------------------------------------------------------- */

static int rf_budget_slot_valid(int slot)
{
	return slot > 0 && slot < RF_HANDLES;
}

int rf_budget_handle_open(void *rk, int needs_poll, pid_t creator_tid)
{
	int slot = RF_BUDGET_SLOT_UNKNOWN, reuse = RF_BUDGET_SLOT_UNKNOWN;

	pthread_mutex_lock(&rf_budget.lock);
	for (int i = 1; i < RF_HANDLES && slot == RF_BUDGET_SLOT_UNKNOWN; i++) {
		if (rf_budget.handles[i].state == RF_SHM_HANDLE_FREE)
			slot = i;
		else if (rf_budget.handles[i].state == RF_SHM_HANDLE_DESTROYED &&
			 rf_budget.handles[i].bytes == 0 && reuse == RF_BUDGET_SLOT_UNKNOWN)
			reuse = i;
	}
	if (slot == RF_BUDGET_SLOT_UNKNOWN)
		slot = reuse;
	if (slot != RF_BUDGET_SLOT_UNKNOWN) {
		struct rf_handle *h = &rf_budget.handles[slot];

		memset(h, 0, sizeof(*h));
		h->rk = rk;
		h->state = RF_SHM_HANDLE_OPEN;
		h->needs_poll = needs_poll;
		h->poller = creator_tid;
	} else {
		rf_stats_add(RF_STAT_shim_errors, 1);
	}
	pthread_mutex_unlock(&rf_budget.lock);
	return slot;
}

static void rf_copy_name(char *dst, const char *src)
{
	size_t n = src ? strnlen(src, RF_SHM_HANDLE_NAME_MAX - 1) : 0;

	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

void rf_budget_handle_bind(int slot, void *rk)
{
	if (rf_budget_slot_valid(slot))
		__atomic_store_n(&rf_budget.handles[slot].rk, rk, __ATOMIC_RELEASE);
}

void rf_budget_handle_name(int slot, const char *name, const char *client_id)
{
	if (!rf_budget_slot_valid(slot))
		return;
	pthread_mutex_lock(&rf_budget.lock);
	rf_copy_name(rf_budget.handles[slot].name, name);
	rf_copy_name(rf_budget.handles[slot].client_id, client_id);
	pthread_mutex_unlock(&rf_budget.lock);
}

void rf_budget_handle_close(int slot)
{
	if (!rf_budget_slot_valid(slot))
		return;
	pthread_mutex_lock(&rf_budget.lock);
	rf_budget.handles[slot].state = RF_SHM_HANDLE_DESTROYED;
	for (uint32_t i = 0; i < rf_budget.topics_used; i++)
		if (rf_budget.topics[i].slot == slot)
			rf_budget.topics[i].rkt = NULL;
	/* Its waiters' space can no longer be held by its delivery reports. */
	pthread_cond_broadcast(&rf_budget.cond);
	pthread_mutex_unlock(&rf_budget.lock);
}

int rf_budget_handle_slot(const void *rk)
{
	/* Lock-free: polls call this often; a racing open or close is a harmless miss. */
	if (rk == NULL)
		return RF_BUDGET_SLOT_UNKNOWN;
	for (int i = 1; i < RF_HANDLES; i++)
		if (__atomic_load_n(&rf_budget.handles[i].rk, __ATOMIC_ACQUIRE) == rk &&
		    __atomic_load_n(&rf_budget.handles[i].state, __ATOMIC_RELAXED) ==
			    RF_SHM_HANDLE_OPEN)
			return i;
	return RF_BUDGET_SLOT_UNKNOWN;
}

void *rf_budget_handle_rk(int slot)
{
	void *rk;

	if (!rf_budget_slot_valid(slot))
		return NULL;
	pthread_mutex_lock(&rf_budget.lock);
	rk = rf_budget.handles[slot].state == RF_SHM_HANDLE_OPEN ? rf_budget.handles[slot].rk : NULL;
	pthread_mutex_unlock(&rf_budget.lock);
	return rk;
}

void rf_budget_handle_polled(int slot, pid_t tid, int64_t now_ns)
{
	struct rf_handle *h;

	if (!rf_budget_slot_valid(slot))
		return;
	h = &rf_budget.handles[slot];
	/* Plain stores, read under the lock: a poller change is a hint, not a count. */
	__atomic_store_n(&h->poller, tid, __ATOMIC_RELAXED);
	__atomic_store_n(&h->last_poll_ns, now_ns, __ATOMIC_RELAXED);
}

void rf_budget_topic_bind(const void *rkt, int slot)
{
	uint32_t free_i = RF_TOPICS;

	if (rkt == NULL)
		return;
	pthread_mutex_lock(&rf_budget.lock);
	for (uint32_t i = 0; i < rf_budget.topics_used; i++) {
		if (rf_budget.topics[i].rkt == rkt) {
			rf_budget.topics[i].slot = slot;
			pthread_mutex_unlock(&rf_budget.lock);
			return;
		}
		if (rf_budget.topics[i].rkt == NULL && free_i == RF_TOPICS)
			free_i = i;
	}
	if (free_i == RF_TOPICS && rf_budget.topics_used < RF_TOPICS)
		free_i = rf_budget.topics_used++;
	if (free_i < RF_TOPICS) {
		rf_budget.topics[free_i].rkt = rkt;
		rf_budget.topics[free_i].slot = slot;
	} else {
		rf_stats_add(RF_STAT_shim_errors, 1);
	}
	pthread_mutex_unlock(&rf_budget.lock);
}

int rf_budget_topic_slot(const void *rkt)
{
	int slot = RF_BUDGET_SLOT_UNKNOWN;

	pthread_mutex_lock(&rf_budget.lock);
	for (uint32_t i = 0; i < rf_budget.topics_used; i++)
		if (rf_budget.topics[i].rkt == rkt) {
			slot = rf_budget.topics[i].slot;
			break;
		}
	pthread_mutex_unlock(&rf_budget.lock);
	return slot;
}

/* ---- Charging ------------------------------------------------------------------ */

size_t rf_budget_msg_extra(size_t keylen, size_t header_count, size_t header_bytes)
{
	return RF_BUDGET_MSG_OVERHEAD + keylen + header_count * RF_BUDGET_HEADER_OVERHEAD +
	       header_bytes;
}

static size_t rf_budget_charge_of(const struct rf_budget_msg *m)
{
	return (m->copy ? rf_ring_record_size(m->len) : m->len) + m->extra;
}

static void rf_budget_charge_locked(struct rf_budget_msg *m)
{
	struct rf_handle *h = &rf_budget.handles[rf_budget_slot_valid(m->slot) ? m->slot : 0];

	rf_budget.charged += m->charge;
	rf_budget.records++;
	if (rf_budget.charged > rf_budget.peak)
		rf_budget.peak = rf_budget.charged;
	h->bytes += m->charge;
	h->msgs++;
	if (m->copy)
		h->ring_bytes += m->charge;
}

/* Credit a charge; the caller holds the lock. */
static void rf_budget_credit_locked(int slot, size_t charge, int ring, int acked)
{
	struct rf_handle *h = &rf_budget.handles[rf_budget_slot_valid(slot) ? slot : 0];

	/* Saturating: a mismatch must not turn into a huge unsigned charge. */
	rf_budget.charged -= charge < rf_budget.charged ? charge : rf_budget.charged;
	if (rf_budget.records > 0)
		rf_budget.records--;
	h->bytes -= charge < h->bytes ? charge : h->bytes;
	if (h->msgs > 0)
		h->msgs--;
	if (ring)
		h->ring_bytes -= charge < h->ring_bytes ? charge : h->ring_bytes;
	if (acked) {
		h->acked_bytes -= charge < h->acked_bytes ? charge : h->acked_bytes;
		if (h->acked_msgs > 0)
			h->acked_msgs--;
	}
	if (rf_budget.waiting > 0)
		pthread_cond_broadcast(&rf_budget.cond);
}

/* Take the charge now if it fits; the caller holds the lock. */
static int rf_budget_try_locked(struct rf_budget_msg *m)
{
	if (rf_budget.charged + m->charge > rf_budget.config.budget)
		return 0;
	if (m->copy) {
		m->arena = rf_ring_reserve(&rf_budget.ring, m->len);
		if (m->arena == NULL)
			return 0; /* fragmented: wait for records to drain */
		struct rf_ring_record *rec = rf_ring_record_of(m->arena);
		rec->state = RF_REC_IN_CALL;
		rec->tag = ((uint64_t)m->extra << 16) | (uint64_t)m->slot;
	}
	rf_budget_charge_locked(m);
	return 1;
}

static int rf_budget_waiter_is(pid_t tid)
{
	for (struct rf_waiter *w = rf_budget.head; w != NULL; w = w->next)
		if (w->tid == tid)
			return 1;
	return 0;
}

/*
 * Budget that only waiting threads can give back: the ring payloads of
 * handles whose delivery reports are served by a thread that is itself
 * waiting here (it cannot poll while it waits). Waiting is hopeless when
 * that plus what m needs exceeds the budget, or when nothing else is left
 * to be released: then the ring stays as it is (fragmented or full) until a
 * waiter polls. Anything else will be released by someone, and is re-judged
 * at each release and each wait slice.
 */
static int rf_budget_wait_hopeless_locked(const struct rf_budget_msg *m)
{
	uint64_t stuck = 0;

	for (int i = 1; i < RF_HANDLES; i++) {
		const struct rf_handle *h = &rf_budget.handles[i];
		pid_t poller = __atomic_load_n(&h->poller, __ATOMIC_RELAXED);

		if (h->state == RF_SHM_HANDLE_OPEN && h->needs_poll && h->ring_bytes > 0 &&
		    rf_budget_waiter_is(poller))
			stuck += h->ring_bytes;
	}
	return stuck + m->charge > rf_budget.config.budget || (stuck > 0 && stuck >= rf_budget.charged);
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
	rf_budget.waiting++;
}

static void rf_budget_queue_remove(struct rf_waiter *w)
{
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		rf_budget.head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	else
		rf_budget.tail = w->prev;
	rf_budget.waiting--;
	/* The next in line may now be at the head. */
	pthread_cond_broadcast(&rf_budget.cond);
}

/* Wait first come first served until deadline; 0, or -ENOBUFS. Lock held. */
static int rf_budget_wait_locked(struct rf_budget_msg *m, int64_t deadline)
{
	struct rf_waiter self = {.tid = gettid()};
	int64_t start = rf_now_ns(), now = start;
	int rc = -ENOBUFS;

	rf_budget_queue_push(&self);
	m->waited = 1;
	rf_stats_add(RF_STAT_budget_waits, 1);
	for (;;) {
		if (rf_budget.head == &self && rf_budget_try_locked(m)) {
			rc = 0;
			break;
		}
		if (rf_budget_wait_hopeless_locked(m)) {
			rf_stats_add(RF_STAT_budget_self_refusals, 1);
			break;
		}
		if (now >= deadline) {
			rf_stats_add(RF_STAT_budget_timeouts, 1);
			break;
		}
		int64_t until = now + RF_WAIT_SLICE_NS < deadline ? now + RF_WAIT_SLICE_NS : deadline;
		struct timespec ts = {(time_t)(until / 1000000000), (long)(until % 1000000000)};
		pthread_cond_timedwait(&rf_budget.cond, &rf_budget.lock, &ts);
		now = rf_now_ns();
	}
	rf_budget_queue_remove(&self);
	rf_stats_add(RF_STAT_budget_wait_ns, (uint64_t)(rf_now_ns() - start));
	return rc;
}

/* The open handle holding the most budget in messages not yet acknowledged. */
static void *rf_budget_drop_victim_locked(int *slot)
{
	uint64_t most = 0;
	void *rk = NULL;

	for (int i = 1; i < RF_HANDLES; i++) {
		const struct rf_handle *h = &rf_budget.handles[i];
		uint64_t queued = h->bytes - (h->acked_bytes < h->bytes ? h->acked_bytes : h->bytes);

		if (h->state == RF_SHM_HANDLE_OPEN && queued > most) {
			most = queued;
			rk = h->rk;
			*slot = i;
		}
	}
	return rk;
}

int rf_budget_admit(struct rf_budget_msg *m)
{
	enum rf_policy policy = (enum rf_policy)rf_budget.config.policy;
	int rc = -ENOBUFS;

	m->arena = NULL;
	m->waited = 0;
	m->charge = rf_budget_charge_of(m);
	if (m->copy && policy == RF_POLICY_OBSERVE)
		m->copy = 0, m->charge = rf_budget_charge_of(m);
	if (m->charge > rf_budget.config.budget) {
		if (policy == RF_POLICY_OBSERVE) {
			rf_stats_add(RF_STAT_budget_observed_oversized, 1);
			pthread_mutex_lock(&rf_budget.lock);
			rf_budget_charge_locked(m);
			pthread_mutex_unlock(&rf_budget.lock);
			return 0;
		}
		rf_stats_add(RF_STAT_budget_oversized, 1);
		return -EMSGSIZE;
	}

	pthread_mutex_lock(&rf_budget.lock);
	if (m->copy && rf_budget_arena_locked() < 0) {
		/* No ring: degrade to charging without copying rather than refuse. */
		m->copy = 0;
		m->charge = rf_budget_charge_of(m);
	}
	if (rf_budget.head == NULL && rf_budget_try_locked(m)) {
		rf_stats_add(RF_STAT_budget_nowait, 1);
		pthread_mutex_unlock(&rf_budget.lock);
		return 0;
	}
	switch (policy) {
	case RF_POLICY_OBSERVE:
		rf_stats_add(RF_STAT_budget_observed_over, 1);
		rf_budget_charge_locked(m);
		rc = 0;
		break;
	case RF_POLICY_FAIL:
		break;
	case RF_POLICY_BLOCK:
		rc = rf_budget_wait_locked(m, rf_now_ns() + (int64_t)rf_budget.config.block_timeout);
		break;
	case RF_POLICY_DROP_OLDEST: {
		int slot = RF_BUDGET_SLOT_UNKNOWN;
		void *rk = rf_budget_drop_victim_locked(&slot);
		rf_budget_purge_fn purge = rf_budget.purge;

		if (rk != NULL && purge != NULL) {
			/* The purge calls our interceptor, which takes the lock. */
			pthread_mutex_unlock(&rf_budget.lock);
			rf_stats_add(RF_STAT_budget_purges, 1);
			purge(rk);
			pthread_mutex_lock(&rf_budget.lock);
		}
		/* The purged payloads are freed when their reports are served: by
		 * librdkafka at once without a delivery callback, else by a poll. */
		rc = rf_budget_wait_locked(m, rf_now_ns() + RF_DROP_WAIT_NS);
		break;
	}
	}
	pthread_mutex_unlock(&rf_budget.lock);
	if (rc < 0)
		rf_stats_add(RF_STAT_budget_rejected, 1);
	return rc;
}

int rf_budget_owns(const void *p)
{
	uintptr_t base = __atomic_load_n(&rf_budget.arena_base, __ATOMIC_ACQUIRE);

	return base != 0 && (uintptr_t)p - base < rf_budget.arena_size;
}

size_t rf_budget_payload_size(const void *p)
{
	return rf_ring_record_of((void *)p)->len;
}

/* Release a ring record and its charge; lock held. */
static void rf_budget_release_record_locked(void *payload, uint32_t state)
{
	struct rf_ring_record *rec = rf_ring_record_of(payload);
	int slot = (int)(rec->tag & 0xffff);
	size_t charge = rf_ring_record_size(rec->len) + (size_t)(rec->tag >> 16);

	rf_budget_credit_locked(slot, charge, 1, (state & RF_REC_ACKED) != 0);
	rf_ring_release(&rf_budget.ring, payload);
}

void rf_budget_free(void *p)
{
	struct rf_ring_record *rec = rf_ring_record_of(p);
	uint32_t state;

	pthread_mutex_lock(&rf_budget.lock);
	state = rec->state;
	if ((state & RF_REC_STATE_MASK) == RF_REC_IN_CALL)
		rec->state = (state & ~(uint32_t)RF_REC_STATE_MASK) | RF_REC_FREED_IN_CALL;
	else if ((state & RF_REC_STATE_MASK) == RF_REC_LIVE)
		rf_budget_release_record_locked(p, state);
	else
		rf_stats_add(RF_STAT_shim_errors, 1); /* a second free: ignore, do not corrupt */
	pthread_mutex_unlock(&rf_budget.lock);
}

int rf_budget_settle(struct rf_budget_msg *m, int accepted)
{
	struct rf_handle *h;
	int freed_in_call = 0;

	pthread_mutex_lock(&rf_budget.lock);
	h = &rf_budget.handles[rf_budget_slot_valid(m->slot) ? m->slot : 0];
	if (accepted) {
		h->produced_msgs++;
		h->produced_bytes += m->len;
	}
	if (m->arena != NULL) {
		struct rf_ring_record *rec = rf_ring_record_of(m->arena);
		uint32_t state = rec->state;

		freed_in_call = (state & RF_REC_STATE_MASK) == RF_REC_FREED_IN_CALL;
		if (accepted && !freed_in_call)
			rec->state = (state & ~(uint32_t)RF_REC_STATE_MASK) | RF_REC_LIVE;
		else
			rf_budget_release_record_locked(m->arena, state);
	} else if (!accepted) {
		rf_budget_credit_locked(m->slot, m->charge, 0, 0);
	}
	pthread_mutex_unlock(&rf_budget.lock);
	return freed_in_call;
}

void rf_budget_ack(int slot, const void *payload, size_t len, size_t extra, int err, int purged,
		   int in_call)
{
	struct rf_handle *h;

	pthread_mutex_lock(&rf_budget.lock);
	h = &rf_budget.handles[rf_budget_slot_valid(slot) ? slot : 0];
	if (purged) {
		h->dropped_msgs++;
		h->dropped_bytes += len;
		rf_stats_add(RF_STAT_budget_dropped_msgs, 1);
		rf_stats_add(RF_STAT_budget_dropped_bytes, len);
	}
	if (rf_budget_owns(payload)) {
		struct rf_ring_record *rec = rf_ring_record_of((void *)payload);

		if (!(rec->state & RF_REC_ACKED)) {
			rec->state |= RF_REC_ACKED;
			h->acked_bytes += rf_ring_record_size(rec->len) + (size_t)(rec->tag >> 16);
			h->acked_msgs++;
		}
	} else if (!in_call) {
		/* An uncopied message: librdkafka is done with it now. */
		rf_budget_credit_locked(slot, len + extra, 0, 0);
	}
	(void)err;
	pthread_mutex_unlock(&rf_budget.lock);
}

/* ---- Figures ------------------------------------------------------------------- */

void rf_budget_publish(struct rf_shm_layout *shm, int64_t now_ns)
{
	uint64_t acked = 0;
	uint32_t count = 0;

	(void)now_ns;
	pthread_mutex_lock(&rf_budget.lock);
	for (int i = 1; i < RF_HANDLES; i++) {
		const struct rf_handle *h = &rf_budget.handles[i];
		struct rf_shm_handle *out;

		if (h->state == RF_SHM_HANDLE_FREE)
			continue;
		acked += h->acked_bytes;
		out = &shm->handles[count++];
		memcpy(out->name, h->name, sizeof(out->name));
		memcpy(out->client_id, h->client_id, sizeof(out->client_id));
		out->state = h->state;
		out->poller_tid = __atomic_load_n(&h->poller, __ATOMIC_RELAXED);
		out->bytes_held = h->bytes;
		out->msgs_held = h->msgs;
		out->acked_unfreed_bytes = h->acked_bytes;
		out->acked_unfreed_msgs = h->acked_msgs;
		out->last_poll_monotonic_ns = __atomic_load_n(&h->last_poll_ns, __ATOMIC_RELAXED);
		out->produced_msgs = h->produced_msgs;
		out->produced_bytes = h->produced_bytes;
		out->dropped_msgs = h->dropped_msgs;
		out->dropped_bytes = h->dropped_bytes;
	}
	shm->header.sections[RF_SHM_SECTION_HANDLES - 1].count = count;
	shm->stats[RF_STAT_budget_bytes] = rf_budget.charged;
	shm->stats[RF_STAT_budget_bytes_peak] = rf_budget.peak;
	shm->stats[RF_STAT_budget_records] = rf_budget.records;
	shm->stats[RF_STAT_budget_ring_records] = rf_budget.ring.records;
	shm->stats[RF_STAT_budget_acked_unfreed_bytes] = acked + rf_budget.handles[0].acked_bytes;
	shm->stats[RF_STAT_budget_arena_bytes] = rf_budget.arena_size;
	shm->stats[RF_STAT_budget_waiting] = rf_budget.waiting;
	pthread_mutex_unlock(&rf_budget.lock);
}

void rf_budget_fork_child(void)
{
	/* The parent's waiters are not in this process; its lock may be held. */
	pthread_mutex_init(&rf_budget.lock, NULL);
	rf_budget_cond_init();
	rf_budget.head = rf_budget.tail = NULL;
	rf_budget.waiting = 0;
}
