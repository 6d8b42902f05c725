/*
 * rf_kafka_handle.c - the librdkafka producer handles of the process and
 * their topics (rf_kafka_handle.h).
 */
#include "rf_kafka_handle.h"

#include <pthread.h>
#include <string.h>

#include "rf_stats.h"

#define RF_KAFKA_TOPICS 1024

/* Read at every poll, written rarely: a cache line of their own each. */
uint32_t rf_kafka_generation __attribute__((aligned(RF_KAFKA_CACHELINE)));
uint32_t rf_kafka_poll_tick __attribute__((aligned(RF_KAFKA_CACHELINE))) = 1; /* memos start at 0 */
__thread struct rf_kafka_poll_memo rf_kafka_poll_memo __attribute__((tls_model("initial-exec")));

struct rf_kafka_handle rf_kafka_handles[RF_KAFKA_HANDLES]; /* slot 0: unknown handle */
__thread struct rf_kafka_topic_memo rf_kafka_topic_memo __attribute__((tls_model("initial-exec")));

static struct {
	pthread_mutex_t lock; /* opening, naming, closing; the topic table's writers */
	struct {
		const void *rkt; /* atomic */
		int slot;        /* atomic */
	} topics[RF_KAFKA_TOPICS];
	uint32_t topics_used; /* atomic */
} rf_kafka = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

/* in - out of counters written by two sides; out is read first, so never above in. */
static uint64_t rf_kafka_handle_span(const uint64_t *in, const uint64_t *out)
{
	uint64_t o = __atomic_load_n(out, __ATOMIC_ACQUIRE);
	uint64_t i = __atomic_load_n(in, __ATOMIC_ACQUIRE);

	return i > o ? i - o : 0;
}

uint64_t rf_kafka_handle_copied(const struct rf_kafka_handle *h)
{
	return rf_kafka_handle_span(&h->copied_in, &h->copied_out);
}

uint64_t rf_kafka_handle_held(const struct rf_kafka_handle *h)
{
	return rf_kafka_handle_copied(h) + rf_kafka_handle_span(&h->uncopied_in, &h->uncopied_out);
}

uint64_t rf_kafka_handle_acked(const struct rf_kafka_handle *h)
{
	/* unacked_out first: it is added after copied_out, so a release under
	 * way never takes out below the acknowledged bytes released. */
	uint64_t unacked = __atomic_load_n(&h->unacked_out, __ATOMIC_ACQUIRE);
	uint64_t out = __atomic_load_n(&h->copied_out, __ATOMIC_ACQUIRE) - unacked;
	uint64_t in = __atomic_load_n(&h->acked_in, __ATOMIC_ACQUIRE);

	return in > out ? in - out : 0;
}

int rf_kafka_handle_needs_poll(const struct rf_kafka_handle *h)
{
	return __atomic_load_n(&h->state, __ATOMIC_RELAXED) == RF_SHM_HANDLE_OPEN && h->needs_poll;
}

/* Lookups memoised by threads restart; so do the records of polls. */
static void rf_kafka_generation_bump(void)
{
	__atomic_add_fetch(&rf_kafka_generation, 1, __ATOMIC_RELEASE);
	rf_kafka_poll_tick_advance();
}

int rf_kafka_handle_open(void *rk, int needs_poll, pid_t creator_tid)
{
	int slot = RF_KAFKA_SLOT_UNKNOWN, reuse = RF_KAFKA_SLOT_UNKNOWN;

	pthread_mutex_lock(&rf_kafka.lock);
	for (int i = 1; i < RF_KAFKA_HANDLES && slot == RF_KAFKA_SLOT_UNKNOWN; i++) {
		uint32_t state = __atomic_load_n(&rf_kafka_handles[i].state, __ATOMIC_RELAXED);

		if (state == RF_SHM_HANDLE_FREE)
			slot = i;
		else if (state == RF_SHM_HANDLE_DESTROYED && reuse == RF_KAFKA_SLOT_UNKNOWN &&
			 rf_kafka_handle_held(&rf_kafka_handles[i]) == 0)
			reuse = i;
	}
	if (slot == RF_KAFKA_SLOT_UNKNOWN)
		slot = reuse;
	if (slot != RF_KAFKA_SLOT_UNKNOWN) {
		struct rf_kafka_handle *h = &rf_kafka_handles[slot];

		memset(h, 0, sizeof(*h));
		h->rk = rk;
		h->needs_poll = needs_poll;
		h->poller = creator_tid;
		h->pollers[0] = RF_KAFKA_POLLER(creator_tid, 0);
		__atomic_store_n(&h->state, RF_SHM_HANDLE_OPEN, __ATOMIC_RELEASE);
		rf_kafka_generation_bump();
	} else {
		rf_stats_add(RF_STAT_shim_errors, 1);
	}
	pthread_mutex_unlock(&rf_kafka.lock);
	return slot;
}

void rf_kafka_handle_bind(int slot, void *rk)
{
	if (rf_kafka_slot_valid(slot)) {
		__atomic_store_n(&rf_kafka_handles[slot].rk, rk, __ATOMIC_RELEASE);
		rf_kafka_generation_bump();
	}
}

static void rf_copy_name(char *dst, const char *src)
{
	size_t n = src ? strnlen(src, RF_SHM_HANDLE_NAME_MAX - 1) : 0;

	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

void rf_kafka_handle_copies(int slot, size_t copy_limit)
{
	if (rf_kafka_slot_valid(slot))
		rf_kafka_handles[slot].copy_limit = copy_limit;
}

void rf_kafka_handle_name(int slot, const char *name, const char *client_id)
{
	if (!rf_kafka_slot_valid(slot))
		return;
	pthread_mutex_lock(&rf_kafka.lock);
	rf_copy_name(rf_kafka_handles[slot].name, name);
	rf_copy_name(rf_kafka_handles[slot].client_id, client_id);
	pthread_mutex_unlock(&rf_kafka.lock);
}

void rf_kafka_handle_close(int slot)
{
	if (!rf_kafka_slot_valid(slot))
		return;
	pthread_mutex_lock(&rf_kafka.lock);
	__atomic_store_n(&rf_kafka_handles[slot].state, RF_SHM_HANDLE_DESTROYED, __ATOMIC_RELEASE);
	rf_kafka_generation_bump();
	for (uint32_t i = 0; i < rf_kafka.topics_used; i++)
		if (rf_kafka.topics[i].slot == slot)
			__atomic_store_n(&rf_kafka.topics[i].rkt, NULL, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&rf_kafka.lock);
}

int rf_kafka_handle_slot(const void *rk)
{
	/* Polls call this once per message in many applications: a per-thread
	 * answer stays good until a handle opens or closes. Lock-free: a racing
	 * open or close is a harmless miss. */
	static __thread const void *cached_rk __attribute__((tls_model("initial-exec")));
	static __thread int cached_slot __attribute__((tls_model("initial-exec")));
	static __thread uint32_t cached_generation __attribute__((tls_model("initial-exec")));
	uint32_t generation = __atomic_load_n(&rf_kafka_generation, __ATOMIC_ACQUIRE);
	int slot = RF_KAFKA_SLOT_UNKNOWN;

	if (rk == NULL || generation == 0)
		return RF_KAFKA_SLOT_UNKNOWN;
	if (rk == cached_rk && generation == cached_generation)
		return cached_slot;
	for (int i = 1; i < RF_KAFKA_HANDLES; i++)
		if (__atomic_load_n(&rf_kafka_handles[i].rk, __ATOMIC_ACQUIRE) == rk &&
		    __atomic_load_n(&rf_kafka_handles[i].state, __ATOMIC_RELAXED) ==
			    RF_SHM_HANDLE_OPEN) {
			slot = i;
			break;
		}
	cached_rk = rk;
	cached_slot = slot;
	cached_generation = generation;
	return slot;
}

void *rf_kafka_handle_rk(int slot)
{
	const struct rf_kafka_handle *h;

	if (!rf_kafka_slot_valid(slot))
		return NULL;
	h = &rf_kafka_handles[slot];
	return __atomic_load_n(&h->state, __ATOMIC_ACQUIRE) == RF_SHM_HANDLE_OPEN
		       ? __atomic_load_n(&h->rk, __ATOMIC_RELAXED)
		       : NULL;
}

/* The millisecond of a CLOCK_MONOTONIC_COARSE time, as the poller words keep it (wrapping). */
static uint32_t rf_kafka_poll_ms(int64_t ns)
{
	return (uint32_t)((uint64_t)ns / 1000000);
}

/* Whether poller word a should give way before b: empty first, then the one polled longest ago. */
static int rf_kafka_poller_older(uint64_t a, uint64_t b)
{
	if (a == 0 || b == 0)
		return a == 0 && b != 0;
	return (int32_t)(RF_KAFKA_POLLER_MS(a) - RF_KAFKA_POLLER_MS(b)) < 0;
}

void rf_kafka_handle_polled(int slot, pid_t tid, int64_t now_ns)
{
	uint64_t word = RF_KAFKA_POLLER(tid, rf_kafka_poll_ms(now_ns)), victim_word;
	struct rf_kafka_handle *h;
	int mine = 0;

	if (!rf_kafka_slot_valid(slot))
		return;
	h = &rf_kafka_handles[slot];
	/* Write only on change: a poll per message must not bounce a cache line. */
	if (__atomic_load_n(&h->poller, __ATOMIC_RELAXED) != tid)
		__atomic_store_n(&h->poller, tid, __ATOMIC_RELAXED);
	if (__atomic_load_n(&h->last_poll_ns, __ATOMIC_RELAXED) != now_ns)
		__atomic_store_n(&h->last_poll_ns, now_ns, __ATOMIC_RELAXED);
	/* This thread's word, else the one that gives way first. */
	victim_word = __atomic_load_n(&h->pollers[0], __ATOMIC_RELAXED);
	for (int i = 0; i < RF_KAFKA_POLLERS; i++) {
		uint64_t w = __atomic_load_n(&h->pollers[i], __ATOMIC_RELAXED);

		if (RF_KAFKA_POLLER_TID(w) == tid && w != 0) {
			mine = i;
			victim_word = w;
			break;
		}
		if (rf_kafka_poller_older(w, victim_word)) {
			mine = i;
			victim_word = w;
		}
	}
	if (victim_word != word)
		__atomic_store_n(&h->pollers[mine], word, __ATOMIC_RELAXED);
}

void rf_kafka_poll_record(const void *rk, pid_t tid, int64_t now_ns)
{
	struct rf_kafka_poll_memo *memo = &rf_kafka_poll_memo;
	/* Read before the lookup: a tick or a handle change meanwhile records again. */
	uint32_t tick = __atomic_load_n(&rf_kafka_poll_tick, __ATOMIC_ACQUIRE);
	int slot = rf_kafka_handle_slot(rk);

	if (slot == RF_KAFKA_SLOT_UNKNOWN)
		return; /* not a producer handle of ours: looked up again at each poll */
	rf_kafka_handle_polled(slot, tid, now_ns);
	memo->rk = rk;
	memo->tick = tick;
}

int rf_kafka_handle_pollers(const struct rf_kafka_handle *h, int64_t window_ns, pid_t *tids)
{
	uint32_t last = rf_kafka_poll_ms(__atomic_load_n(&h->last_poll_ns, __ATOMIC_RELAXED));
	uint32_t window = rf_kafka_poll_ms(window_ns);
	int n = 0;

	for (int i = 0; i < RF_KAFKA_POLLERS; i++) {
		uint64_t w = __atomic_load_n(&h->pollers[i], __ATOMIC_RELAXED);

		/* Unsigned difference: right across the millisecond count's wrap. */
		if (w != 0 && last - RF_KAFKA_POLLER_MS(w) <= window)
			tids[n++] = RF_KAFKA_POLLER_TID(w);
	}
	return n;
}

void rf_kafka_topic_bind(const void *rkt, int slot)
{
	uint32_t free_i = RF_KAFKA_TOPICS, used;

	if (rkt == NULL)
		return;
	pthread_mutex_lock(&rf_kafka.lock);
	used = rf_kafka.topics_used;
	for (uint32_t i = 0; i < used; i++) {
		if (rf_kafka.topics[i].rkt == rkt) {
			__atomic_store_n(&rf_kafka.topics[i].slot, slot, __ATOMIC_RELEASE);
			rf_kafka_generation_bump();
			pthread_mutex_unlock(&rf_kafka.lock);
			return;
		}
		if (rf_kafka.topics[i].rkt == NULL && free_i == RF_KAFKA_TOPICS)
			free_i = i;
	}
	if (free_i == RF_KAFKA_TOPICS && used < RF_KAFKA_TOPICS)
		free_i = used;
	if (free_i < RF_KAFKA_TOPICS) {
		/* Readers are lock-free: slot first, then the key, then the count. */
		__atomic_store_n(&rf_kafka.topics[free_i].slot, slot, __ATOMIC_RELEASE);
		__atomic_store_n(&rf_kafka.topics[free_i].rkt, rkt, __ATOMIC_RELEASE);
		if (free_i == used)
			__atomic_store_n(&rf_kafka.topics_used, used + 1, __ATOMIC_RELEASE);
		/* A topic object at an address a destroyed one had: memos of it are stale. */
		rf_kafka_generation_bump();
	} else {
		rf_stats_add(RF_STAT_shim_errors, 1);
	}
	pthread_mutex_unlock(&rf_kafka.lock);
}

int rf_kafka_topic_lookup(const void *rkt)
{
	struct rf_kafka_topic_memo *memo = &rf_kafka_topic_memo;
	/* Read first: a bind or a close meanwhile makes the memo stale at once. */
	uint32_t generation = __atomic_load_n(&rf_kafka_generation, __ATOMIC_ACQUIRE);
	uint32_t used = __atomic_load_n(&rf_kafka.topics_used, __ATOMIC_ACQUIRE);
	int slot = RF_KAFKA_SLOT_UNKNOWN;

	if (rkt == NULL)
		return RF_KAFKA_SLOT_UNKNOWN;
	for (uint32_t i = 0; i < used; i++)
		if (__atomic_load_n(&rf_kafka.topics[i].rkt, __ATOMIC_ACQUIRE) == rkt) {
			slot = __atomic_load_n(&rf_kafka.topics[i].slot, __ATOMIC_ACQUIRE);
			break;
		}
	/* A topic of a closed handle belongs to none (its entry is cleared on close). */
	memo->rkt = rkt;
	memo->generation = generation;
	memo->slot = slot;
	return slot;
}

uint32_t rf_kafka_handle_listed(void)
{
	uint32_t listed = 0;

	for (int i = 1; i < RF_KAFKA_HANDLES; i++)
		listed += __atomic_load_n(&rf_kafka_handles[i].state, __ATOMIC_ACQUIRE) !=
			  RF_SHM_HANDLE_FREE;
	return listed;
}

uint32_t rf_kafka_handle_publish(struct rf_shm_handle *out, uint32_t max, uint64_t *acked)
{
	uint32_t count = 0;

	*acked = 0;
	pthread_mutex_lock(&rf_kafka.lock);
	for (int i = 0; i < RF_KAFKA_HANDLES; i++) {
		const struct rf_kafka_handle *h = &rf_kafka_handles[i];
		uint32_t state = __atomic_load_n(&h->state, __ATOMIC_ACQUIRE);
		struct rf_shm_handle *e;

		*acked += rf_kafka_handle_acked(h);
		if (i == 0 || state == RF_SHM_HANDLE_FREE || count == max)
			continue;
		e = &out[count++];
		memcpy(e->name, h->name, sizeof(e->name));
		memcpy(e->client_id, h->client_id, sizeof(e->client_id));
		e->state = state;
		e->poller_tid = __atomic_load_n(&h->poller, __ATOMIC_RELAXED);
		e->bytes_held = rf_kafka_handle_held(h);
		e->acked_unfreed_bytes = rf_kafka_handle_acked(h);
		e->last_poll_monotonic_ns = __atomic_load_n(&h->last_poll_ns, __ATOMIC_RELAXED);
		e->dropped_msgs = __atomic_load_n(&h->dropped_msgs, __ATOMIC_RELAXED);
		e->dropped_bytes = __atomic_load_n(&h->dropped_bytes, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&rf_kafka.lock);
	return count;
}

void rf_kafka_handle_fork_child(void)
{
	pthread_mutex_init(&rf_kafka.lock, NULL);
}
