/*
 * test_threads_reader.c - the reporter's side of the thread sections: a
 * segment written by the real writer (rf_thread_publish) is read, judged and
 * grouped as the shim judged it; each kind of corruption of the thread
 * sections is refused as a layout error naming the field.
 */
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include "rf_config.h"
#include "rf_segment.h"
#include "rf_test.h"
#include "rf_thread.h"
#include "rp_format.h"
#include "rp_print_handles.h"
#include "rp_print_ls.h"
#include "rp_print_prom.h"
#include "rp_print_stat.h"
#include "rp_print_threads.h"
#include "rp_segment.h"
#include "rp_threads.h"
#include "rf_time.h"

#define MS 1000000LL

static char prefix[32];
static struct rf_segment seg;

static void segment_new(void)
{
	struct rf_shm_config config;
	struct rf_segment_identity id = {
		.pid = getpid(), .cmdline = "test", .config_error = "", .config = &config};

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
	static struct rf_publication pub;
	struct rf_thread *t;
	int64_t now = rf_clock_ns(CLOCK_MONOTONIC);

	rf_publication_begin(&pub, &seg, NULL, false);
	for (uint64_t i = 1; i <= 3; i++) {
		t = rf_thread_create_begin(a, 2, 0x9000, 0, 1, now - 5000 * MS + (int64_t)i * MS);
		rf_thread_create_end(t, i, true);
		rf_thread_started(t, i, (pid_t)(1000 + i));
		rf_thread_name_set(t, "worker");
		if (i == 1)
			rf_thread_publish(&pub, &rules, now - 500 * MS);
	}
	t = rf_thread_create_begin(b, 2, 0x9100, 0, 1, now - 10 * MS);
	rf_thread_create_end(t, 10, true);
	rf_thread_ended(t, RF_SHM_THREAD_END_RETURN, now - 5 * MS);
	t = rf_thread_create_begin(c, 1, 0x9200, RF_THREAD_F_DETACHED, 1, now - 10 * MS);
	rf_thread_create_end(t, 11, true);
	rf_thread_name_set(t, "rdk:main");
	rf_thread_publish(&pub, &rules, now);
	rf_publication_end(&pub);
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

/* Times are untrusted numbers too: an age saturates instead of wrapping. */
RF_TEST(extreme_times_saturate)
{
	struct rp_snapshot snap;
	struct rp_failure fail;
	struct rp_threads t;

	segment_new();
	populate();
	seg.shm->threads[0].create_ns = INT64_MIN + 1;
	RF_CHECK_INT(rp_segment_read(prefix, getpid(), &snap, &fail), RP_READ_OK);
	RF_CHECK_INT(rp_threads_analyse(&snap, NULL, &t), 0);
	for (uint64_t i = 0; i < t.ngroups; i++) {
		const struct rp_group_view *v = &t.groups[i];

		RF_CHECK(v->age_min >= -1); /* -1: no thread alive */
		if (v->index == seg.shm->threads[0].group)
			RF_CHECK_INT(v->age_max, INT64_MAX);
	}
	rp_threads_release(&t);
	rp_snapshot_release(&snap);
	segment_drop();
}

/* The module map of this test program, as the shim would record it. */
static void module_of_self(struct rf_shm_module *self)
{
	char line[512], path[256];
	unsigned long lo, hi, off;
	ssize_t n;
	FILE *maps;

	memset(self, 0, sizeof(*self));
	n = readlink("/proc/self/exe", self->path, sizeof(self->path) - 1);
	RF_CHECK(n > 0);
	self->path[n] = '\0';
	maps = fopen("/proc/self/maps", "r");
	RF_CHECK(maps != NULL);
	while (fgets(line, sizeof(line), maps))
		if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %255s", &lo, &hi, &off, path) == 4 &&
		    strcmp(path, self->path) == 0) {
			if (self->start == 0) {
				self->start = lo;
				self->base = lo - off;
			}
			self->end = hi;
		}
	fclose(maps);
}

/* Random numbers for the mutations: fixed seed, so that a failure repeats. */
static uint64_t mutate_state = 0x9e3779b97f4a7c15u;

static uint64_t mutate_next(void)
{
	mutate_state ^= mutate_state << 13;
	mutate_state ^= mutate_state >> 7;
	mutate_state ^= mutate_state << 17;
	return mutate_state;
}

/* A byte somewhere the reader looks: the header or an entry in use (by the
 * unchanged directory, so that it stays inside the segment). */
static size_t mutate_offset(const struct rf_shm_header *hdr)
{
	uint32_t pick = (uint32_t)(mutate_next() % (hdr->section_count + 1));
	const struct rf_shm_section *sec;
	uint64_t used;

	if (pick == hdr->section_count)
		return (size_t)(mutate_next() % hdr->header_size);
	sec = &hdr->sections[pick];
	used = (sec->count ? sec->count : 1) * sec->entry_size;
	return (size_t)(sec->offset + mutate_next() % used);
}

/*
 * The reader's promise (rf_shm.h, "Reading"): any bytes at all are either
 * refused with a message or printed by every printer. Ten thousand copies
 * of a full segment (a tenth under TSan: one thread, see RF_TEST_ROUNDS),
 * each with a few fields changed to random or boundary values; the unit
 * suite also runs under ASan and UBSan, which turn any out-of-bounds
 * access, misaligned access or overflow into a failure.
 */
RF_TEST(mutated_segments_are_refused_or_printed)
{
	static const uint64_t boundary[] = {0,
					    1,
					    7,
					    8,
					    0x7f,
					    0x80,
					    0xff,
					    0xffff,
					    0x7fffffff,
					    0x80000000,
					    0xffffffff,
					    UINT64_C(1) << 32,
					    (uint64_t)INT64_MAX,
					    (uint64_t)INT64_MIN,
					    UINT64_MAX};
	const unsigned rounds = RF_TEST_ROUNDS(10000);
	struct rf_shm_layout *shm;
	unsigned char *good;
	unsigned accepted = 0, refused = 0;
	FILE *sink = fopen("/dev/null", "w");

	RF_CHECK(sink != NULL);
	segment_new();
	populate();
	shm = seg.shm;
	/* Every table in use, so that every printer has something to walk. */
	rf_segment_section_count(&seg, RF_SHM_SECTION_HANDLES, 1);
	snprintf(shm->handles[0].name, sizeof(shm->handles[0].name), "rdkafka#producer-1");
	snprintf(shm->handles[0].client_id, sizeof(shm->handles[0].client_id), "app");
	shm->handles[0].state = RF_SHM_HANDLE_OPEN;
	shm->handles[0].bytes_held = 4096;
	shm->handles[0].last_poll_monotonic_ns = 1;
	RF_CHECK_INT(rf_segment_room(&seg, RF_SHM_SECTION_MODULES, 1), 1);
	rf_segment_section_count(&seg, RF_SHM_SECTION_MODULES, 1);
	module_of_self(&shm->modules[0]);
	RF_CHECK_INT(rf_segment_room(&seg, RF_SHM_SECTION_THREAD_SAMPLES, 1), 1);
	rf_segment_section_count(&seg, RF_SHM_SECTION_THREAD_SAMPLES, 1);
	shm->thread_samples[0].frames[0] = (uint64_t)(uintptr_t)populate + 4;
	shm->thread_samples[0].nframes = 1;
	shm->thread_samples[0].status = RF_SHM_SAMPLE_OK;
	shm->thread_samples[0].taken_ns = 1;
	good = malloc(RF_SHM_SIZE);
	RF_CHECK(good != NULL);
	memcpy(good, shm, RF_SHM_SIZE);

	for (unsigned round = 0; round < rounds; round++) {
		struct rp_snapshot snap;
		struct rp_failure fail;
		struct rp_threads t;
		int changes = 1 + (int)(mutate_next() % 4);

		memcpy(shm, good, RF_SHM_SIZE);
		for (int k = 0; k < changes; k++) {
			size_t at = mutate_offset((const struct rf_shm_header *)good);
			uint64_t r = mutate_next(),
				 v = boundary[r % (sizeof(boundary) / sizeof(boundary[0]))];
			unsigned char *p = (unsigned char *)shm;

			switch ((r >> 8) % 4) {
			case 0: /* one bit */
				p[at] ^= (unsigned char)(1u << (r >> 16) % 8);
				break;
			case 1: /* a 4-byte field */
				at &= ~(size_t)3;
				memcpy(p + at, &(uint32_t){(uint32_t)v}, 4);
				break;
			case 2: /* an 8-byte field */
				at &= ~(size_t)7;
				memcpy(p + at, &v, 8);
				break;
			default: /* a random byte */
				p[at] = (unsigned char)(r >> 24);
				break;
			}
		}
		/* Mutations of seq make it odd: the reader then retries and reports torn. */
		if (rp_segment_read(prefix, getpid(), &snap, &fail) != RP_READ_OK) {
			RF_CHECK(fail.message[0] != '\0');
			refused++;
			continue;
		}
		accepted++;
		rp_stat_print_text(sink, &snap, 0);
		rp_stat_print_json(sink, &snap);
		rp_stat_print_prometheus(sink, &snap, 1);
		rp_ls_print_row(sink, &snap, 0, 80);
		rp_ls_print_json_row(sink, &snap);
		rp_handles_print_text(sink, &snap);
		rp_handles_print_json(sink, &snap);
		RF_CHECK_INT(rp_threads_analyse(&snap, NULL, &t), 0);
		/* Symbolising opens the program's ELF file: every eighth round. */
		struct rp_symbols *syms = round % 8 == 0 ? rp_threads_symbols_open(&snap) : NULL;
		rp_threads_print_text(sink, &t, syms, false);
		rp_threads_print_json(sink, &t, syms, false);
		rp_symbols_close(syms);
		rp_threads_release(&t);
		rp_snapshot_release(&snap);
	}
	printf("# %u mutated copies accepted, %u refused\n", accepted, refused);
	/* Both paths were exercised, not only the refusals. */
	RF_CHECK(accepted > rounds / 10);
	RF_CHECK(refused > rounds / 10);
	free(good);
	fclose(sink);
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

	RF_CHECK_INT(rf_segment_room(&seg, RF_SHM_SECTION_THREAD_SAMPLES, 1), 1);
	rf_segment_section_count(&seg, RF_SHM_SECTION_THREAD_SAMPLES, 1);
	shm->thread_samples[0].group = 7;
	expect_layout("thread_samples[0].group is 7");
	shm->thread_samples[0].group = 0;
	shm->thread_samples[0].nframes = 40;
	expect_layout("thread_samples[0].nframes is 40");
	shm->thread_samples[0].nframes = 0;

	RF_CHECK_INT(rf_segment_room(&seg, RF_SHM_SECTION_MODULES, 1), 1);
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
	struct rf_shm_module self;
	struct rp_symbols *syms;
	struct rp_frame f;
	char buf[128];

	module_of_self(&self);
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

/* A module path from a segment naming a FIFO must not block the reporter. */
RF_TEST(symbols_skip_a_fifo)
{
	struct rf_shm_module fifo;
	struct rp_symbols *syms;
	struct rp_frame f;

	module_of_self(&fifo);
	snprintf(fifo.path, sizeof(fifo.path), "/tmp/rp-fifo-%d", (int)getpid());
	RF_CHECK_INT(mkfifo(fifo.path, 0600), 0);
	alarm(10); /* a blocked open() ends the test with SIGALRM */
	syms = rp_symbols_open(&fifo, 1);
	alarm(0);
	unlink(fifo.path);
	RF_CHECK(syms != NULL);
	rp_symbols_lookup(syms, (uint64_t)(uintptr_t)populate + 4, false, &f);
	RF_CHECK(strcmp(f.function, "populate") != 0); /* nothing read from it */
	rp_symbols_close(syms);
}

RF_TEST_MAIN(RF_TEST_ENTRY(read_and_judge), RF_TEST_ENTRY(extreme_times_saturate),
	     RF_TEST_ENTRY(corruption_refused),
	     RF_TEST_ENTRY(mutated_segments_are_refused_or_printed),
	     RF_TEST_ENTRY(symbols_of_this_program), RF_TEST_ENTRY(symbols_skip_a_fifo))
