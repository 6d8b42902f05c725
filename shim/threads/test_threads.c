/*
 * test_threads.c - the thread registry without preloading: the pool
 * allocator, record lifetimes (join, detach, the detached attribute, ends
 * racing the creator), grouping by creation stack, the leak rules, growth,
 * publication, fork, and the no-growth property over 100,000 threads.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "rf_pool.h"
#include "rf_test.h"
#include "rf_thread.h"
#include "rf_thread_rules.h"

#define MS 1000000LL
#define SEC 1000000000LL

static const uintptr_t stack_a[] = {0x1000, 0x2000, 0x3000};
static const uintptr_t stack_b[] = {0x1100, 0x2000, 0x3000};

static struct rf_thread_rules rules_running(void)
{
	struct rf_thread_rules r = {.age_ns = 1 * SEC, .group_max = 256};
	return r;
}

/* A segment in private memory with the directory the real writer makes. */
static struct rf_segment test_segment(void)
{
	struct rf_segment seg;

	rf_segment_attach_memory(&seg, calloc(1, sizeof(struct rf_shm_layout)));
	return seg;
}

/* One publication holding the thread publisher alone. */
static void publish(struct rf_segment *seg, const struct rf_thread_rules *r, int64_t now,
		    bool exiting)
{
	static struct rf_publication pub;

	rf_publication_begin(&pub, seg, NULL, exiting);
	rf_thread_publish(&pub, r, now);
	rf_publication_end(&pub);
}

static uint64_t section_count(struct rf_segment *seg, enum rf_shm_section_kind kind)
{
	return seg->shm->header.sections[kind - 1].count;
}

static struct rf_thread *spawn(const uintptr_t *frames, int n, uint64_t handle, unsigned flags,
			       int64_t now)
{
	struct rf_thread *t = rf_thread_create_begin(frames, n, 0x4000, flags, 1, now);

	RF_CHECK(t != NULL);
	rf_thread_create_end(t, handle, true);
	rf_thread_started(t, handle, (pid_t)handle);
	return t;
}

RF_TEST(pool_reuse_and_bound)
{
	struct rf_pool pool;
	void *recs[8];

	RF_CHECK_INT(rf_pool_init(&pool, 40, 4, 8), 0);
	RF_CHECK_INT(pool.size, 48);
	for (int i = 0; i < 8; i++) {
		recs[i] = rf_pool_alloc(&pool);
		RF_CHECK(recs[i] != NULL);
		for (int k = 0; k < 48; k++)
			RF_CHECK(((unsigned char *)recs[i])[k] == 0);
		memset(recs[i], 0xff, 48);
	}
	RF_CHECK(rf_pool_alloc(&pool) == NULL); /* bounded */
	RF_CHECK_INT(pool.mapped_bytes, 8 * 48);
	rf_pool_free(&pool, recs[3]);
	RF_CHECK(rf_pool_alloc(&pool) == recs[3]); /* reused, zeroed */
	RF_CHECK(((unsigned char *)recs[3])[47] == 0);
	for (int round = 0; round < 1000; round++) {
		rf_pool_free(&pool, recs[round % 8]);
		RF_CHECK(rf_pool_alloc(&pool) == recs[round % 8]);
	}
	RF_CHECK_INT(pool.mapped_bytes, 8 * 48);
	RF_CHECK_INT(pool.in_use, 8);
	rf_pool_reset(&pool);
	RF_CHECK_INT(pool.in_use, 0);
	for (int i = 0; i < 8; i++)
		RF_CHECK(rf_pool_alloc(&pool) != NULL);
	RF_CHECK(rf_pool_alloc(&pool) == NULL);
	RF_CHECK_INT(rf_pool_init(&pool, 0, 4, 8), -EINVAL);
	rf_pool_release(&pool);
}

RF_TEST(join_releases)
{
	struct rf_thread_totals tot;
	struct rf_thread *t = spawn(stack_a, 3, 11, 0, 0), *j;

	rf_thread_totals(&tot);
	RF_CHECK_INT(tot.alive, 1);
	RF_CHECK_INT(tot.tracked, 1);
	rf_thread_ended(t, RF_SHM_THREAD_END_RETURN, 5 * MS);
	rf_thread_totals(&tot);
	RF_CHECK_INT(tot.alive, 0);
	RF_CHECK_INT(tot.unjoined, 1);
	RF_CHECK_INT(tot.exited, 1);
	j = rf_thread_join_begin(11);
	RF_CHECK(j == t);
	rf_thread_join_end(j, true, 6 * MS);
	rf_thread_totals(&tot);
	RF_CHECK_INT(tot.unjoined, 0);
	RF_CHECK_INT(tot.tracked, 0);
	RF_CHECK(rf_thread_join_begin(11) == NULL);  /* gone */
	RF_CHECK(rf_thread_join_begin(999) == NULL); /* never tracked */
}

/*
 * The table of records by pthread_t (open addressing, deletion by shifting
 * back): thousands of live handles, shaped like glibc's (thread descriptors
 * a stack apart) and like powers of two, joined in a scrambled order; after
 * every hundredth join each handle still live is found, and its record.
 */
RF_TEST(handle_table_finds_every_live_thread)
{
	enum {
		N = 3000
	};
	static const uint64_t strides[] = {0x801000, (uint64_t)1 << 20};
	static struct rf_thread *recs[N];
	struct rf_thread_totals tot;

	for (size_t s = 0; s < sizeof(strides) / sizeof(strides[0]); s++) {
		uint64_t base = 0x7f0000000000 + strides[s];

		for (int i = 0; i < N; i++) {
			recs[i] = spawn(stack_a, 3, base + (uint64_t)i * strides[s], 0, 0);
			rf_thread_ended(recs[i], RF_SHM_THREAD_END_RETURN, 1 * MS);
		}
		for (int k = 0; k < N; k++) {
			int i = (int)(((uint64_t)k * 1237) % N); /* 1237 is prime to N */
			struct rf_thread *j = rf_thread_join_begin(base + (uint64_t)i * strides[s]);

			RF_CHECK(j == recs[i]);
			rf_thread_join_end(j, true, 2 * MS);
			recs[i] = NULL;
			if (k % 100 != 0)
				continue;
			for (int m = 0; m < N; m++) {
				j = rf_thread_join_begin(base + (uint64_t)m * strides[s]);
				RF_CHECK(j == recs[m]);
				rf_thread_join_end(j, false, 0); /* a failed join: no change */
			}
		}
		RF_CHECK(rf_thread_join_begin(base + (uint64_t)N * strides[s]) == NULL);
		rf_thread_totals(&tot);
		RF_CHECK_INT(tot.tracked, 0);
	}
}

/*
 * A detach that lands while a joinable thread ends leaves its end stored but
 * not applied, for the publisher's next pass. Once glibc hands its pthread_t
 * to a new thread, lookups find the new record, and the old one is still
 * settled.
 */
RF_TEST(reused_handle_finds_the_new_record)
{
	struct rf_thread_totals before, tot;
	struct rf_thread *old, *t;

	rf_thread_totals(&before);
	old = spawn(stack_a, 3, 88, 0, 0);
	rf_thread_detach_end(rf_thread_detach_begin(88), true);
	rf_thread_ended_store(old, RF_SHM_THREAD_END_RETURN, 1 * MS); /* as if it saw no detach */
	t = spawn(stack_b, 3, 88, 0, 2 * MS);
	RF_CHECK(rf_thread_join_begin(88) == t);
	rf_thread_ended(t, RF_SHM_THREAD_END_RETURN, 3 * MS);
	rf_thread_join_end(t, true, 4 * MS);
	RF_CHECK(rf_thread_join_begin(88) == NULL);
	rf_thread_totals(&tot); /* the publisher's pass: settles the old record */
	RF_CHECK_INT(tot.tracked, before.tracked);
	RF_CHECK_INT(tot.exited - before.exited, 2);
	RF_CHECK_INT(tot.unjoined, before.unjoined);
}

RF_TEST(join_before_exit_and_failed_join)
{
	struct rf_thread_totals tot;
	struct rf_thread *t = spawn(stack_a, 3, 12, 0, 0), *j;

	j = rf_thread_join_begin(12);
	rf_thread_join_end(j, false, 0); /* EBUSY from tryjoin: nothing changes */
	rf_thread_totals(&tot);
	RF_CHECK_INT(tot.tracked, 1);
	j = rf_thread_join_begin(12);
	RF_CHECK(j == t);
	rf_thread_ended(t, RF_SHM_THREAD_END_EXIT, 1 * MS); /* ends while being joined */
	rf_thread_join_end(j, true, 2 * MS);
	rf_thread_totals(&tot);
	RF_CHECK_INT(tot.tracked, 0);
	RF_CHECK_INT(tot.unjoined, 0);
	RF_CHECK_INT(tot.exited, 1);
}

RF_TEST(detach_before_and_after_exit)
{
	struct rf_thread_totals tot;
	struct rf_thread *a = spawn(stack_a, 3, 21, 0, 0);
	struct rf_thread *b = spawn(stack_a, 3, 22, 0, 0);

	rf_thread_detach_end(rf_thread_detach_begin(21), true);
	rf_thread_totals(&tot);
	RF_CHECK_INT(tot.tracked, 2); /* still running */
	rf_thread_ended(a, RF_SHM_THREAD_END_RETURN, 1);
	rf_thread_ended(b, RF_SHM_THREAD_END_RETURN, 1);
	rf_thread_totals(&tot);
	RF_CHECK_INT(tot.tracked, 1); /* a released at its end */
	RF_CHECK_INT(tot.unjoined, 1);
	rf_thread_detach_end(rf_thread_detach_begin(22), true);
	rf_thread_totals(&tot);
	RF_CHECK_INT(tot.tracked, 0);
	RF_CHECK_INT(tot.unjoined, 0);
	RF_CHECK(rf_thread_detach_begin(22) == NULL);
}

RF_TEST(detached_attribute_ends_before_creator)
{
	struct rf_thread_totals tot;
	struct rf_thread *t =
		rf_thread_create_begin(stack_a, 3, 0x4000, RF_THREAD_F_DETACHED, 1, 0);

	/* The new thread runs and ends before the creator's create_end. */
	rf_thread_started(t, 31, 31);
	rf_thread_ended(t, RF_SHM_THREAD_END_RETURN, 1);
	rf_thread_totals(&tot);
	RF_CHECK_INT(tot.tracked, 1); /* kept for the creator */
	rf_thread_create_end(t, 31, true);
	rf_thread_totals(&tot);
	RF_CHECK_INT(tot.tracked, 0);
	RF_CHECK_INT(tot.unjoined, 0);
	RF_CHECK_INT(tot.created, 1);
}

RF_TEST(joinable_ends_before_creator)
{
	struct rf_thread_totals tot;
	struct rf_thread *t = rf_thread_create_begin(stack_a, 3, 0x4000, 0, 1, 0), *j;

	/* Its end is stored without the lock and applied by whoever comes next. */
	rf_thread_started(t, 32, 32);
	rf_thread_ended(t, RF_SHM_THREAD_END_RETURN, 1);
	rf_thread_create_end(t, 32, true);
	rf_thread_totals(&tot);
	RF_CHECK_INT(tot.tracked, 1); /* kept for its joiner */
	RF_CHECK_INT(tot.exited, 1);
	RF_CHECK_INT(tot.alive, 0);
	RF_CHECK_INT(tot.unjoined, 1);
	j = rf_thread_join_begin(32);
	RF_CHECK(j == t);
	rf_thread_join_end(j, true, 2);
	rf_thread_totals(&tot);
	RF_CHECK_INT(tot.tracked, 0);
	RF_CHECK_INT(tot.unjoined, 0);
	RF_CHECK_INT(tot.exited, 1);
}

RF_TEST(failed_create_is_forgotten)
{
	struct rf_thread_totals tot;
	struct rf_thread *t = rf_thread_create_begin(stack_a, 3, 0x4000, 0, 1, 0);

	rf_thread_create_end(t, 0, false);
	rf_thread_totals(&tot);
	RF_CHECK_INT(tot.created, 0);
	RF_CHECK_INT(tot.alive, 0);
	RF_CHECK_INT(tot.tracked, 0);
}

RF_TEST(groups_by_creation_stack)
{
	struct rf_segment seg = test_segment();
	struct rf_thread_rules r = rules_running();
	const struct rf_shm_thread_group *g;

	for (int i = 0; i < 5; i++)
		spawn(stack_a, 3, 100 + (uint64_t)i, 0, 0);
	spawn(stack_b, 3, 200, 0, 0);
	rf_thread_name_set_handle(200, "worker-b");
	publish(&seg, &r, 10 * MS, false);
	RF_CHECK_INT(section_count(&seg, RF_SHM_SECTION_THREAD_GROUPS), 2);
	RF_CHECK_INT(section_count(&seg, RF_SHM_SECTION_THREADS), 6);
	RF_CHECK_INT(section_count(&seg, RF_SHM_SECTION_THREAD_INFO), 1);
	g = &seg.shm->thread_groups[0];
	RF_CHECK_INT(g->alive, 5);
	RF_CHECK_INT(g->created, 5);
	RF_CHECK_INT(g->nframes, 3);
	RF_CHECK_INT(g->frames[0], 0x1000);
	RF_CHECK_INT(g->oldest_alive_ns, 0);
	RF_CHECK_INT(seg.shm->thread_groups[1].alive, 1);
	RF_CHECK_INT(seg.shm->threads[5].group, 1);
	RF_CHECK_STR(seg.shm->threads[5].name, "worker-b");
	RF_CHECK_INT(seg.shm->stats[RF_STAT_threads_alive], 6);
	RF_CHECK_INT(seg.shm->stats[RF_STAT_threads_created], 6);
	RF_CHECK_INT(seg.shm->stats[RF_STAT_thread_groups], 2);
	RF_CHECK(seg.shm->stats[RF_STAT_thread_registry_bytes] > 0);
	free(seg.shm);
}

RF_TEST(rules)
{
	struct rf_thread_rules r = rules_running();
	struct rf_thread_facts f = {.alive = true,
				    .age_ns = 2 * SEC,
				    .name = "app",
				    .group_alive = 20,
				    .group_growth = 20};

	RF_CHECK_INT(rf_thread_classify(&r, &f), RF_THREAD_CLASS_STUCK);
	f.group_growth = 0; /* a pool of steady size is not a leak */
	RF_CHECK_INT(rf_thread_classify(&r, &f), RF_THREAD_CLASS_RUNNING);
	f.group_alive = 257; /* ...unless it is bigger than any pool should be */
	RF_CHECK_INT(rf_thread_classify(&r, &f), RF_THREAD_CLASS_STUCK);
	f.age_ns = SEC / 2; /* young threads are never stuck */
	f.group_growth = 5;
	RF_CHECK_INT(rf_thread_classify(&r, &f), RF_THREAD_CLASS_RUNNING);
	r.at_exit = true; /* at exit every alive thread is leaked */
	RF_CHECK_INT(rf_thread_classify(&r, &f), RF_THREAD_CLASS_LEAKED);
	f.detached = true;
	RF_CHECK_INT(rf_thread_classify(&r, &f), RF_THREAD_CLASS_LEAKED);
	f.name = "rdk:broker1"; /* librdkafka's */
	RF_CHECK_INT(rf_thread_classify(&r, &f), RF_THREAD_CLASS_LIBRARY);
	f.name = "rf:publisher";
	RF_CHECK_INT(rf_thread_classify(&r, &f), RF_THREAD_CLASS_LIBRARY);
	f.name = "poller-3";
	r.ignore = "metrics,poller-*";
	RF_CHECK_INT(rf_thread_classify(&r, &f), RF_THREAD_CLASS_IGNORED);
	f.name = "app";
	f.start_name = "my_start";
	r.ignore = NULL;
	r.ignore_more = "my_*";
	RF_CHECK_INT(rf_thread_classify(&r, &f), RF_THREAD_CLASS_IGNORED);
	r.ignore_more = NULL;
	f.alive = false;
	f.detached = false;
	RF_CHECK_INT(rf_thread_classify(&r, &f), RF_THREAD_CLASS_UNJOINED);
	r.at_exit = false;
	RF_CHECK_INT(rf_thread_classify(&r, &f), RF_THREAD_CLASS_UNJOINED);
	RF_CHECK(rf_thread_class_is_leak(RF_THREAD_CLASS_UNJOINED));
	RF_CHECK(!rf_thread_class_is_leak(RF_THREAD_CLASS_LIBRARY));
	RF_CHECK_STR(rf_thread_class_name(RF_THREAD_CLASS_STUCK), "stuck");
}

/* The Go runtime's threads (cgo): library threads, like librdkafka's. */
RF_TEST(go_runtime_threads_are_library)
{
	struct rf_thread_rules r = rules_running();
	struct rf_thread_facts f = {.alive = true, .age_ns = 2 * SEC, .name = "prog"};

	r.at_exit = true;
	f.start_name = "threadentry";
	f.creator = "_cgo_try_pthread_create";
	RF_CHECK_INT(rf_thread_classify(&r, &f), RF_THREAD_CLASS_LIBRARY);
	f.start_name = "";
	f.start_name2 = "threadentry"; /* named by the reporter only */
	RF_CHECK_INT(rf_thread_classify(&r, &f), RF_THREAD_CLASS_LIBRARY);
	/* Neither name alone: a C program's own threadentry, or an unnamed creator. */
	f.creator = "main";
	RF_CHECK_INT(rf_thread_classify(&r, &f), RF_THREAD_CLASS_LEAKED);
	f.start_name2 = "worker";
	f.creator = "_cgo_try_pthread_create";
	RF_CHECK_INT(rf_thread_classify(&r, &f), RF_THREAD_CLASS_LEAKED);
	f.start_name2 = "threadentry";
	f.creator = NULL; /* a stripped binary */
	RF_CHECK_INT(rf_thread_classify(&r, &f), RF_THREAD_CLASS_LEAKED);
}

RF_TEST(patterns)
{
	RF_CHECK(rf_pattern_match("rdk:*", 5, "rdk:main"));
	RF_CHECK(rf_pattern_match("*", 1, "x"));
	RF_CHECK(rf_pattern_match("a?c", 3, "abc"));
	RF_CHECK(!rf_pattern_match("a?c", 3, "ac"));
	RF_CHECK(rf_pattern_match("*worker*", 8, "my_worker_3"));
	RF_CHECK(!rf_pattern_match("worker", 6, "worker2"));
	RF_CHECK(rf_pattern_match("ns::*::run", 10, "ns::Pool::run"));
	RF_CHECK(rf_pattern_list_match("x,y*,z", "yes"));
	RF_CHECK(!rf_pattern_list_match("x,y*,z", "no"));
	RF_CHECK(!rf_pattern_list_match("", "x"));
	RF_CHECK(!rf_pattern_list_match(NULL, "x"));
	RF_CHECK(!rf_pattern_list_match("*", ""));
}

/* The request handler: 20 threads per call that never end; a pool: 4 threads, once. */
RF_TEST(growth_makes_stuck)
{
	struct rf_segment seg = test_segment();
	struct rf_thread_rules r = rules_running();
	uint64_t handle = 1;
	int64_t now = 0;

	for (int i = 0; i < 4; i++)
		spawn(stack_b, 3, handle++, 0, now);
	for (int call = 0; call < 10; call++, now += 300 * MS) {
		for (int i = 0; i < 20; i++)
			spawn(stack_a, 3, handle++, 0, now);
		publish(&seg, &r, now, false);
	}
	/* 3 s in: a's threads older than 1 s are stuck, b's pool is not. */
	publish(&seg, &r, now, false);
	RF_CHECK_INT(seg.shm->thread_groups[0].alive, 4);
	RF_CHECK_INT(seg.shm->thread_groups[0].growth, 0);
	RF_CHECK_INT(seg.shm->thread_groups[1].alive, 200);
	RF_CHECK(seg.shm->thread_groups[1].growth >= 40);
	/* Created at 0 .. 2.7 s, judged at 3.0 s with a 1 s age: 7 calls of 20. */
	RF_CHECK_INT(seg.shm->stats[RF_STAT_threads_suspect], 140);
	/* When the calls stop, the growth leaves the window... */
	now += 2 * SEC;
	publish(&seg, &r, now, false);
	publish(&seg, &r, now + 200 * MS, false);
	RF_CHECK_INT(seg.shm->thread_groups[1].growth, 0);
	RF_CHECK_INT(seg.shm->stats[RF_STAT_threads_suspect], 0);
	/* ...but a group bigger than RINGFENCE_THREAD_GROUP stays suspect. */
	r.group_max = 100;
	publish(&seg, &r, now + 400 * MS, false);
	RF_CHECK_INT(seg.shm->stats[RF_STAT_threads_suspect], 200);
	/* At exit every one of them is leaked, the pool too. */
	r.at_exit = true;
	publish(&seg, &r, now + 600 * MS, true);
	RF_CHECK_INT(seg.shm->stats[RF_STAT_threads_suspect], 204);
	free(seg.shm);
}

RF_TEST(hundred_thousand_threads_do_not_grow_the_registry)
{
	struct rf_thread_totals before, after;

	for (uint64_t i = 1; i <= 100000; i++) {
		struct rf_thread *t = spawn(stack_a, 3, i, 0, (int64_t)i);

		rf_thread_ended(t, RF_SHM_THREAD_END_RETURN, (int64_t)i);
		rf_thread_join_end(rf_thread_join_begin(i), true, (int64_t)i);
		if (i == 1000)
			rf_thread_totals(&before);
	}
	rf_thread_totals(&after);
	RF_CHECK_INT(after.created, 100000);
	RF_CHECK_INT(after.exited, 100000);
	RF_CHECK_INT(after.tracked, 0);
	RF_CHECK_INT(after.groups, 1);
	RF_CHECK_INT(after.registry_bytes, before.registry_bytes);
	rf_thread_registry_release();
}

/* A real thread playing the tracked one: starts, ends (without the lock when joinable). */
static void *race_thread(void *arg)
{
	struct rf_thread *t = arg;

	rf_thread_started(t, 0, 1);
	rf_thread_ended(t, RF_SHM_THREAD_END_RETURN, 1);
	return NULL;
}

RF_TEST(ends_race_joins_and_detaches)
{
	struct rf_thread_totals before, after;
	enum {
		ROUNDS = 4000
	};

	rf_thread_totals(&before);
	for (uint64_t i = 0; i < ROUNDS; i++) {
		/* Handles come back, as glibc's do once a thread is joined or detached. */
		uint64_t handle = 500000 + i % 8;
		unsigned flags = i % 3 == 2 ? RF_THREAD_F_DETACHED : 0;
		struct rf_thread *t = rf_thread_create_begin(stack_b, 3, 0x4000, flags, 1, 0), *j;
		pthread_t real;

		RF_CHECK(t != NULL);
		RF_CHECK_INT(pthread_create(&real, NULL, race_thread, t), 0);
		/* The end races the creator's create_end, then a join or a detach. */
		rf_thread_create_end(t, handle, true);
		if (i % 3 == 0) {
			j = rf_thread_join_begin(handle);
			RF_CHECK(j == t);
			pthread_join(real, NULL);
			rf_thread_join_end(j, true, 2);
		} else if (i % 3 == 1) {
			rf_thread_detach_end(rf_thread_detach_begin(handle), true);
			pthread_join(real, NULL);
		} else {
			pthread_join(real, NULL);
		}
	}
	/* Every end is applied and every record released, whoever came last. */
	rf_thread_totals(&after);
	RF_CHECK_INT(after.created - before.created, ROUNDS);
	RF_CHECK_INT(after.exited - before.exited, ROUNDS);
	RF_CHECK_INT(after.tracked, before.tracked);
	RF_CHECK_INT(after.alive, before.alive);
	RF_CHECK_INT(after.unjoined, before.unjoined);
}

/* One of the hammering threads: its own handles, every registry call. */
static void *hammer_thread(void *arg)
{
	uint64_t base = (uint64_t)(uintptr_t)arg;

	for (uint64_t i = 0; i < 20000; i++) {
		uint64_t handle = base + i;
		struct rf_thread *t = rf_thread_create_begin(stack_b, 3, 0x5000, 0, 1, 0), *j;

		if (t == NULL)
			continue;
		rf_thread_create_end(t, handle, true);
		rf_thread_ended(t, RF_SHM_THREAD_END_RETURN, 1);
		j = rf_thread_join_begin(handle);
		rf_thread_join_end(j, j != NULL, 2);
	}
	return NULL;
}

/*
 * Four threads on two cores take the registry lock 320,000 times between
 * them: a lock that let two in at once would lose counts or corrupt the
 * hash, and one that lost a wake-up would hang here.
 */
RF_TEST(registry_lock_under_contention)
{
	struct rf_thread_totals before, after;
	pthread_t th[4];

	rf_thread_totals(&before);
	for (uintptr_t i = 0; i < 4; i++)
		RF_CHECK_INT(pthread_create(&th[i], NULL, hammer_thread, (void *)((i + 1) << 32)),
			     0);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	rf_thread_totals(&after);
	RF_CHECK_INT(after.created - before.created, 4 * 20000);
	RF_CHECK_INT(after.exited - before.exited, 4 * 20000);
	RF_CHECK_INT(after.untracked, before.untracked);
	RF_CHECK_INT(after.tracked, before.tracked);
	RF_CHECK_INT(after.unjoined, before.unjoined);
	RF_CHECK_INT(after.alive, before.alive);
}

RF_TEST(detach_while_a_join_waits)
{
	struct rf_thread_totals before, after;
	struct rf_thread *t, *j;

	rf_thread_totals(&before);
	t = spawn(stack_a, 3, 41, 0, 0);
	j = rf_thread_join_begin(41);
	RF_CHECK(j == t);
	/* glibc's pthread_detach returns 0 with a joiner waiting, and detaches nothing. */
	RF_CHECK(rf_thread_detach_begin(41) == NULL);
	rf_thread_detach_end(NULL, true);
	rf_thread_ended(t, RF_SHM_THREAD_END_RETURN, 1);
	rf_thread_join_end(j, true, 2);
	rf_thread_totals(&after);
	RF_CHECK_INT(after.tracked, before.tracked);
	RF_CHECK_INT(after.unjoined, before.unjoined);
	RF_CHECK_INT(after.exited - before.exited, 1);
	RF_CHECK(rf_thread_join_begin(41) == NULL);
}

RF_TEST(full_registry_degrades)
{
	struct rf_thread_totals tot;
	uintptr_t frames[2];
	uint64_t i;

	/* Distinct stacks beyond the group table share the overflow group. */
	for (i = 0; i < RF_SHM_THREAD_GROUPS_MAX + 10; i++) {
		frames[0] = 0x10000 + i;
		frames[1] = 0x20000;
		spawn(frames, 2, i + 1, 0, 0);
	}
	rf_thread_totals(&tot);
	RF_CHECK_INT(tot.groups, RF_SHM_THREAD_GROUPS_MAX);
	RF_CHECK_INT(tot.alive, RF_SHM_THREAD_GROUPS_MAX + 10);
	/* Records beyond RF_THREAD_MAX: the thread runs untracked. */
	for (; i < RF_THREAD_MAX; i++)
		spawn(stack_a, 3, i + 1, 0, 0);
	RF_CHECK(rf_thread_create_begin(stack_a, 3, 0, 0, 1, 0) == NULL);
	rf_thread_totals(&tot);
	RF_CHECK_INT(tot.untracked, 1);
	RF_CHECK_INT(tot.tracked, RF_THREAD_MAX);
	rf_thread_registry_release();
}

RF_TEST(fork_child_keeps_the_forking_thread)
{
	struct rf_thread_totals tot;
	struct rf_thread *keep;

	spawn(stack_a, 3, 1, 0, 0);
	spawn(stack_a, 3, 2, 0, 0);
	keep = spawn(stack_b, 3, 3, 0, 0);
	rf_thread_fork_prepare();
	rf_thread_fork_child(keep);
	rf_thread_totals(&tot);
	RF_CHECK_INT(tot.tracked, 1);
	RF_CHECK_INT(tot.alive, 1);
	RF_CHECK_INT(tot.groups, 1);
	RF_CHECK(rf_thread_join_begin(1) == NULL);
	/* The registry works on: the kept thread ends, is joined. */
	rf_thread_ended(keep, RF_SHM_THREAD_END_RETURN, 1);
	rf_thread_join_end(rf_thread_join_begin(3), true, 1);
	spawn(stack_a, 3, 4, 0, 0);
	rf_thread_totals(&tot);
	RF_CHECK_INT(tot.tracked, 1);
	RF_CHECK_INT(tot.groups, 2);
	rf_thread_registry_release();
}

static int report_lines;
static char report_first[512];

static void report_print(const char *line)
{
	if (report_lines++ == 0)
		snprintf(report_first, sizeof(report_first), "%s", line);
}

static int report_namer(uintptr_t addr, char *name, size_t len, uintptr_t *offset,
			const char **module)
{
	snprintf(name, len, "fn_%lx", (unsigned long)(addr & ~(uintptr_t)0xfff));
	*offset = addr & 0xfff;
	if (module)
		*module = "/bin/app";
	return 0;
}

RF_TEST(report_at_exit)
{
	struct rf_thread_rules r = rules_running();
	struct rf_thread *t;

	r.at_exit = true;
	RF_CHECK_INT(rf_thread_report(&r, 0, report_print), 0); /* nothing: silent */
	RF_CHECK_INT(report_lines, 0);
	rf_thread_namer_set(report_namer);
	spawn(stack_a, 3, 1, 0, 0);
	spawn(stack_a, 3, 2, 0, 0);
	t = spawn(stack_b, 3, 3, 0, 0);
	rf_thread_ended(t, RF_SHM_THREAD_END_RETURN, 1);
	t = spawn(stack_b, 3, 4, 0, 0);
	rf_thread_name_set(t, "rdk:main"); /* a library thread: not counted */
	RF_CHECK_INT(rf_thread_report(&r, 2 * SEC, report_print), 3);
	RF_CHECK(strstr(report_first, "2 leaked") != NULL);
	RF_CHECK(strstr(report_first, "1 unjoined") != NULL);
	RF_CHECK(report_lines > 8);
}

static char report_all[4096];

static void report_collect(const char *line)
{
	size_t used = strlen(report_all);

	snprintf(report_all + used, sizeof(report_all) - used, "%s\n", line);
}

/* A stripped library names only its exported functions; a static start
 * routine inside it must not take the name of the export before it. */
RF_TEST(start_routine_named_only_at_its_entry)
{
	struct rf_thread_rules r = rules_running();
	struct rf_thread *t;

	rf_thread_registry_release();
	r.at_exit = true;
	rf_thread_namer_set(report_namer); /* fn_<addr rounded down to 4 KiB> */
	t = rf_thread_create_begin(stack_a, 3, 0x5000, 0, 1, 1);
	rf_thread_create_end(t, 11, true);
	t = rf_thread_create_begin(stack_b, 3, 0x6040, 0, 1, 1);
	rf_thread_create_end(t, 12, true);
	rf_thread_maintain(&r, 2 * SEC); /* names start routines, as the publisher does */
	report_all[0] = '\0';
	RF_CHECK_INT(rf_thread_report(&r, 2 * SEC, report_collect), 2);
	RF_CHECK(strstr(report_all, "start routine fn_5000\n") != NULL);
	RF_CHECK(strstr(report_all, "start routine ?\n") != NULL);
	RF_CHECK(strstr(report_all, "start routine fn_6000") == NULL);
	rf_thread_namer_set(NULL);
	rf_thread_registry_release();
}

RF_TEST_MAIN(RF_TEST_ENTRY(pool_reuse_and_bound), RF_TEST_ENTRY(join_releases),
	     RF_TEST_ENTRY(handle_table_finds_every_live_thread),
	     RF_TEST_ENTRY(reused_handle_finds_the_new_record),
	     RF_TEST_ENTRY(join_before_exit_and_failed_join),
	     RF_TEST_ENTRY(detach_before_and_after_exit),
	     RF_TEST_ENTRY(detached_attribute_ends_before_creator),
	     RF_TEST_ENTRY(joinable_ends_before_creator), RF_TEST_ENTRY(failed_create_is_forgotten),
	     RF_TEST_ENTRY(groups_by_creation_stack), RF_TEST_ENTRY(rules),
	     RF_TEST_ENTRY(go_runtime_threads_are_library), RF_TEST_ENTRY(patterns),
	     RF_TEST_ENTRY(growth_makes_stuck),
	     RF_TEST_ENTRY(hundred_thousand_threads_do_not_grow_the_registry),
	     RF_TEST_ENTRY(ends_race_joins_and_detaches),
	     RF_TEST_ENTRY(registry_lock_under_contention),
	     RF_TEST_ENTRY(detach_while_a_join_waits), RF_TEST_ENTRY(full_registry_degrades),
	     RF_TEST_ENTRY(fork_child_keeps_the_forking_thread), RF_TEST_ENTRY(report_at_exit),
	     RF_TEST_ENTRY(start_routine_named_only_at_its_entry))
