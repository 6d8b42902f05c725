/*
 * test_threads_reader.c - the reporter's side of the thread sections: a
 * segment written by the real writer (rf_thread_publish) is read, judged and
 * grouped as the shim judged it; each kind of corruption of the thread
 * sections is refused as a layout error naming the field.
 */
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "rf_config.h"
#include "rf_segment.h"
#include "rf_test.h"
#include "rf_thread.h"
#include "rp_segment.h"
#include "rp_threads.h"

#define MS 1000000LL

static char prefix[32];
static struct rf_segment seg;

static void segment_new(void)
{
	struct rf_shm_config config;
	struct rf_segment_identity id = {.pid = getpid(), .cmdline = "test", .config_error = "",
					  .config = &config};

	rf_config_defaults(&config);
	config.thread_age = 1000 * MS;
	snprintf(prefix, sizeof(prefix), "rp-thr-%d", (int)getpid());
	RF_CHECK_INT(rf_segment_create(&seg, prefix, &id), 0);
}

static void segment_drop(void)
{
	char name[RF_SHM_NAME_MAX];

	rf_segment_name(prefix, getpid(), name);
	shm_unlink(name);
}

/* 3 leaked-by-growth threads from one stack, 1 unjoined from another, a library one. */
static void populate(void)
{
	static const uintptr_t a[] = {0x1000, 0x2000}, b[] = {0x3000, 0x2000}, c[] = {0x5000};
	struct rf_thread_rules rules = {.age_ns = 1000 * MS, .group_max = 256};
	struct rf_thread *t;
	struct timespec ts;
	int64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	rf_segment_publish_begin(&seg);
	for (uint64_t i = 1; i <= 3; i++) {
		t = rf_thread_create_begin(a, 2, 0x9000, 0, 1, now - 5000 * MS + (int64_t)i * MS);
		rf_thread_create_end(t, i, true);
		rf_thread_started(t, i, (pid_t)(1000 + i));
		rf_thread_name_set(t, "worker");
		if (i == 1)
			rf_thread_publish(&seg, &rules, now - 500 * MS, false);
	}
	t = rf_thread_create_begin(b, 2, 0x9100, 0, 1, now - 10 * MS);
	rf_thread_create_end(t, 10, true);
	rf_thread_ended(t, RF_SHM_THREAD_END_RETURN, now - 5 * MS);
	t = rf_thread_create_begin(c, 1, 0x9200, RF_THREAD_F_DETACHED, 1, now - 10 * MS);
	rf_thread_create_end(t, 11, true);
	rf_thread_name_set(t, "rdk:main");
	rf_thread_publish(&seg, &rules, now, false);
	rf_segment_publish_end(&seg);
}

RF_TEST(read_and_judge)
{
	struct rp_snapshot snap;
	struct rp_failure fail;
	struct rp_threads t;

	segment_new();
	populate();
	RF_CHECK_INT(rp_segment_read(prefix, getpid(), &snap, &fail), RP_READ_OK);
	RF_CHECK_INT(rp_threads_analyse(&snap, NULL, &t), 0);
	RF_CHECK(!t.at_exit);
	RF_CHECK_INT(t.ngroups, 3);
	RF_CHECK_INT(t.nthreads, 5);
	/* Leak groups first: the stuck one (grew within the age), then the unjoined. */
	RF_CHECK(t.groups[0].leak);
	RF_CHECK_INT(t.groups[0].cls, RF_THREAD_CLASS_STUCK);
	RF_CHECK_INT(t.groups[0].count, 3);
	RF_CHECK_INT(t.groups[0].g->frames[0], 0x1000);
	RF_CHECK_INT(t.groups[1].cls, RF_THREAD_CLASS_UNJOINED);
	RF_CHECK_INT(t.groups[1].count, 1);
	RF_CHECK(!t.groups[2].leak);
	RF_CHECK_INT(t.groups[2].cls, RF_THREAD_CLASS_LIBRARY);
	RF_CHECK_INT(rp_threads_leaked(&t), 3);
	rp_threads_release(&t);
	/* --ignore moves the stuck group out of the leaks. */
	struct rp_threads_options opts = {.ignore = "nothing,work*"};
	RF_CHECK_INT(rp_threads_analyse(&snap, &opts, &t), 0);
	RF_CHECK_INT(rp_threads_leaked(&t), 0);
	rp_threads_release(&t);
	rp_snapshot_release(&snap);
	segment_drop();
}

static void expect_layout(const char *what)
{
	struct rp_snapshot snap;
	struct rp_failure fail;

	RF_CHECK_INT(rp_segment_read(prefix, getpid(), &snap, &fail), RP_READ_LAYOUT);
	if (strstr(fail.message, what) == NULL) {
		printf("# message: %s\n# expected: %s\n", fail.message, what);
		RF_CHECK(0);
	}
}

RF_TEST(corruption_refused)
{
	struct rf_shm_layout *shm;

	segment_new();
	populate();
	shm = seg.shm;

	shm->threads[0].group = 3;
	expect_layout("threads[0].group is 3, but only 3 groups");
	shm->threads[0].group = 0;

	memset(shm->threads[1].name, 'x', sizeof(shm->threads[1].name));
	expect_layout("threads[1].name is not NUL-terminated");
	shm->threads[1].name[0] = '\0';

	memset(shm->threads[2].wchan, 'x', sizeof(shm->threads[2].wchan));
	expect_layout("threads[2].wchan");
	shm->threads[2].wchan[0] = '\0';

	shm->threads[0].end = 9;
	expect_layout("threads[0].end is 9");
	shm->threads[0].end = 0;

	shm->thread_groups[1].nframes = RF_SHM_THREAD_FRAMES + 1;
	expect_layout("thread_groups[1].nframes is 33");
	shm->thread_groups[1].nframes = 2;

	memset(shm->thread_groups[0].start_name, 'y', sizeof(shm->thread_groups[0].start_name));
	expect_layout("thread_groups[0].start_name");
	shm->thread_groups[0].start_name[0] = '\0';

	rf_segment_section_count(&seg, RF_SHM_SECTION_THREAD_SAMPLES, 1);
	shm->thread_samples[0].group = 7;
	expect_layout("thread_samples[0].group is 7");
	shm->thread_samples[0].group = 0;
	shm->thread_samples[0].nframes = 40;
	expect_layout("thread_samples[0].nframes is 40");
	shm->thread_samples[0].nframes = 0;

	rf_segment_section_count(&seg, RF_SHM_SECTION_MODULES, 1);
	memset(shm->modules[0].path, 'z', sizeof(shm->modules[0].path));
	expect_layout("modules[0].path");
	shm->modules[0].path[0] = '\0';
	shm->modules[0].start = 2;
	shm->modules[0].end = 1;
	expect_layout("modules[0] starts after it ends");
	shm->modules[0].end = 3;

	shm->thread_info[0].sample_status = 6;
	expect_layout("thread_info[0].sample_status is 6");
	shm->thread_info[0].sample_status = 0;

	/* Repaired: readable again. */
	struct rp_snapshot snap;
	struct rp_failure fail;
	RF_CHECK_INT(rp_segment_read(prefix, getpid(), &snap, &fail), RP_READ_OK);
	rp_snapshot_release(&snap);
	segment_drop();
}

RF_TEST(symbols_of_this_program)
{
	struct rf_shm_module self = {.base = 0};
	struct rp_symbols *syms;
	struct rp_frame f;
	char buf[128];

	/* The map of this test program, as the shim would record it. */
	ssize_t n = readlink("/proc/self/exe", self.path, sizeof(self.path) - 1);
	RF_CHECK(n > 0);
	self.path[n] = '\0';
	FILE *maps = fopen("/proc/self/maps", "r");
	unsigned long lo, hi, off;
	char line[512], path[256];
	RF_CHECK(maps != NULL);
	while (fgets(line, sizeof(line), maps))
		if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %255s", &lo, &hi, &off, path) == 4 &&
		    strcmp(path, self.path) == 0) {
			if (self.start == 0) {
				self.start = lo;
				self.base = lo - off;
			}
			self.end = hi;
		}
	fclose(maps);
	syms = rp_symbols_open(&self, 1);
	RF_CHECK(syms != NULL);
	/* A static function: only .symtab knows it (no -rdynamic). */
	rp_symbols_lookup(syms, (uint64_t)(uintptr_t)populate + 4, false, &f);
	RF_CHECK_STR(f.function, "populate");
	RF_CHECK_INT(f.offset, 4);
	RF_CHECK(strstr(f.file, "test_threads_reader.c") != NULL);
	RF_CHECK(f.line > 0);
	RF_CHECK_STR(f.module, self.path);
	rp_symbols_close(syms);
	rp_symbols_demangle("_ZN3app6Server15start_listenersEib", buf, sizeof(buf));
	RF_CHECK_STR(buf, "app::Server::start_listeners(int, bool)");
	rp_symbols_demangle("plain_c", buf, sizeof(buf));
	RF_CHECK_STR(buf, "plain_c");
}

RF_TEST_MAIN(RF_TEST_ENTRY(read_and_judge), RF_TEST_ENTRY(corruption_refused),
	     RF_TEST_ENTRY(symbols_of_this_program))
