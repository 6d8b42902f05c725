/*
 * test_forge.c - rp-test-forge, for the reporter's end-to-end tests and
 * benchmarks: writes segments as another process of the user could, from
 * the real writer (test_writer.h). Not installed.
 *
 *   rp-test-forge PREFIX PID KIND [COUNT]
 *
 * creates /dev/shm/PREFIX.PID (mode 0600; it must not exist yet) holding
 * PID, and with COUNT the COUNT segments PID, PID + 1, ... KIND is one of:
 *   valid    rp_test_valid's segment
 *   hostile  rp_test_hostile's (every string a terminal escape or a byte of
 *            no UTF-8 sequence, a thread whose state letter is ESC)
 *   typical  valid, with a handle and the threads of a librdkafka producer
 *            (three groups, eight threads) and some traffic in its counters
 *   older    typical as an older writer of the same layout version wrote
 *            it: the header of version 8's first writers
 *            (RF_SHM_HEADER_SIZE_FIRST bytes) and the counters before
 *            budget_arena_resident_bytes only
 *   newer    typical as a newer writer could (rp_test_newer): a longer
 *            header, more and wider counters, longer handles, a section of
 *            an unknown kind
 * A process PID need not exist: the segment then reads as dead.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rp_list.h"
#include "test_writer.h"

static unsigned char rp_forge_buf[RF_SHM_SIZE];
static unsigned char rp_forge_newer[RP_TEST_NEWER_MAX];

/* Three creation stacks of a producer: its workers, librdkafka's broker threads, a timer. */
static void rp_forge_typical(unsigned char *buf)
{
	static const char *const starts[] = {"worker_main", "rd_kafka_broker_thread_main",
					     "timer_loop"};
	static const char *const names[] = {"worker", "rdk:broker1", "timer"};
	static const uint32_t threads[] = {4, 3, 1};
	struct rf_shm_thread_info info = {.threads_total = 8, .groups_total = 3};
	int32_t tid = 1000;

	rp_test_valid(buf);
	rp_test_handle_add(buf);
	rp_test_entry_add(buf, RF_SHM_SECTION_THREAD_INFO, &info, sizeof(info));
	for (uint32_t g = 0; g < 3; g++) {
		struct rf_shm_thread_group group = {.nframes = 2,
						    .frames = {0x401000 + g, 0x402000},
						    .alive = threads[g],
						    .created = threads[g],
						    .start_routine = 0x403000 + g,
						    .heap_live_bytes = 65536u * (g + 1)};

		snprintf(group.start_name, sizeof(group.start_name), "%s", starts[g]);
		snprintf(group.thread_name, sizeof(group.thread_name), "%s", names[g]);
		rp_test_entry_add(buf, RF_SHM_SECTION_THREAD_GROUPS, &group, sizeof(group));
		for (uint32_t t = 0; t < threads[g]; t++) {
			struct rf_shm_thread th = {.tid = tid++, .creator_tid = 1, .group = g};

			snprintf(th.name, sizeof(th.name), "%s", names[g]);
			rp_test_entry_add(buf, RF_SHM_SECTION_THREADS, &th, sizeof(th));
		}
	}
	rp_test_stat_set(buf, RF_STAT_budget_admitted, 150);
	rp_test_stat_set(buf, RF_STAT_budget_nowait, 140);
	rp_test_stat_set(buf, RF_STAT_budget_waits, 10);
	rp_test_stat_set(buf, RF_STAT_budget_wait_ns, 2500000000);
	rp_test_stat_set(buf, RF_STAT_budget_bytes, 4096);
	rp_test_stat_set(buf, RF_STAT_heap_live_bytes, 8u << 20);
	rp_test_stat_set(buf, RF_STAT_threads_alive, 8);
}

int main(int argc, char **argv)
{
	char prefix[RF_CONFIG_NAME_MAX], err[RP_MESSAGE_MAX], name[RF_SHM_NAME_MAX];
	const char *kind = argc > 3 ? argv[3] : "";
	unsigned char *buf = rp_forge_buf;
	size_t len = sizeof(rp_forge_buf);
	unsigned long count = 1;
	pid_t pid;
	char *end;

	if (argc == 5) {
		count = strtoul(argv[4], &end, 10);
		if (*end != '\0' || count == 0 || count > 100000)
			count = 0;
	}
	if ((argc != 4 && argc != 5) || count == 0 ||
	    rp_prefix_resolve(argv[1], prefix, err, sizeof(err)) < 0 ||
	    rp_pid_parse(argv[2], &pid) < 0 || (unsigned long)pid + count - 1 > INT32_MAX) {
		fprintf(stderr, "usage: rp-test-forge PREFIX PID valid|hostile|typical|older|newer "
				"[COUNT]\n");
		return 2;
	}
	if (strcmp(kind, "valid") == 0) {
		rp_test_valid(buf);
	} else if (strcmp(kind, "hostile") == 0) {
		rp_test_hostile(buf);
	} else if (strcmp(kind, "typical") == 0) {
		rp_forge_typical(buf);
	} else if (strcmp(kind, "older") == 0) {
		rp_forge_typical(buf);
		RP_HDR(buf)->header_size = RF_SHM_HEADER_SIZE_FIRST;
		rp_test_section(buf, RF_SHM_SECTION_STATS)->count =
			RF_STAT_budget_arena_resident_bytes;
	} else if (strcmp(kind, "newer") == 0) {
		rp_forge_typical(buf);
		len = rp_test_newer(buf, rp_forge_newer);
		buf = rp_forge_newer;
	} else {
		fprintf(stderr,
			"rp-test-forge: unknown kind '%s': valid, hostile, typical, older "
			"or newer\n",
			kind);
		return 2;
	}
	for (unsigned long i = 0; i < count; i++, pid++) {
		int fd;

		RP_HDR(buf)->pid = (int32_t)pid;
		rp_segment_name(prefix, pid, name);
		fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd < 0 || write(fd, buf, len) != (ssize_t)len) {
			perror(name);
			return 1;
		}
		close(fd);
	}
	return 0;
}
