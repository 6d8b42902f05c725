/*
 * test_writer.h - segments for the reporter's unit tests: a valid one from
 * the real writer (rf_core), copies of it written under a prefix of the test
 * process's own, read back, and removed when the test ends, even when a check
 * fails.
 */
#ifndef TEST_WRITER_H
#define TEST_WRITER_H

#include <stddef.h>
#include <stdint.h>
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

/*
 * Gives the valid segment buf one handle in use: "rdkafka#producer-1",
 * client.id "app", open, 4096 bytes held, 100 acknowledged and unserved,
 * 2 messages (200 bytes) dropped, polled by tid 77 five seconds before the
 * publish.
 */
void rp_test_handle_add(unsigned char *buf);

/*
 * Appends entry (size bytes, at most the section's entry_size) to the table
 * of kind in the segment bytes buf: the entry after those in use, and the
 * count one more.
 */
void rp_test_entry_add(unsigned char *buf, enum rf_shm_section_kind kind, const void *entry,
		       size_t size);

/*
 * A valid segment for this process (rp_test_valid) into buf with every
 * string made hostile: terminal escapes (an OSC title "\x1b]0;owned\x07",
 * clear screen, CR, DEL, the C1 CSI \xc2\x9b) and a byte of no UTF-8
 * sequence (\xe9); and in use: a handle, a thread
 * group, an alive thread in it whose state letter is ESC, its current-stack
 * sample, and the module (a path that does not exist) its frames are in.
 */
void rp_test_hostile(unsigned char *buf);

/* Sets counter stat of the segment bytes buf to value. */
void rp_test_stat_set(unsigned char *buf, enum rf_stat stat, uint64_t value);

/* The directory entry of kind in the segment bytes buf. */
struct rf_shm_section *rp_test_section(unsigned char *buf, enum rf_shm_section_kind kind);

/* Room for what rp_test_newer writes. */
#define RP_TEST_NEWER_MAX (RF_SHM_SIZE + 64 * 1024)
#define RP_TEST_NEWER_STATS 5        /* counters this reader does not know */
#define RP_TEST_NEWER_HANDLE_TAIL 24 /* bytes appended to every handle */

/*
 * valid (RF_SHM_SIZE bytes) as a newer writer of the same layout version
 * could have written it, into out (RP_TEST_NEWER_MAX bytes): a header 8
 * bytes longer, RP_TEST_NEWER_STATS counters more of 16 bytes each instead
 * of 8, handles RP_TEST_NEWER_HANDLE_TAIL bytes longer, and a section of a
 * kind this reader does not know, with entries of 12 bytes (a size a known
 * kind may not have). What a newer writer adds is filled with 0xee; the old
 * places of the counters and handles with 0xff, so only a reader that follows
 * the directory finds the figures. Returns the length written.
 */
size_t rp_test_newer(const unsigned char *valid, unsigned char *out);

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
#define RP_TEST(name)                                                                              \
	static void rp_body_##name(void);                                                          \
	RF_TEST(name)                                                                              \
	{                                                                                          \
		rp_body_##name();                                                                  \
		rp_test_cleanup();                                                                 \
	}                                                                                          \
	static void rp_body_##name(void)

/* The header of a segment's bytes. */
#define RP_HDR(buf) ((struct rf_shm_header *)(void *)(buf))

#endif /* TEST_WRITER_H */
