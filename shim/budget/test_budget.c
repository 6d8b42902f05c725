/*
 * test_budget.c - the budget core without librdkafka: charging and giving
 * back, every policy, the refusals that keep waits from deadlocking, the
 * free-during-call race, first come first served, and the figures.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "rf_budget.h"
#include "rf_kafka_handle.h"
#include "rf_config.h"
#include "rf_arena.h"
#include "rf_stats.h"
#include "rf_test.h"
#include "rf_time.h"

static struct rf_shm_config rf_config;

static void rf_setup(const char *budget, enum rf_policy policy, const char *timeout,
		     rf_budget_purge_fn purge)
{
	char err[256];

	rf_config_defaults(&rf_config);
	RF_CHECK_INT(rf_config_set(&rf_config, "RINGFENCE_BUDGET", budget, err, sizeof(err)), 0);
	RF_CHECK_INT(
		rf_config_set(&rf_config, "RINGFENCE_BLOCK_TIMEOUT", timeout, err, sizeof(err)), 0);
	rf_config.policy = policy;
	rf_budget_setup(&rf_config, 0, purge);
}

static uint64_t rf_stat(enum rf_stat stat)
{
	uint64_t v[RF_STAT__COUNT];

	rf_stats_snapshot(v);
	return v[stat];
}

/* The gauges and the handle table as the publisher writes them, with heap_live_bytes. */
static struct rf_shm_layout *rf_publish_heap(uint64_t heap_live)
{
	static struct rf_shm_layout shm;
	static struct rf_publication pub;
	struct rf_segment seg;

	memset(&shm, 0, sizeof(shm));
	rf_segment_attach_memory(&seg, &shm);
	rf_publication_begin(&pub, &seg, NULL, false);
	rf_publication_set(&pub, RF_STAT_heap_live_bytes, heap_live); /* the heap's publisher */
	rf_budget_publish(&pub);
	rf_publication_end(&pub);
	return &shm;
}

static struct rf_shm_layout *rf_publish(void)
{
	return rf_publish_heap(0);
}

static int64_t rf_ms(void)
{
	return rf_clock_ns(CLOCK_MONOTONIC) / 1000000;
}

static struct rf_budget_msg rf_msg(int slot, size_t len, int copy)
{
	return (struct rf_budget_msg){
		.slot = slot, .len = len, .extra = rf_budget_msg_extra(3, 0, 0), .copy = copy};
}

RF_TEST(copied_message_lifecycle)
{
	struct rf_budget_msg m = rf_msg(RF_KAFKA_SLOT_UNKNOWN, 1000, 1);
	struct rf_shm_layout *shm;

	rf_setup("1M", RF_POLICY_BLOCK, "1s", NULL);
	RF_CHECK_INT(rf_budget_admit(&m), 0);
	RF_CHECK(m.payload != NULL);
	RF_CHECK(rf_budget_owns(m.payload));
	RF_CHECK(!rf_budget_owns(&m));
	RF_CHECK_INT(rf_budget_payload_size(m.payload), 1000);
	RF_CHECK_INT(m.charge, rf_arena_record_size(1000) + RF_BUDGET_MSG_OVERHEAD + 3);
	shm = rf_publish();
	RF_CHECK_INT(shm->stats[RF_STAT_budget_bytes], m.charge);
	RF_CHECK_INT(shm->stats[RF_STAT_budget_records], 1);
	RF_CHECK_INT(shm->stats[RF_STAT_budget_arena_bytes], 1024 * 1024);
	RF_CHECK_INT(rf_budget_settle(&m, 1), 0);
	/* librdkafka acknowledges, then frees (rd_kafka_msg_destroy). */
	rf_budget_ack(RF_KAFKA_SLOT_UNKNOWN, m.payload, 1000, 0, 0, 0);
	RF_CHECK_INT(rf_publish()->stats[RF_STAT_budget_acked_unfreed_bytes], m.charge);
	rf_budget_free(m.payload);
	shm = rf_publish();
	RF_CHECK_INT(shm->stats[RF_STAT_budget_bytes], 0);
	RF_CHECK_INT(shm->stats[RF_STAT_budget_acked_unfreed_bytes], 0);
	RF_CHECK_INT(shm->stats[RF_STAT_budget_records], 0);
	RF_CHECK_INT(shm->stats[RF_STAT_budget_bytes_peak], m.charge);
	RF_CHECK_INT(shm->stats[RF_STAT_budget_nowait], 1);
	/* A second free of the same payload is counted, never credited twice. */
	rf_budget_free(m.payload);
	RF_CHECK_INT(rf_stat(RF_STAT_shim_errors), 1);
	RF_CHECK_INT(rf_publish()->stats[RF_STAT_budget_bytes], 0);
}

RF_TEST(uncopied_message_released_at_ack)
{
	struct rf_budget_msg m = rf_msg(RF_KAFKA_SLOT_UNKNOWN, 500, 0);

	rf_setup("1M", RF_POLICY_BLOCK, "1s", NULL);
	RF_CHECK_INT(rf_budget_admit(&m), 0);
	RF_CHECK(m.payload == NULL);
	RF_CHECK_INT(m.charge, 500 + RF_BUDGET_MSG_OVERHEAD + 3);
	RF_CHECK_INT(rf_budget_settle(&m, 1), 0);
	RF_CHECK_INT(rf_publish()->stats[RF_STAT_budget_bytes], m.charge);
	/* An ack during the producing call (a refused message unrolled) is the settle's. */
	rf_budget_ack(RF_KAFKA_SLOT_UNKNOWN, &m, 500, m.extra, 0, 1);
	RF_CHECK_INT(rf_publish()->stats[RF_STAT_budget_bytes], m.charge);
	rf_budget_ack(RF_KAFKA_SLOT_UNKNOWN, &m, 500, m.extra, 0, 0);
	RF_CHECK_INT(rf_publish()->stats[RF_STAT_budget_bytes], 0);
}

RF_TEST(refused_call_gives_charge_back)
{
	struct rf_budget_msg a = rf_msg(RF_KAFKA_SLOT_UNKNOWN, 100, 1);
	struct rf_budget_msg b = rf_msg(RF_KAFKA_SLOT_UNKNOWN, 100, 0);

	rf_setup("1M", RF_POLICY_BLOCK, "1s", NULL);
	RF_CHECK_INT(rf_budget_admit(&a), 0);
	RF_CHECK_INT(rf_budget_admit(&b), 0);
	RF_CHECK_INT(rf_budget_settle(&a, 0), 0);
	RF_CHECK_INT(rf_budget_settle(&b, 0), 0);
	RF_CHECK_INT(rf_publish()->stats[RF_STAT_budget_bytes], 0);
	/* a's copy left without an acknowledgement: the next one's still counts whole. */
	a = rf_msg(RF_KAFKA_SLOT_UNKNOWN, 100, 1);
	RF_CHECK_INT(rf_budget_admit(&a), 0);
	RF_CHECK_INT(rf_budget_settle(&a, 1), 0);
	rf_budget_ack(RF_KAFKA_SLOT_UNKNOWN, a.payload, 100, 0, 0, 0);
	RF_CHECK_INT(rf_publish()->stats[RF_STAT_budget_acked_unfreed_bytes], a.charge);
	rf_budget_free(a.payload);
	RF_CHECK_INT(rf_publish()->stats[RF_STAT_budget_acked_unfreed_bytes], 0);
	RF_CHECK_INT(rf_publish()->stats[RF_STAT_budget_bytes], 0);
}

/* librdkafka may free a payload before the produce call returns. */
RF_TEST(freed_during_call_is_credited_once)
{
	struct rf_budget_msg m = rf_msg(RF_KAFKA_SLOT_UNKNOWN, 100, 1);

	rf_setup("1M", RF_POLICY_BLOCK, "1s", NULL);
	/* Delivered and freed by a broker thread first: accepted. */
	RF_CHECK_INT(rf_budget_admit(&m), 0);
	rf_budget_ack(RF_KAFKA_SLOT_UNKNOWN, m.payload, 100, 0, 0, 0);
	rf_budget_free(m.payload);
	RF_CHECK(rf_publish()->stats[RF_STAT_budget_bytes] != 0); /* not yet: the call is open */
	RF_CHECK_INT(rf_budget_settle(&m, 1), 1);
	RF_CHECK_INT(rf_publish()->stats[RF_STAT_budget_bytes], 0);
	RF_CHECK_INT(rf_publish()->stats[RF_STAT_budget_acked_unfreed_bytes], 0);
	/* 2.0.2's produce_batch quirk: a refused message freed with F_FREE still set. */
	m = rf_msg(RF_KAFKA_SLOT_UNKNOWN, 100, 1);
	RF_CHECK_INT(rf_budget_admit(&m), 0);
	rf_budget_ack(RF_KAFKA_SLOT_UNKNOWN, m.payload, 100, 0, 0, 1);
	rf_budget_free(m.payload);
	RF_CHECK_INT(rf_budget_settle(&m, 0), 1);
	RF_CHECK_INT(rf_publish()->stats[RF_STAT_budget_bytes], 0);
	RF_CHECK_INT(rf_publish()->stats[RF_STAT_budget_acked_unfreed_bytes], 0);
	RF_CHECK_INT(rf_stat(RF_STAT_shim_errors), 0);
}

RF_TEST(oversized_fails_at_once)
{
	struct rf_budget_msg m = rf_msg(RF_KAFKA_SLOT_UNKNOWN, 70 * 1024, 1);

	rf_setup("64K", RF_POLICY_BLOCK, "10s", NULL);
	RF_CHECK_INT(rf_budget_admit(&m), -EMSGSIZE);
	RF_CHECK_INT(rf_stat(RF_STAT_budget_oversized), 1);
	RF_CHECK_INT(rf_stat(RF_STAT_budget_waits), 0);
}

/* Fill the budget with copied messages of a handle; returns how many. */
static int rf_fill_as(int slot, struct rf_budget_msg *msgs, int max, int copy)
{
	int n = 0;

	for (; n < max; n++) {
		msgs[n] = rf_msg(slot, 1000, copy);
		if (rf_budget_admit(&msgs[n]) != 0)
			break;
		rf_budget_settle(&msgs[n], 1);
	}
	return n;
}

static int rf_fill(int slot, struct rf_budget_msg *msgs, int max)
{
	return rf_fill_as(slot, msgs, max, 1);
}

RF_TEST(fail_policy_refuses_at_once)
{
	struct rf_budget_msg msgs[200], extra = rf_msg(RF_KAFKA_SLOT_UNKNOWN, 1000, 1);
	int n;

	rf_setup("64K", RF_POLICY_FAIL, "10s", NULL);
	n = rf_fill(RF_KAFKA_SLOT_UNKNOWN, msgs, 200);
	RF_CHECK(n > 40 && n < 64);
	RF_CHECK_INT(rf_stat(RF_STAT_budget_rejected), 1);
	RF_CHECK(rf_publish()->stats[RF_STAT_budget_bytes_peak] <= 64 * 1024);
	rf_budget_free(msgs[0].payload);
	RF_CHECK_INT(rf_budget_admit(&extra), 0);
	RF_CHECK_INT(rf_stat(RF_STAT_budget_waits), 0);
}

RF_TEST(block_policy_times_out)
{
	struct rf_budget_msg msgs[200], extra = rf_msg(RF_KAFKA_SLOT_UNKNOWN, 1000, 1);
	int64_t t0;

	rf_setup("64K", RF_POLICY_BLOCK, "300ms", NULL);
	rf_fill(RF_KAFKA_SLOT_UNKNOWN, msgs, 200); /* the last one waited 300 ms already */
	RF_CHECK_INT(rf_stat(RF_STAT_budget_timeouts), 1);
	t0 = rf_ms();
	RF_CHECK_INT(rf_budget_admit(&extra), -ENOBUFS);
	RF_CHECK(rf_ms() - t0 >= 290);
	RF_CHECK(rf_ms() - t0 < 2000);
	RF_CHECK_INT(rf_stat(RF_STAT_budget_timeouts), 2);
	RF_CHECK(rf_stat(RF_STAT_budget_wait_ns) >= 2 * 290 * 1000000ULL);
}

struct rf_freer {
	void *payload;
	int delay_ms;
};

static void *rf_freer_run(void *arg)
{
	struct rf_freer *f = arg;
	struct timespec ts = {0, (long)f->delay_ms * 1000000};

	nanosleep(&ts, NULL);
	rf_budget_free(f->payload);
	return NULL;
}

RF_TEST(block_policy_waits_for_a_release)
{
	struct rf_budget_msg msgs[200], extra = rf_msg(RF_KAFKA_SLOT_UNKNOWN, 1000, 1);
	struct rf_freer f;
	pthread_t tid;
	int64_t t0;
	int n;

	rf_setup("64K", RF_POLICY_FAIL, "10s", NULL);
	n = rf_fill(RF_KAFKA_SLOT_UNKNOWN, msgs, 200);
	rf_config.policy = RF_POLICY_BLOCK;
	rf_budget_setup(&rf_config, 0, NULL);
	/* Another thread gives a payload back after 200 ms: the waiter gets its space. */
	f = (struct rf_freer){msgs[n / 2].payload, 200};
	pthread_create(&tid, NULL, rf_freer_run, &f);
	t0 = rf_ms();
	RF_CHECK_INT(rf_budget_admit(&extra), 0);
	RF_CHECK(rf_ms() - t0 >= 190);
	RF_CHECK(extra.waited);
	pthread_join(tid, NULL);
	RF_CHECK_INT(rf_stat(RF_STAT_budget_waits), 1);
	RF_CHECK_INT(rf_stat(RF_STAT_budget_timeouts), 0);
}

/*
 * The single-threaded produce-then-poll loop: the budget is held by the
 * handle whose reports only this (waiting) thread would serve: refused at
 * once, not after the block timeout.
 */
RF_TEST(wait_on_own_reports_is_refused_at_once)
{
	struct rf_budget_msg msgs[200], extra;
	int slot, n;
	int64_t t0;

	rf_setup("64K", RF_POLICY_BLOCK, "10s", NULL);
	slot = rf_kafka_handle_open((void *)0x1000, 1, gettid());
	n = rf_fill(slot, msgs, 200); /* waited on the last one: refused at once too */
	RF_CHECK(n > 40);
	extra = rf_msg(slot, 1000, 1);
	t0 = rf_ms();
	RF_CHECK_INT(rf_budget_admit(&extra), -ENOBUFS);
	RF_CHECK(rf_ms() - t0 < 1000);
	RF_CHECK_INT(rf_stat(RF_STAT_budget_self_refusals), 2);
	RF_CHECK_INT(rf_stat(RF_STAT_budget_timeouts), 0);
}

/* librdkafka acknowledges messages on its own threads, as a broker answers. */
struct rf_acker {
	int slot;
	struct rf_budget_msg *msgs;
	int n;
	int delay_ms;
};

static void *rf_acker_main(void *arg)
{
	struct rf_acker *a = arg;
	struct timespec ts = {0, (long)a->delay_ms * 1000000};

	nanosleep(&ts, NULL);
	for (int i = 0; i < a->n; i++)
		rf_budget_ack(a->slot, &a->msgs[i], a->msgs[i].len, a->msgs[i].extra, 0, 0);
	return NULL;
}

/*
 * The same loop with uncopied messages (no payload flag): their charge comes
 * back when librdkafka acknowledges them, with no poll, so the wait is not
 * hopeless and lasts until the acknowledgements come.
 */
RF_TEST(wait_on_own_uncopied_messages_lasts_until_their_acks)
{
	struct rf_budget_msg msgs[200], extra;
	struct rf_acker acker;
	pthread_t tid;
	int slot, n;
	int64_t t0;

	rf_setup("64K", RF_POLICY_FAIL, "10s", NULL);
	slot = rf_kafka_handle_open((void *)0x1000, 1, gettid());
	n = rf_fill_as(slot, msgs, 200, 0);
	RF_CHECK(n > 40);
	rf_config.policy = RF_POLICY_BLOCK;
	rf_budget_setup(&rf_config, 0, NULL);
	acker = (struct rf_acker){.slot = slot, .msgs = msgs, .n = 4, .delay_ms = 200};
	pthread_create(&tid, NULL, rf_acker_main, &acker);
	extra = rf_msg(slot, 1000, 0);
	t0 = rf_ms();
	RF_CHECK_INT(rf_budget_admit(&extra), 0);
	RF_CHECK(rf_ms() - t0 >= 190);
	RF_CHECK(extra.waited);
	RF_CHECK_INT(rf_stat(RF_STAT_budget_self_refusals), 0);
	pthread_join(tid, NULL);
}

/* Without delivery reports librdkafka frees on its own threads: worth waiting. */
RF_TEST(wait_on_handle_without_reports_times_out)
{
	struct rf_budget_msg msgs[200], extra;
	int slot;

	rf_setup("64K", RF_POLICY_BLOCK, "200ms", NULL);
	slot = rf_kafka_handle_open((void *)0x1000, 0, gettid());
	rf_fill(slot, msgs, 200);
	extra = rf_msg(slot, 1000, 1);
	RF_CHECK_INT(rf_budget_admit(&extra), -ENOBUFS);
	RF_CHECK_INT(rf_stat(RF_STAT_budget_self_refusals), 0);
	RF_CHECK_INT(rf_stat(RF_STAT_budget_timeouts), 2);
}

RF_TEST(wait_on_reports_of_an_ended_poller_is_refused_at_once)
{
	const pid_t gone = 0x3ffffff0; /* above pid_max: no such thread */
	struct rf_budget_msg msgs[200], extra;
	int slot;
	int64_t t0;

	rf_setup("64K", RF_POLICY_BLOCK, "10s", NULL);
	slot = rf_kafka_handle_open((void *)0x2000, 1, gone);
	rf_kafka_handle_polled(slot, gone, 1);
	rf_fill(slot, msgs, 200);
	extra = rf_msg(RF_KAFKA_SLOT_UNKNOWN, 1000, 1);
	t0 = rf_ms();
	RF_CHECK_INT(rf_budget_admit(&extra), -ENOBUFS);
	RF_CHECK(rf_ms() - t0 < 1000);
	RF_CHECK(rf_stat(RF_STAT_budget_self_refusals) >= 1);
}

static void *rf_idle_main(void *arg)
{
	struct timespec ts = {3, 0};

	nanosleep(&ts, NULL); /* alive, never polls: a poller stuck behind the waiter */
	return arg;
}

static pid_t rf_idle_tid;

static void *rf_idle_start(void *arg)
{
	__atomic_store_n(&rf_idle_tid, gettid(), __ATOMIC_RELEASE);
	return rf_idle_main(arg);
}

RF_TEST(wait_on_reports_nobody_serves_is_refused_soon)
{
	struct rf_budget_msg msgs[200], extra;
	pthread_t idle;
	int slot, n;
	int64_t t0;

	rf_setup("64K", RF_POLICY_FAIL, "10s", NULL);
	pthread_create(&idle, NULL, rf_idle_start, NULL);
	while (__atomic_load_n(&rf_idle_tid, __ATOMIC_ACQUIRE) == 0)
		;
	slot = rf_kafka_handle_open((void *)0x2000, 1, rf_idle_tid);
	rf_kafka_handle_polled(slot, rf_idle_tid, 1); /* polled once, long ago */
	n = rf_fill(slot, msgs, 200);
	for (int i = 0; i < n; i++) /* all delivered: the reports wait for a poll */
		rf_budget_ack(slot, msgs[i].payload, msgs[i].len, 0, 0, 0);
	rf_config.policy = RF_POLICY_BLOCK;
	rf_budget_setup(&rf_config, 0, NULL);
	extra = rf_msg(RF_KAFKA_SLOT_UNKNOWN, 1000, 1);
	t0 = rf_ms();
	RF_CHECK_INT(rf_budget_admit(&extra), -ENOBUFS);
	RF_CHECK(rf_ms() - t0 < 2000);
	RF_CHECK_INT(rf_stat(RF_STAT_budget_self_refusals), 1);
	RF_CHECK_INT(rf_stat(RF_STAT_budget_timeouts), 0);
	pthread_join(idle, NULL);
}

struct rf_waiter_run {
	size_t len;   /* of its message; 0: 20 KB */
	int uncopied; /* its message is not copied */
	int result;
	int done;  /* atomic */
	pid_t tid; /* atomic */
};

static void *rf_waiter_main(void *arg)
{
	struct rf_waiter_run *w = arg;
	struct rf_budget_msg m =
		rf_msg(RF_KAFKA_SLOT_UNKNOWN, w->len != 0 ? w->len : 20 * 1000, !w->uncopied);

	__atomic_store_n(&w->tid, gettid(), __ATOMIC_RELEASE);
	w->result = rf_budget_admit(&m);
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void rf_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* The waiting thread's id, once it started. */
static pid_t rf_waiter_tid(struct rf_waiter_run *w)
{
	while (__atomic_load_n(&w->tid, __ATOMIC_ACQUIRE) == 0)
		rf_sleep_ms(1);
	return w->tid;
}

/*
 * A thread that polls a handle once (after delay_ms), serves nserve of its
 * reports (frees their payloads), then stays alive until *stop, as a Go
 * runtime thread does (they never end).
 */
struct rf_poller_run {
	int slot;
	int delay_ms;
	struct rf_budget_msg *serve;
	int nserve;
	int polled; /* atomic */
	int *stop;  /* atomic */
};

static void *rf_poller_main(void *arg)
{
	struct rf_poller_run *p = arg;
	struct timespec ts = {p->delay_ms / 1000, (long)(p->delay_ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
	rf_kafka_handle_polled(p->slot, gettid(), rf_clock_ns(CLOCK_MONOTONIC_COARSE));
	for (int i = 0; i < p->nserve; i++)
		rf_budget_free(p->serve[i].payload);
	__atomic_store_n(&p->polled, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(p->stop, __ATOMIC_ACQUIRE)) {
		struct timespec tick = {0, 10 * 1000000};
		nanosleep(&tick, NULL);
	}
	return NULL;
}

/* Fill the budget with slot's messages, all acknowledged: their reports wait for a poll. */
static int rf_fill_acked(int slot, struct rf_budget_msg *msgs, int max)
{
	int n = rf_fill(slot, msgs, max);

	for (int i = 0; i < n; i++)
		rf_budget_ack(slot, msgs[i].payload, msgs[i].len, 0, 0, 0);
	return n;
}

/*
 * A caller that polled its handle lately and does not ask to block, while
 * the handle's reports are ready: refused at once even though another thread
 * polled lately and is free (Go's poll goroutine hopping to another thread,
 * a pool where every producer also polls, a main thread polling every handle
 * in turn). Waiting would hold back reports the caller serves itself: in a
 * pool of such threads all end up waiting on each other and the budget's
 * throughput falls to a third (test-apps/bench/budget_overload.sh, 100 B).
 * Refused, it polls and retries, as when librdkafka's queue is full. The
 * same call with RD_KAFKA_MSG_F_BLOCK waits (Go's ProduceChannel).
 */
RF_TEST(poller_with_ready_reports_is_refused_unless_blocking)
{
	struct rf_budget_msg msgs[200], extra;
	struct rf_poller_run before = {0}, after = {0};
	pthread_t t1, t2;
	int slot, stop = 0;
	int64_t t0;

	rf_setup("64K", RF_POLICY_FAIL, "10s", NULL);
	slot = rf_kafka_handle_open((void *)0x7000, 1, gettid());
	rf_fill_acked(slot, msgs, 200);
	before = (struct rf_poller_run){.slot = slot, .stop = &stop};
	pthread_create(&t1, NULL, rf_poller_main, &before);
	while (!__atomic_load_n(&before.polled, __ATOMIC_ACQUIRE))
		rf_sleep_ms(1);
	/* The poll moves to this thread, then on: it will come from a third one. */
	rf_kafka_handle_polled(slot, gettid(), rf_clock_ns(CLOCK_MONOTONIC_COARSE));
	/* Set up before the next poller starts: setup is a start-up call. */
	rf_config.policy = RF_POLICY_BLOCK;
	rf_budget_setup(&rf_config, 0, NULL);
	after = (struct rf_poller_run){
		.slot = slot, .delay_ms = 100, .serve = msgs, .nserve = 24, .stop = &stop};
	pthread_create(&t2, NULL, rf_poller_main, &after);
	extra = rf_msg(slot, 1000, 1);
	t0 = rf_ms();
	RF_CHECK_INT(rf_budget_admit(&extra), -ENOBUFS);
	RF_CHECK(rf_ms() - t0 < 100); /* before the other thread's poll */
	RF_CHECK_INT(rf_stat(RF_STAT_budget_self_refusals), 1);
	extra = rf_msg(slot, 1000, 1);
	extra.block = 1;
	RF_CHECK_INT(rf_budget_admit(&extra), 0);
	RF_CHECK(extra.waited);
	RF_CHECK_INT(rf_stat(RF_STAT_budget_self_refusals), 1);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
}

/*
 * Threads that each produce and poll one handle, all waiting: only a
 * waiter's poll would serve the reports. The last to come is refused at
 * once, whoever polled last.
 */
RF_TEST(wait_on_reports_only_waiters_serve_is_refused_at_once)
{
	struct rf_budget_msg msgs[200], extra;
	struct rf_waiter_run w = {0};
	pthread_t other;
	int slot;
	int64_t t0;

	rf_setup("64K", RF_POLICY_FAIL, "10s", NULL);
	slot = rf_kafka_handle_open((void *)0x7000, 1, gettid());
	rf_fill(slot, msgs, 200); /* in flight: the other waiter's wait is not hopeless */
	rf_config.policy = RF_POLICY_BLOCK;
	rf_budget_setup(&rf_config, 0, NULL);
	pthread_create(&other, NULL, rf_waiter_main, &w);
	rf_sleep_ms(100);
	RF_CHECK_INT(rf_publish()->stats[RF_STAT_budget_waiting], 1);
	/* Both polled the handle; the waiting one last. */
	rf_kafka_handle_polled(slot, gettid(), rf_clock_ns(CLOCK_MONOTONIC_COARSE));
	rf_kafka_handle_polled(slot, rf_waiter_tid(&w), rf_clock_ns(CLOCK_MONOTONIC_COARSE));
	for (int i = 0; i < 200 && msgs[i].payload != NULL; i++)
		rf_budget_ack(slot, msgs[i].payload, msgs[i].len, 0, 0, 0);
	extra = rf_msg(slot, 1000, 1);
	t0 = rf_ms();
	RF_CHECK_INT(rf_budget_admit(&extra), -ENOBUFS);
	RF_CHECK(rf_ms() - t0 < 300);
	RF_CHECK(rf_stat(RF_STAT_budget_self_refusals) >= 1);
	for (int i = 0; i < 200 && msgs[i].payload != NULL; i++)
		rf_budget_free(msgs[i].payload);
	pthread_join(other, NULL);
}

/*
 * RD_KAFKA_MSG_F_BLOCK: librdkafka blocks such a call until its queue has
 * room, however long. Only this thread has polled the handle so far, and
 * another one polls while it waits (Go's ProduceChannel: the producing
 * goroutine blocks, the polling one goes on from another thread): waited,
 * not refused.
 */
RF_TEST(blocking_caller_waits_while_another_thread_polls)
{
	struct rf_budget_msg msgs[200], extra;
	struct rf_poller_run after = {0};
	pthread_t t;
	int slot, stop = 0;

	rf_setup("64K", RF_POLICY_FAIL, "10s", NULL);
	slot = rf_kafka_handle_open((void *)0x7000, 1, gettid());
	rf_fill_acked(slot, msgs, 200);
	rf_kafka_handle_polled(slot, gettid(), rf_clock_ns(CLOCK_MONOTONIC_COARSE));
	rf_config.policy = RF_POLICY_BLOCK;
	rf_budget_setup(&rf_config, 0, NULL);
	after = (struct rf_poller_run){
		.slot = slot, .delay_ms = 100, .serve = msgs, .nserve = 24, .stop = &stop};
	pthread_create(&t, NULL, rf_poller_main, &after);
	extra = rf_msg(slot, 1000, 1);
	extra.block = 1;
	RF_CHECK_INT(rf_budget_admit(&extra), 0);
	RF_CHECK(extra.waited);
	RF_CHECK_INT(rf_stat(RF_STAT_budget_self_refusals), 0);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
}

/* A blocking caller whose reports nobody serves: refused once they stay unserved. */
RF_TEST(blocking_caller_nobody_serves_is_refused_soon)
{
	struct rf_budget_msg msgs[200], extra;
	int slot;
	int64_t t0;

	rf_setup("64K", RF_POLICY_FAIL, "10s", NULL);
	slot = rf_kafka_handle_open((void *)0x7000, 1, gettid());
	rf_fill_acked(slot, msgs, 200);
	rf_kafka_handle_polled(slot, gettid(), rf_clock_ns(CLOCK_MONOTONIC_COARSE));
	rf_config.policy = RF_POLICY_BLOCK;
	rf_budget_setup(&rf_config, 0, NULL);
	extra = rf_msg(slot, 1000, 1);
	extra.block = 1;
	t0 = rf_ms();
	RF_CHECK_INT(rf_budget_admit(&extra), -ENOBUFS);
	RF_CHECK(rf_ms() - t0 >= 400);
	RF_CHECK(rf_ms() - t0 < 2000);
	RF_CHECK_INT(rf_stat(RF_STAT_budget_self_refusals), 1);
	RF_CHECK_INT(rf_stat(RF_STAT_budget_timeouts), 0);
}

/* Two waiters: space for one goes to the one that came first. */
RF_TEST(waiters_served_first_come_first_served)
{
	struct rf_budget_msg msgs[200];
	struct rf_waiter_run w[2] = {{0}};
	pthread_t tid[2];
	int n, i = 0;

	rf_setup("64K", RF_POLICY_FAIL, "10s", NULL);
	n = rf_fill(RF_KAFKA_SLOT_UNKNOWN, msgs, 200);
	rf_config.policy = RF_POLICY_BLOCK;
	rf_budget_setup(&rf_config, 0, NULL);
	pthread_create(&tid[0], NULL, rf_waiter_main, &w[0]);
	rf_sleep_ms(100); /* the first is queued before the second comes */
	pthread_create(&tid[1], NULL, rf_waiter_main, &w[1]);
	rf_sleep_ms(100);
	RF_CHECK_INT(rf_publish()->stats[RF_STAT_budget_waiting], 2);
	/* Give back the first six 4 KiB chunks (four records each): room for one
	 * 20 KB record (a span of five chunks), not for two. */
	for (; i < 24; i++)
		rf_budget_free(msgs[i].payload);
	rf_sleep_ms(300);
	RF_CHECK_INT(__atomic_load_n(&w[0].done, __ATOMIC_ACQUIRE), 1);
	RF_CHECK_INT(__atomic_load_n(&w[1].done, __ATOMIC_ACQUIRE), 0);
	for (; i < n; i++)
		rf_budget_free(msgs[i].payload);
	for (int k = 0; k < 2; k++)
		pthread_join(tid[k], NULL);
	RF_CHECK_INT(w[0].result, 0);
	RF_CHECK_INT(w[1].result, 0);
}

/*
 * A waiter behind the head takes as soon as its message fits with the
 * head's kept free, not before: a stream of small messages never starves a
 * large one at the head.
 */
RF_TEST(waiter_behind_the_head_keeps_the_heads_room)
{
	struct rf_budget_msg msgs[200];
	struct rf_waiter_run big = {.len = 20 * 1000, .uncopied = 1};
	struct rf_waiter_run small = {.len = 1000, .uncopied = 1};
	pthread_t tid[2];
	int n, i = 0;

	rf_setup("64K", RF_POLICY_FAIL, "10s", NULL);
	n = rf_fill_as(RF_KAFKA_SLOT_UNKNOWN, msgs, 200, 0);
	rf_config.policy = RF_POLICY_BLOCK;
	rf_budget_setup(&rf_config, 0, NULL);
	pthread_create(&tid[0], NULL, rf_waiter_main, &big);
	rf_sleep_ms(100);
	pthread_create(&tid[1], NULL, rf_waiter_main, &small);
	rf_sleep_ms(100);
	RF_CHECK_INT(rf_publish()->stats[RF_STAT_budget_waiting], 2);
	/* Room for the small one, not for both: both wait. */
	for (; i < 10; i++)
		rf_budget_ack(RF_KAFKA_SLOT_UNKNOWN, &msgs[i], msgs[i].len, msgs[i].extra, 0, 0);
	rf_sleep_ms(150);
	RF_CHECK_INT(__atomic_load_n(&big.done, __ATOMIC_ACQUIRE), 0);
	RF_CHECK_INT(__atomic_load_n(&small.done, __ATOMIC_ACQUIRE), 0);
	/* Room for both. */
	for (; i < 25; i++)
		rf_budget_ack(RF_KAFKA_SLOT_UNKNOWN, &msgs[i], msgs[i].len, msgs[i].extra, 0, 0);
	for (int k = 0; k < 2; k++)
		pthread_join(tid[k], NULL);
	RF_CHECK_INT(big.result, 0);
	RF_CHECK_INT(small.result, 0);
	for (; i < n; i++)
		rf_budget_ack(RF_KAFKA_SLOT_UNKNOWN, &msgs[i], msgs[i].len, msgs[i].extra, 0, 0);
	RF_CHECK_INT(rf_publish()->stats[RF_STAT_budget_bytes],
		     20 * 1000 + 1000 + 2 * msgs[0].extra);
}

/*
 * While threads wait: how long the first has waited, and how much the heap
 * grew since they began (the program's own queue, typically), measured from
 * the last publish with nobody waiting.
 */
RF_TEST(waiting_figures)
{
	struct rf_budget_msg msgs[200];
	struct rf_waiter_run w[2] = {{0}};
	struct rf_shm_layout *shm;
	pthread_t tid[2];
	int n;

	rf_setup("64K", RF_POLICY_FAIL, "10s", NULL);
	n = rf_fill(RF_KAFKA_SLOT_UNKNOWN, msgs, 200);
	rf_config.policy = RF_POLICY_BLOCK;
	rf_budget_setup(&rf_config, 0, NULL);
	shm = rf_publish_heap(1000000); /* nobody waits: the calm figure */
	RF_CHECK_INT(shm->stats[RF_STAT_budget_waiting_longest_ns], 0);
	RF_CHECK_INT(shm->stats[RF_STAT_budget_waiting_heap_growth_bytes], 0);
	pthread_create(&tid[0], NULL, rf_waiter_main, &w[0]);
	rf_sleep_ms(200);
	pthread_create(&tid[1], NULL, rf_waiter_main, &w[1]);
	rf_sleep_ms(50);
	shm = rf_publish_heap(5000000);
	RF_CHECK_INT(shm->stats[RF_STAT_budget_waiting], 2);
	RF_CHECK(shm->stats[RF_STAT_budget_waiting_longest_ns] >= 240 * 1000000ULL);
	RF_CHECK(shm->stats[RF_STAT_budget_waiting_longest_ns] < 2000 * 1000000ULL);
	RF_CHECK_INT(shm->stats[RF_STAT_budget_waiting_heap_growth_bytes], 4000000);
	/* The heap shrinking back below the calm figure is no growth. */
	RF_CHECK_INT(rf_publish_heap(900000)->stats[RF_STAT_budget_waiting_heap_growth_bytes], 0);
	for (int i = 0; i < n; i++)
		rf_budget_free(msgs[i].payload);
	for (int k = 0; k < 2; k++)
		pthread_join(tid[k], NULL);
	shm = rf_publish_heap(7000000);
	RF_CHECK_INT(shm->stats[RF_STAT_budget_waiting], 0);
	RF_CHECK_INT(shm->stats[RF_STAT_budget_waiting_longest_ns], 0);
	RF_CHECK_INT(shm->stats[RF_STAT_budget_waiting_heap_growth_bytes], 0);
}

/* Admission under `block` as a cancelled application thread sees it. */
static void *rf_cancelled_main(void *arg)
{
	struct rf_waiter_run *w = arg;

	rf_waiter_main(w);
	pthread_testcancel(); /* the application's next cancellation point */
	return NULL;
}

/* Run fn on a thread and fail, rather than hang, when it takes over 5 s. */
static void *rf_within_5s(void *(*fn)(void *), void *arg, const char *what)
{
	struct timespec limit;
	void *ret = NULL;
	pthread_t tid;

	RF_CHECK_INT(pthread_create(&tid, NULL, fn, arg), 0);
	clock_gettime(CLOCK_REALTIME, &limit);
	limit.tv_sec += 5;
	if (pthread_timedjoin_np(tid, &ret, &limit) != 0) {
		printf("# %s: not done within 5 s\n", what);
		fflush(stdout);
		exit(1);
	}
	return ret;
}

struct rf_fill_run {
	struct rf_budget_msg *msgs;
	int n;
};

static void *rf_free_all(void *arg)
{
	struct rf_fill_run *f = arg;

	for (int i = 0; i < f->n; i++)
		rf_budget_free(f->msgs[i].payload);
	return NULL;
}

static void *rf_join_run(void *arg)
{
	void *ret = NULL;

	pthread_join(*(pthread_t *)arg, &ret);
	return ret;
}

/*
 * The wait must not be a cancellation point: librdkafka's produce calls are
 * not without F_BLOCK, and a waiter cancelled inside it would keep the
 * budget's lock (every producer then hangs) and leave its queue entry on a
 * stack that is gone. The cancel stays pending until the application's next
 * cancellation point; the call returns its result first.
 */
RF_TEST(cancelled_waiter_leaves_the_budget_usable)
{
	struct rf_budget_msg msgs[200], after = rf_msg(RF_KAFKA_SLOT_UNKNOWN, 1000, 1);
	struct rf_waiter_run w = {0}, second = {0};
	struct rf_fill_run fill = {msgs, 0};
	pthread_t tid;

	rf_setup("64K", RF_POLICY_FAIL, "2s", NULL);
	fill.n = rf_fill(RF_KAFKA_SLOT_UNKNOWN, msgs, 200);
	rf_config.policy = RF_POLICY_BLOCK;
	rf_budget_setup(&rf_config, 0, NULL);
	RF_CHECK_INT(pthread_create(&tid, NULL, rf_cancelled_main, &w), 0);
	rf_sleep_ms(100);
	RF_CHECK_INT(rf_publish()->stats[RF_STAT_budget_waiting], 1);
	RF_CHECK_INT(pthread_cancel(tid), 0);
	rf_sleep_ms(100);
	rf_within_5s(rf_free_all, &fill, "giving the budget back");
	RF_CHECK(rf_within_5s(rf_join_run, &tid, "the cancelled waiter's end") == PTHREAD_CANCELED);
	RF_CHECK_INT(w.result, 0); /* served when space came back, then cancelled */
	/* Nothing left behind: the next waiter is admitted, the queue is empty. */
	rf_within_5s(rf_waiter_main, &second, "a later admission");
	RF_CHECK_INT(second.result, 0);
	RF_CHECK_INT(rf_publish()->stats[RF_STAT_budget_waiting], 0);
	RF_CHECK_INT(rf_budget_admit(&after), 0);
}

RF_TEST(observe_never_interferes)
{
	struct rf_budget_msg m;
	struct rf_shm_layout *shm;

	rf_setup("64K", RF_POLICY_OBSERVE, "10s", NULL);
	for (int i = 0; i < 100; i++) {
		m = rf_msg(RF_KAFKA_SLOT_UNKNOWN, 1000, 1);
		RF_CHECK_INT(rf_budget_admit(&m), 0);
		RF_CHECK(m.payload == NULL); /* never copied */
		rf_budget_settle(&m, 1);
	}
	m = rf_msg(RF_KAFKA_SLOT_UNKNOWN, 100 * 1024, 1);
	RF_CHECK_INT(rf_budget_admit(&m), 0);
	shm = rf_publish();
	RF_CHECK(shm->stats[RF_STAT_budget_bytes_peak] > 64 * 1024);
	RF_CHECK(shm->stats[RF_STAT_budget_observed_over] > 30);
	RF_CHECK_INT(shm->stats[RF_STAT_budget_observed_oversized], 1);
	RF_CHECK_INT(shm->stats[RF_STAT_budget_rejected], 0);
	RF_CHECK_INT(shm->stats[RF_STAT_budget_waits], 0);
}

/* drop-oldest: the purge makes librdkafka acknowledge and free queued messages. */
static struct rf_budget_msg rf_dropped[200];
static int rf_dropped_n, rf_purges;
static void *rf_purged_rk;

static int rf_purge(void *rk)
{
	rf_purges++;
	rf_purged_rk = rk;
	for (int i = 0; i < rf_dropped_n; i++) {
		rf_budget_ack(rf_dropped[i].slot, rf_dropped[i].payload, rf_dropped[i].len, 0, 1,
			      0);
		rf_budget_free(rf_dropped[i].payload); /* no delivery callback: freed at once */
	}
	return 0;
}

RF_TEST(drop_oldest_purges_the_fullest_handle)
{
	struct rf_budget_msg small[2], m;
	int big, tiny;

	rf_setup("64K", RF_POLICY_FAIL, "10s", rf_purge);
	tiny = rf_kafka_handle_open((void *)0x3000, 0, gettid());
	big = rf_kafka_handle_open((void *)0x4000, 0, gettid());
	for (int i = 0; i < 2; i++) {
		small[i] = rf_msg(tiny, 1000, 1);
		RF_CHECK_INT(rf_budget_admit(&small[i]), 0);
		rf_budget_settle(&small[i], 1);
	}
	rf_dropped_n = rf_fill(big, rf_dropped, 200);
	rf_config.policy = RF_POLICY_DROP_OLDEST;
	rf_budget_setup(&rf_config, 0, rf_purge);
	m = rf_msg(tiny, 1000, 1);
	RF_CHECK_INT(rf_budget_admit(&m), 0);
	RF_CHECK_INT(rf_purges, 1);
	RF_CHECK(rf_purged_rk == (void *)0x4000);
	RF_CHECK_INT(rf_stat(RF_STAT_budget_dropped_msgs), rf_dropped_n);
	RF_CHECK_INT(rf_stat(RF_STAT_budget_purges), 1);
	/* What the tiny handle held was not touched. */
	RF_CHECK(rf_publish()->handles[0].bytes_held > 0);
	RF_CHECK_INT(rf_publish()->handles[1].bytes_held, 0);
	RF_CHECK_INT(rf_publish()->handles[1].dropped_msgs, rf_dropped_n);
}

RF_TEST(handles_published)
{
	struct rf_budget_msg m;
	struct rf_shm_layout *shm;
	int a, b;

	rf_setup("1M", RF_POLICY_BLOCK, "1s", NULL);
	a = rf_kafka_handle_open((void *)0x5000, 1, 42);
	b = rf_kafka_handle_open((void *)0x6000, 0, 43);
	RF_CHECK(a > 0 && b > 0 && a != b);
	rf_kafka_handle_bind(a, (void *)0x5000);
	rf_kafka_handle_name(a, "rdkafka#producer-1", "orders");
	RF_CHECK_INT(rf_kafka_handle_slot((void *)0x5000), a);
	RF_CHECK_INT(rf_kafka_handle_slot((void *)0x7000), RF_KAFKA_SLOT_UNKNOWN);
	rf_kafka_topic_bind((void *)0x9000, a);
	RF_CHECK_INT(rf_kafka_topic_slot((void *)0x9000), a);
	m = rf_msg(a, 1000, 1);
	RF_CHECK_INT(rf_budget_admit(&m), 0);
	rf_budget_settle(&m, 1);
	rf_budget_ack(a, m.payload, 1000, 0, 0, 0);
	rf_kafka_handle_polled(a, 44, 123456789);
	shm = rf_publish();
	RF_CHECK_INT(shm->header.sections[RF_SHM_SECTION_HANDLES - 1].count, 2);
	RF_CHECK_STR(shm->handles[0].name, "rdkafka#producer-1");
	RF_CHECK_STR(shm->handles[0].client_id, "orders");
	RF_CHECK_INT(shm->handles[0].state, RF_SHM_HANDLE_OPEN);
	RF_CHECK_INT(shm->handles[0].bytes_held, m.charge);
	RF_CHECK_INT(shm->handles[0].acked_unfreed_bytes, m.charge);
	RF_CHECK_INT(shm->handles[0].poller_tid, 44);
	RF_CHECK_INT(shm->handles[0].last_poll_monotonic_ns, 123456789);
	RF_CHECK_INT(shm->handles[1].bytes_held, 0);
	rf_budget_free(m.payload);
	rf_budget_handle_close(a);
	RF_CHECK_INT(rf_kafka_handle_slot((void *)0x5000), RF_KAFKA_SLOT_UNKNOWN);
	shm = rf_publish();
	RF_CHECK_INT(shm->handles[0].state, RF_SHM_HANDLE_DESTROYED);
	RF_CHECK_INT(shm->handles[0].bytes_held, 0);
	RF_CHECK_INT(shm->handles[0].acked_unfreed_bytes, 0);
}

/*
 * A thread banks the releases of copied payloads with their handle: the
 * handle's figure waits for the bank, which pays when the thread releases
 * for another handle, when the handle closes and when figures are published.
 */
RF_TEST(releases_banked_with_their_handle)
{
	struct rf_budget_msg ma, mb;
	int a, b;

	rf_setup("1M", RF_POLICY_BLOCK, "1s", NULL);
	a = rf_kafka_handle_open((void *)0x5100, 1, gettid());
	b = rf_kafka_handle_open((void *)0x5200, 1, gettid());
	ma = rf_msg(a, 1000, 1);
	mb = rf_msg(b, 1000, 1);
	RF_CHECK_INT(rf_budget_admit(&ma), 0);
	RF_CHECK_INT(rf_budget_admit(&mb), 0);
	rf_budget_settle(&ma, 1);
	rf_budget_settle(&mb, 1);
	rf_budget_ack(a, ma.payload, 1000, 0, 0, 0);
	rf_budget_ack(b, mb.payload, 1000, 0, 0, 0);
	rf_budget_free(ma.payload);
	RF_CHECK_INT(rf_kafka_handle_held(rf_kafka_handle_at(a)), ma.charge); /* banked */
	rf_budget_free(mb.payload);
	RF_CHECK_INT(rf_kafka_handle_held(rf_kafka_handle_at(a)), 0);
	RF_CHECK_INT(rf_kafka_handle_acked(rf_kafka_handle_at(a)), 0);
	RF_CHECK_INT(rf_kafka_handle_held(rf_kafka_handle_at(b)), mb.charge); /* banked */
	rf_budget_handle_close(b);
	RF_CHECK_INT(rf_kafka_handle_held(rf_kafka_handle_at(b)), 0);
	RF_CHECK_INT(rf_kafka_handle_acked(rf_kafka_handle_at(b)), 0);
	RF_CHECK_INT(rf_publish()->stats[RF_STAT_budget_bytes], 0);
	rf_budget_handle_close(a);
}

/* Another thread fills the budget: as far as it goes, with no thread's reserve kept back. */
struct rf_fill {
	uint64_t taken;
	int refused;
};

static void *rf_fill_budget(void *arg)
{
	struct rf_fill *f = arg;

	for (;;) {
		struct rf_budget_msg m = rf_msg(RF_KAFKA_SLOT_UNKNOWN, 100, 0);

		if (rf_budget_admit(&m) != 0) {
			f->refused = 1;
			return NULL;
		}
		rf_budget_settle(&m, 1);
		f->taken += m.charge;
	}
}

/*
 * Admission takes a reserve of budget into the thread's bank and charges
 * from it: it counts as charged, but never keeps another thread's message
 * out (paid back when the budget looks spent).
 */
RF_TEST(reserve_never_keeps_a_message_out)
{
	struct rf_budget_msg m = rf_msg(RF_KAFKA_SLOT_UNKNOWN, 100, 0);
	struct rf_fill fill = {0, 0};
	pthread_t tid;

	rf_setup("1M", RF_POLICY_FAIL, "1s", NULL);
	RF_CHECK_INT(rf_budget_admit(&m), 0);
	rf_budget_settle(&m, 1);
	pthread_create(&tid, NULL, rf_fill_budget, &fill);
	pthread_join(tid, NULL);
	RF_CHECK(fill.refused);
	/* What is left is less than one more message. */
	RF_CHECK(m.charge + fill.taken <= 1024 * 1024);
	RF_CHECK(m.charge + fill.taken + m.charge > 1024 * 1024);
	RF_CHECK_INT(rf_publish()->stats[RF_STAT_budget_bytes], m.charge + fill.taken);
	/* The peak counts reserves held elsewhere at the time, as it counts banked credit. */
	RF_CHECK(rf_publish()->stats[RF_STAT_budget_bytes_peak] >= m.charge + fill.taken);
	RF_CHECK(rf_publish()->stats[RF_STAT_budget_bytes_peak] <= 1024 * 1024);
}

/* Several producing threads, one releasing: the charge comes back to zero, never over. */
struct rf_storm {
	struct rf_budget_msg *msgs;
	int n;
};

static void *rf_storm_produce(void *arg)
{
	struct rf_storm *s = arg;

	for (int i = 0; i < s->n; i++) {
		s->msgs[i] = rf_msg(RF_KAFKA_SLOT_UNKNOWN, 64 + (size_t)(i % 7) * 300, 1);
		if (rf_budget_admit(&s->msgs[i]) != 0)
			exit(3);
		rf_budget_settle(&s->msgs[i], 1);
		if (i >= 8)
			rf_budget_free(s->msgs[i - 8].payload);
	}
	for (int i = s->n - 8; i < s->n; i++)
		rf_budget_free(s->msgs[i].payload);
	return NULL;
}

RF_TEST(threads_share_the_budget)
{
	enum {
		THREADS = 4,
		MSGS = 20000
	};
	static struct rf_budget_msg msgs[THREADS][MSGS];
	struct rf_storm s[THREADS];
	pthread_t tid[THREADS];
	struct rf_shm_layout *shm;

	rf_setup("256K", RF_POLICY_BLOCK, "10s", NULL);
	for (int t = 0; t < THREADS; t++) {
		s[t] = (struct rf_storm){msgs[t], MSGS};
		pthread_create(&tid[t], NULL, rf_storm_produce, &s[t]);
	}
	for (int t = 0; t < THREADS; t++)
		pthread_join(tid[t], NULL);
	shm = rf_publish();
	RF_CHECK_INT(shm->stats[RF_STAT_budget_bytes], 0);
	RF_CHECK_INT(shm->stats[RF_STAT_budget_admitted], THREADS * MSGS);
	RF_CHECK_INT(shm->stats[RF_STAT_budget_released], THREADS * MSGS);
	RF_CHECK(shm->stats[RF_STAT_budget_bytes_peak] <= 256 * 1024);
}

RF_TEST_MAIN(RF_TEST_ENTRY(copied_message_lifecycle),
	     RF_TEST_ENTRY(uncopied_message_released_at_ack),
	     RF_TEST_ENTRY(refused_call_gives_charge_back),
	     RF_TEST_ENTRY(freed_during_call_is_credited_once),
	     RF_TEST_ENTRY(oversized_fails_at_once), RF_TEST_ENTRY(fail_policy_refuses_at_once),
	     RF_TEST_ENTRY(block_policy_times_out), RF_TEST_ENTRY(block_policy_waits_for_a_release),
	     RF_TEST_ENTRY(wait_on_own_reports_is_refused_at_once),
	     RF_TEST_ENTRY(wait_on_own_uncopied_messages_lasts_until_their_acks),
	     RF_TEST_ENTRY(wait_on_handle_without_reports_times_out),
	     RF_TEST_ENTRY(wait_on_reports_of_an_ended_poller_is_refused_at_once),
	     RF_TEST_ENTRY(wait_on_reports_nobody_serves_is_refused_soon),
	     RF_TEST_ENTRY(poller_with_ready_reports_is_refused_unless_blocking),
	     RF_TEST_ENTRY(wait_on_reports_only_waiters_serve_is_refused_at_once),
	     RF_TEST_ENTRY(blocking_caller_waits_while_another_thread_polls),
	     RF_TEST_ENTRY(blocking_caller_nobody_serves_is_refused_soon),
	     RF_TEST_ENTRY(waiters_served_first_come_first_served),
	     RF_TEST_ENTRY(waiter_behind_the_head_keeps_the_heads_room),
	     RF_TEST_ENTRY(waiting_figures),
	     RF_TEST_ENTRY(cancelled_waiter_leaves_the_budget_usable),
	     RF_TEST_ENTRY(observe_never_interferes),
	     RF_TEST_ENTRY(drop_oldest_purges_the_fullest_handle), RF_TEST_ENTRY(handles_published),
	     RF_TEST_ENTRY(releases_banked_with_their_handle),
	     RF_TEST_ENTRY(reserve_never_keeps_a_message_out),
	     RF_TEST_ENTRY(threads_share_the_budget))
