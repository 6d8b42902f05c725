/*
 * test_writer.h - segments for the reporter's unit tests: a valid one from
 * the real writer (rf_core), copies of it written under a prefix of the test
 * process's own, read back, and removed when the test ends, even when a check
 * fails.
 */
#ifndef TEST_WRITER_H
#define TEST_WRITER_H

#include <stddef.h>
#include <sys/types.h>

#include "rf_shm.h"
#include "rf_test.h"
#include "rp_snapshot.h"

/* "rp-unit-<pid of the test>", set by rp_test_prefix_set and rp_test_valid. */
extern char rp_test_prefix[32];

/* Sets rp_test_prefix for the process running the test. */
void rp_test_prefix_set(void);

/*
 * A valid segment for this process from the real writer, copied into buf
 * (RF_SHM_SIZE bytes): cmdline "test-reader --flag", start time 1700000000 s,
 * produce_msgs 10, producev_msgs 5, produce_bytes 1000, publishes 1, every
 * other counter 0, no table entry in use. The writer's own segment stays,
 * under rp_test_prefix and this pid.
 */
void rp_test_valid(unsigned char *buf);

/* Replaces /<rp_test_prefix>.<pid> with len bytes of buf. */
void rp_test_write(pid_t pid, const void *buf, size_t len);

/* rp_segment_read of /<rp_test_prefix>.<pid>, its verdict printed as a TAP comment. */
enum rp_read_error rp_test_read(pid_t pid, struct rp_snapshot *snap, struct rp_failure *fail);

/* Has rp_test_cleanup remove the segment (or file) /name too. */
void rp_test_track(const char *name);

/* Removes every segment the test created (also run at exit). */
void rp_test_cleanup(void);

/*
 * RF_TEST with the cleanup: the harness ends a passing test with _exit(),
 * which skips atexit handlers (they still run for a failing check).
 */
#define RP_TEST(name)                                                                   \
	static void rp_body_##name(void);                                               \
	RF_TEST(name)                                                                   \
	{                                                                               \
		rp_body_##name();                                                       \
		rp_test_cleanup();                                                      \
	}                                                                               \
	static void rp_body_##name(void)

/* The header of a segment's bytes. */
#define RP_HDR(buf) ((struct rf_shm_header *)(void *)(buf))

#endif /* TEST_WRITER_H */
