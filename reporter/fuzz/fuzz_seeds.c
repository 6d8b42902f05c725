/*
 * fuzz_seeds.c - `fuzz-seeds DIR`: the seed corpora of the fuzz targets and
 * the parser's dictionary.
 *
 *   DIR/segment/     segments from the real writer (test_writer.h): valid;
 *                    with a handle; exited; as an older and a newer writer of
 *                    the layout version write them; with threads, groups, a
 *                    sample and the module map from the shim's own thread
 *                    publisher; with every string hostile; cut to a
 *                    header, to magic and version, to nothing
 *   DIR/config/      environment blocks (NUL-separated, as fuzz-config reads
 *                    them): every RINGFENCE_* variable at its default, then
 *                    values of each form, accepted and refused
 *   DIR/config.dict  the variables' names and the words their values use
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "rf_config.h"
#include "rf_modules.h"
#include "rf_segment.h"
#include "rf_thread.h"
#include "rf_time.h"
#include "test_writer.h"

static const char *rp_dir;

static void rp_seed_write(const char *sub, const char *name, const void *bytes, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", rp_dir, sub, name);
	f = fopen(path, "wb");
	RF_CHECK(f != NULL);
	RF_CHECK(fwrite(bytes, 1, len, f) == len);
	RF_CHECK(fclose(f) == 0);
}

static void rp_seed_mkdir(const char *sub)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", rp_dir, sub);
	RF_CHECK(mkdir(path, 0755) == 0 || errno == EEXIST);
}

/*
 * The shim's thread publisher over the segment bytes buf: three threads of
 * one creation stack (one sampled), one ended and never joined, a library
 * thread, the current-stack answer and the module map of this process.
 */
static void rp_seed_threads(unsigned char *buf)
{
	const uintptr_t a[] = {(uintptr_t)rp_seed_threads + 16, (uintptr_t)rp_seed_write + 16};
	const uintptr_t b[] = {(uintptr_t)rp_seed_mkdir + 16, (uintptr_t)rp_seed_write + 16};
	struct rf_thread_sample_target targets[RF_SHM_THREAD_SAMPLES_MAX];
	struct rf_thread_rules rules = {.age_ns = 1000000000, .group_max = 256};
	struct rf_segment seg = {.shm = (struct rf_shm_layout *)(void *)buf};
	int64_t now = rf_clock_ns(CLOCK_MONOTONIC);
	static struct rf_publication pub;
	struct rf_thread *t;
	size_t n;

	for (uint64_t i = 1; i <= 3; i++) {
		t = rf_thread_create_begin(a, 2, (uintptr_t)rp_seed_threads, 0, 1,
					   now - 5000000000 + (int64_t)i);
		rf_thread_create_end(t, i, true);
		rf_thread_started(t, i, (pid_t)(1000 + i));
		rf_thread_name_set(t, "worker");
	}
	t = rf_thread_create_begin(b, 2, (uintptr_t)rp_seed_mkdir, 0, 1, now - 10000000);
	rf_thread_create_end(t, 10, true);
	rf_thread_ended(t, RF_SHM_THREAD_END_RETURN, now - 5000000);
	t = rf_thread_create_begin(b, 1, (uintptr_t)rp_seed_write, RF_THREAD_F_DETACHED, 1, now);
	rf_thread_create_end(t, 11, true);
	rf_thread_name_set(t, "rdk:main");
	n = rf_thread_sample_targets(targets, RF_SHM_THREAD_SAMPLES_MAX);
	for (size_t i = 0; i < n; i++) {
		targets[i].status = i == 0 ? RF_SHM_SAMPLE_OK : RF_SHM_SAMPLE_BLOCKED;
		targets[i].nframes = 2;
		memcpy(targets[i].frames, a, sizeof(a));
		targets[i].taken_ns = now;
	}
	rf_thread_sample_store(42, RF_SHM_SAMPLE_OK, 61, targets, n, now);
	rf_publication_begin(&pub, &seg, NULL, false);
	rf_thread_publish(&pub, &rules, now);
	rf_modules_publish(&pub);
	rf_publication_end(&pub);
}

static void rp_seed_segments(void)
{
	static unsigned char buf[RF_SHM_SIZE], newer[RP_TEST_NEWER_MAX];
	struct rf_shm_header *hdr = RP_HDR(buf);

	rp_seed_mkdir("segment");
	rp_test_valid(buf);
	rp_seed_write("segment", "valid", buf, sizeof(buf));
	rp_test_handle_add(buf);
	rp_test_stat_set(buf, RF_STAT_budget_nowait, 3);
	rp_test_stat_set(buf, RF_STAT_budget_waits, 1);
	rp_seed_write("segment", "handle", buf, sizeof(buf));
	rp_seed_write("segment", "newer", newer, rp_test_newer(buf, newer));
	rp_test_section(buf, RF_SHM_SECTION_STATS)->count = RF_STAT_threads_created;
	rp_seed_write("segment", "older", buf, sizeof(buf));

	rp_test_valid(buf);
	hdr->status = RF_SHM_STATUS_EXITED;
	hdr->exit_status_known = 1;
	hdr->exit_status = 3;
	hdr->exit_realtime_ns = hdr->start_realtime_ns + 2000000000;
	rp_seed_write("segment", "exited", buf, sizeof(buf));

	rp_test_valid(buf);
	rp_seed_threads(buf);
	rp_seed_write("segment", "threads", buf, sizeof(buf));

	rp_test_hostile(buf);
	rp_seed_write("segment", "hostile", buf, sizeof(buf));

	/* Short ones, for the paths of bytes that are barely a segment. */
	rp_seed_write("segment", "header", buf, sizeof(struct rf_shm_header));
	rp_seed_write("segment", "magic", buf, 12);
	rp_seed_write("segment", "empty", buf, 0);
}

/* One environment block: the entries of text (separated by '|') NUL-separated. */
static void rp_seed_env(const char *name, const char *text)
{
	char block[4096];
	size_t len = strlen(text);

	RF_CHECK(len < sizeof(block));
	memcpy(block, text, len);
	for (size_t i = 0; i < len; i++)
		if (block[i] == '|')
			block[i] = '\0';
	rp_seed_write("config", name, block, len);
}

static void rp_seed_config(void)
{
	char block[4096];
	size_t len = 0;
	FILE *dict;
	char path[4096];

	rp_seed_mkdir("config");
#define RP_SEED_DEFAULT(name, type, env, def, min, max, help)                                      \
	len += (size_t)snprintf(block + len, sizeof(block) - len, "%s=%s|", env, def);
	RF_CONFIG(RP_SEED_DEFAULT)
#undef RP_SEED_DEFAULT
	RF_CHECK(len < sizeof(block));
	rp_seed_env("defaults", block);
	rp_seed_env(
		"accepted",
		"RINGFENCE_BUDGET=1G|RINGFENCE_POLICY=drop-oldest|RINGFENCE_BLOCK_TIMEOUT=250ms|"
		"RINGFENCE_PUBLISH_INTERVAL=5m|RINGFENCE_SHM_PREFIX=my_prefix-1|"
		"RINGFENCE_THREAD_AGE=1h|RINGFENCE_THREAD_GROUP=1000000|"
		"RINGFENCE_THREAD_IGNORE=rdk:*,my_worker,?x|RINGFENCE_THREAD_SAMPLE=yes|"
		"RINGFENCE_REPORT_AT_EXIT=on|RINGFENCE_HEAP_LIMIT=65535|RINGFENCE_HEAP_CACHE=false|"
		"RINGFENCE_SHIM=/x/libringfence.so|PATH=/bin");
	rp_seed_env("refused",
		    "RINGFENCE_BUDGET=64Q|RINGFENCE_POLICY=|RINGFENCE_BLOCK_TIMEOUT=-1s|"
		    "RINGFENCE_PUBLISH_INTERVAL=99999999999999999999h|RINGFENCE_SHM_PREFIX=a/b|"
		    "RINGFENCE_THREAD_AGE=1|RINGFENCE_THREAD_GROUP=0x10|"
		    "RINGFENCE_THREAD_IGNORE=a b|RINGFENCE_THREAD_SAMPLE=2|RINGFENCE_BUDGT=1M|"
		    "RINGFENCE_HEAP_LIMIT=18446744073709551615|RINGFENCE_=|RINGFENCE_BUDGET");

	snprintf(path, sizeof(path), "%s/config.dict", rp_dir);
	dict = fopen(path, "w");
	RF_CHECK(dict != NULL);
#define RP_SEED_WORD(name, type, env, def, min, max, help) fprintf(dict, "\"%s=\"\n", env);
	RF_CONFIG(RP_SEED_WORD)
#undef RP_SEED_WORD
	static const char *const words[] = {"RINGFENCE_", "RINGFENCE_SHIM=",
					    "K",          "M",
					    "G",          "ms",
					    "s",          "m",
					    "h",          "block",
					    "fail",       "drop-oldest",
					    "observe",    "yes",
					    "no",         "true",
					    "false",      "on",
					    "off",        "*",
					    "?",          ",",
					    "\\x00",      "18446744073709551615",
					    "0"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		fprintf(dict, "\"%s\"\n", words[i]);
	RF_CHECK(fclose(dict) == 0);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fuzz-seeds DIR\n");
		return 2;
	}
	rp_dir = argv[1];
	rp_seed_mkdir("");
	rp_seed_segments();
	rp_seed_config();
	rp_test_cleanup();
	return 0;
}
