/*
 * test_kafka_handle.c - the producer handle registry: slots, their reuse,
 * topics, lookups after a close, what librdkafka copies, the published
 * table, and polls recorded only when the tick moved.
 */
#define _GNU_SOURCE
#include <stdint.h>

#include "rf_kafka_handle.h"
#include "rf_stats.h"
#include "rf_test.h"

#define RK(n) ((void *)(uintptr_t)(0x10000 * (n)))

RF_TEST(open_bind_and_find)
{
	int a = rf_kafka_handle_open(NULL, 1, 42), b = rf_kafka_handle_open(RK(2), 0, 43);

	RF_CHECK(rf_kafka_slot_valid(a) && rf_kafka_slot_valid(b) && a != b);
	/* rd_kafka_new has not returned yet: a has no handle to be found by. */
	RF_CHECK_INT(rf_kafka_handle_slot(RK(1)), RF_KAFKA_SLOT_UNKNOWN);
	rf_kafka_handle_bind(a, RK(1));
	RF_CHECK_INT(rf_kafka_handle_slot(RK(1)), a);
	RF_CHECK_INT(rf_kafka_handle_slot(RK(2)), b);
	RF_CHECK(rf_kafka_handle_rk(a) == RK(1));
	RF_CHECK(rf_kafka_handle_needs_poll(rf_kafka_handle_at(a)));
	RF_CHECK(!rf_kafka_handle_needs_poll(rf_kafka_handle_at(b)));
	RF_CHECK_INT(rf_kafka_handle_at(a)->poller, 42);
	rf_kafka_handle_polled(a, 44, 1000);
	RF_CHECK_INT(rf_kafka_handle_at(a)->poller, 44);
	RF_CHECK_INT(rf_kafka_handle_at(a)->last_poll_ns, 1000);
	/* An invalid slot reads as the unknown handle's entry, never out of bounds. */
	RF_CHECK(rf_kafka_handle_at(-1) == rf_kafka_handle_at(0));
	RF_CHECK(rf_kafka_handle_at(RF_KAFKA_HANDLES) == rf_kafka_handle_at(0));
	RF_CHECK(rf_kafka_handle_rk(0) == NULL);
}

RF_TEST(close_forgets_the_handle_and_its_topics)
{
	int a = rf_kafka_handle_open(RK(1), 1, 42);

	rf_kafka_topic_bind(RK(9), a);
	RF_CHECK_INT(rf_kafka_topic_slot(RK(9)), a);
	/* The per-thread answers are cached: they must not outlive the close. */
	RF_CHECK_INT(rf_kafka_handle_slot(RK(1)), a);
	rf_kafka_handle_close(a);
	RF_CHECK_INT(rf_kafka_handle_slot(RK(1)), RF_KAFKA_SLOT_UNKNOWN);
	RF_CHECK_INT(rf_kafka_topic_slot(RK(9)), RF_KAFKA_SLOT_UNKNOWN);
	RF_CHECK(rf_kafka_handle_rk(a) == NULL);
	RF_CHECK(!rf_kafka_handle_needs_poll(rf_kafka_handle_at(a)));
}

RF_TEST(destroyed_slots_are_reused_once_released)
{
	int slots[RF_KAFKA_HANDLES];
	uint64_t stats[RF_STAT__COUNT];
	int n = 0, slot;

	while ((slot = rf_kafka_handle_open(RK(n + 1), 0, 1)) != RF_KAFKA_SLOT_UNKNOWN)
		slots[n++] = slot;
	RF_CHECK_INT(n, RF_KAFKA_HANDLES - 1);
	rf_stats_snapshot(stats);
	RF_CHECK_INT(stats[RF_STAT_shim_errors], 1);
	/* A destroyed handle still holding budget keeps its figures listed. */
	rf_kafka_handle_at(slots[3])->copied_in = 500;
	rf_kafka_handle_at(slots[3])->uncopied_in = 200;
	rf_kafka_handle_close(slots[3]);
	RF_CHECK_INT(rf_kafka_handle_open(RK(100), 0, 1), RF_KAFKA_SLOT_UNKNOWN);
	rf_kafka_handle_at(slots[3])->copied_out = 500;
	RF_CHECK_INT(rf_kafka_handle_open(RK(100), 0, 1), RF_KAFKA_SLOT_UNKNOWN);
	rf_kafka_handle_at(slots[3])->uncopied_out = 200;
	slot = rf_kafka_handle_open(RK(100), 0, 1);
	RF_CHECK_INT(slot, slots[3]);
	RF_CHECK_INT(rf_kafka_handle_held(rf_kafka_handle_at(slot)), 0);
	RF_CHECK_INT(rf_kafka_handle_slot(RK(100)), slot);
}

RF_TEST(request_buffer_copies)
{
	int slot = rf_kafka_handle_open(RK(1), 1, 1);

	/* No copy limit known: nothing extra. */
	RF_CHECK_INT(rf_kafka_handle_extra(slot, 100), 0);
	/* librdkafka copies payloads up to the limit into its request buffers. */
	rf_kafka_handle_copies(slot, 256);
	RF_CHECK_INT(rf_kafka_handle_extra(slot, 100), 100);
	RF_CHECK_INT(rf_kafka_handle_extra(slot, 256), 256);
	RF_CHECK_INT(rf_kafka_handle_extra(slot, 257), 256);
	RF_CHECK_INT(rf_kafka_handle_extra(slot, 16384), 256);
	rf_kafka_handle_copies(slot, 0);
	RF_CHECK_INT(rf_kafka_handle_extra(slot, 100), 0);
	/* An unknown handle is never charged for copies. */
	RF_CHECK_INT(rf_kafka_handle_extra(0, 100), 0);
	RF_CHECK_INT(rf_kafka_handle_extra(-1, 100), 0);
}

RF_TEST(published_table)
{
	struct rf_shm_handle out[RF_SHM_HANDLES_MAX];
	int a = rf_kafka_handle_open(RK(1), 1, 42), b = rf_kafka_handle_open(RK(2), 1, 43);
	uint64_t acked;

	rf_kafka_handle_name(a, "rdkafka#producer-1", "orders");
	/* Names are cut to fit their field, always terminated. */
	rf_kafka_handle_name(
		b, "rdkafka#producer-2",
		"a-client-id-longer-than-the-sixty-four-bytes-of-its-field-in-the-segment");
	rf_kafka_handle_at(a)->copied_in = 200;
	rf_kafka_handle_at(a)->uncopied_in = 100;
	rf_kafka_handle_at(a)->acked_in = 100;
	rf_kafka_handle_at(0)->acked_in = 7; /* the unknown handle counts in the total only */
	rf_kafka_handle_close(b);
	RF_CHECK_INT(rf_kafka_handle_listed(), 2);
	RF_CHECK_INT(rf_kafka_handle_publish(out, RF_SHM_HANDLES_MAX, &acked), 2);
	RF_CHECK_INT(acked, 107);
	RF_CHECK_STR(out[0].name, "rdkafka#producer-1");
	RF_CHECK_STR(out[0].client_id, "orders");
	RF_CHECK_INT(out[0].state, RF_SHM_HANDLE_OPEN);
	RF_CHECK_INT(out[0].bytes_held, 300);
	RF_CHECK_INT(out[0].acked_unfreed_bytes, 100);
	RF_CHECK_INT(out[0].poller_tid, 42);
	RF_CHECK_INT(out[1].state, RF_SHM_HANDLE_DESTROYED);
	RF_CHECK_INT(strlen(out[1].client_id), RF_SHM_HANDLE_NAME_MAX - 1);
}

#define MS(n) ((int64_t)(n)*1000000)

/* Whether tid is among the n pollers. */
static int has(const pid_t *tids, int n, pid_t tid)
{
	for (int i = 0; i < n; i++)
		if (tids[i] == tid)
			return 1;
	return 0;
}

/* The threads that polled lately: the deadlock guard's evidence (rf_budget.c). */
RF_TEST(pollers_seen_lately)
{
	int a = rf_kafka_handle_open(RK(1), 1, 42);
	const struct rf_kafka_handle *h = rf_kafka_handle_at(a);
	pid_t tids[RF_KAFKA_POLLERS];
	int n;

	/* Never polled: the creator stands for the poller. */
	n = rf_kafka_handle_pollers(h, MS(500), tids);
	RF_CHECK_INT(n, 1);
	RF_CHECK_INT(tids[0], 42);
	/* Polls that hop between threads (Go): each thread once. */
	rf_kafka_handle_polled(a, 100, MS(10000));
	rf_kafka_handle_polled(a, 101, MS(10100));
	rf_kafka_handle_polled(a, 100, MS(10200));
	rf_kafka_handle_polled(a, 102, MS(10300));
	n = rf_kafka_handle_pollers(h, MS(500), tids);
	RF_CHECK_INT(n, 3);
	RF_CHECK(has(tids, n, 100) && has(tids, n, 101) && has(tids, n, 102));
	RF_CHECK(!has(tids, n, 42)); /* the creator's stand-in is long past */
	/* Only those within the window of the last poll count. */
	n = rf_kafka_handle_pollers(h, MS(150), tids);
	RF_CHECK_INT(n, 2);
	RF_CHECK(has(tids, n, 100) && has(tids, n, 102));
	/* A fifth thread takes the place of the one that polled longest ago. */
	rf_kafka_handle_polled(a, 103, MS(10400));
	rf_kafka_handle_polled(a, 104, MS(10500));
	n = rf_kafka_handle_pollers(h, MS(10000), tids);
	RF_CHECK_INT(n, RF_KAFKA_POLLERS);
	RF_CHECK(!has(tids, n, 101));
	RF_CHECK(has(tids, n, 104) && has(tids, n, 100));
	RF_CHECK_INT(h->poller, 104);
}

/* A poll is recorded once per tick and handle; the tick, a close or a new topic restart it. */
RF_TEST(polls_recorded_once_per_tick)
{
	int a = rf_kafka_handle_open(RK(1), 1, 42), b = rf_kafka_handle_open(RK(2), 1, 42);
	const struct rf_kafka_handle *ha = rf_kafka_handle_at(a);

	RF_CHECK(!rf_kafka_poll_recorded(RK(1)));
	rf_kafka_poll_record(RK(1), 50, 7000000);
	RF_CHECK(rf_kafka_poll_recorded(RK(1)));
	RF_CHECK_INT(ha->poller, 50);
	RF_CHECK_INT(ha->last_poll_ns, 7000000);
	/* Another handle: its own record; the memo then follows it. */
	RF_CHECK(!rf_kafka_poll_recorded(RK(2)));
	rf_kafka_poll_record(RK(2), 50, 8000000);
	RF_CHECK_INT(rf_kafka_handle_at(b)->last_poll_ns, 8000000);
	RF_CHECK(!rf_kafka_poll_recorded(RK(1)));
	rf_kafka_poll_record(RK(1), 50, 9000000);
	RF_CHECK(rf_kafka_poll_recorded(RK(1)));
	/* The judge or the publisher wants fresh records: the next poll records. */
	rf_kafka_poll_tick_advance();
	RF_CHECK(!rf_kafka_poll_recorded(RK(1)));
	rf_kafka_poll_record(RK(1), 51, 10000000);
	RF_CHECK_INT(ha->poller, 51);
	RF_CHECK_INT(ha->last_poll_ns, 10000000);
	RF_CHECK(rf_kafka_poll_recorded(RK(1)));
	/* A new topic, or a handle closed (another may come at its address). */
	rf_kafka_topic_bind(RK(9), a);
	RF_CHECK(!rf_kafka_poll_recorded(RK(1)));
	rf_kafka_poll_record(RK(1), 51, 11000000);
	rf_kafka_handle_close(a);
	RF_CHECK(!rf_kafka_poll_recorded(RK(1)));
	/* Not a handle of ours: nothing recorded, so looked at again next time. */
	rf_kafka_poll_record(RK(1), 52, 12000000);
	RF_CHECK(!rf_kafka_poll_recorded(RK(1)));
	RF_CHECK_INT(ha->last_poll_ns, 11000000);
}

RF_TEST_MAIN(RF_TEST_ENTRY(open_bind_and_find),
	     RF_TEST_ENTRY(close_forgets_the_handle_and_its_topics),
	     RF_TEST_ENTRY(destroyed_slots_are_reused_once_released),
	     RF_TEST_ENTRY(request_buffer_copies), RF_TEST_ENTRY(published_table),
	     RF_TEST_ENTRY(pollers_seen_lately), RF_TEST_ENTRY(polls_recorded_once_per_tick))
