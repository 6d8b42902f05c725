/*
 * test_print.c - what the printers write: escaping of untrusted strings, ages,
 * Prometheus families, the sums of `ls`, on segments from the real writer.
 * Each test runs in its own process with its own prefix, and removes what it
 * created even when a check fails.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>

#include "rf_test.h"
#include "rp_format.h"
#include "rp_print_stat.h"
#include "rp_stats.h"
#include "test_writer.h"

static unsigned char rp_buf[RF_SHM_SIZE];

/* What a printer wrote, as a string (the caller frees it). */
#define RP_CAPTURE(text, call)                                                          \
	do {                                                                            \
		size_t rp_len_;                                                         \
		FILE *out = open_memstream(&(text), &rp_len_);                          \
		RF_CHECK(out != NULL);                                                  \
		call;                                                                   \
		fclose(out);                                                            \
	} while (0)

RP_TEST(json_string_escaping)
{
	char *text = NULL;

	RP_CAPTURE(text, rp_json_string(out, "a\"b\\c/\n\r\t\b\f\x01\x1f\x7f\xc3\xa9\xff"));
	RF_CHECK_STR(text, "\"a\\\"b\\\\c/\\n\\r\\t\\b\\f\\u0001\\u001f\\u007f\\u00c3\\u00a9"
			   "\\u00ff\"");
	free(text);
	RP_CAPTURE(text, rp_json_string(out, ""));
	RF_CHECK_STR(text, "\"\"");
	free(text);
}

RP_TEST(stat_json_escapes_segment_strings)
{
	struct rp_snapshot snap;
	struct rp_failure fail;
	char *text = NULL;

	rp_test_valid(rp_buf);
	strcpy(RP_HDR(rp_buf)->cmdline, "evil \"\x1b[2J\" \xe9");
	rp_test_write(getpid(), rp_buf, sizeof(rp_buf));
	RF_CHECK_INT(rp_test_read(getpid(), &snap, &fail), RP_READ_OK);
	RP_CAPTURE(text, rp_stat_print_json(out, &snap));
	RF_CHECK(strstr(text, "\"command\": \"evil \\\"\\u001b[2J\\\" \\u00e9\"") != NULL);
	RF_CHECK(strstr(text, "\"exit_status\": null") != NULL);
	RF_CHECK(strstr(text, "\"policy\": \"block\"") != NULL);
	RF_CHECK(strstr(text, "\"produce_msgs\": 10") != NULL);
	for (const char *p = text; *p; p++)
		RF_CHECK((unsigned char)*p < 0x80 && (*p >= 0x20 || *p == '\n'));
	free(text);
}

RP_TEST(text_sanitize)
{
	char out[64];

	rp_text_sanitize("plain text", 0, out, sizeof(out));
	RF_CHECK_STR(out, "plain text");
	rp_text_sanitize("\x1b[31mred\n", 0, out, sizeof(out));
	RF_CHECK_STR(out, "\\x1b[31mred\\x0a");
	rp_text_sanitize("caf\xc3\xa9", 0, out, sizeof(out)); /* UTF-8 passes */
	RF_CHECK_STR(out, "caf\xc3\xa9");
	rp_text_sanitize("\xc2\x9b" "2J", 0, out, sizeof(out)); /* C1 CSI does not */
	RF_CHECK_STR(out, "\\xc2\\x9b2J");
	rp_text_sanitize("\xe0\x80\x80", 0, out, sizeof(out)); /* overlong */
	RF_CHECK_STR(out, "\\xe0\\x80\\x80");
	rp_text_sanitize("0123456789", 8, out, sizeof(out));
	RF_CHECK_STR(out, "01234...");
	rp_text_sanitize("01234567", 8, out, sizeof(out));
	RF_CHECK_STR(out, "01234567");
	rp_text_sanitize("0123456789", 0, out, 6); /* the buffer bounds too */
	RF_CHECK_STR(out, "01234");
}

RP_TEST(prometheus_groups_families)
{
	struct rp_snapshot snaps[2];
	struct rp_failure fail;
	char *text = NULL;
	const char *p;
	int families = 0;

	rp_test_valid(rp_buf);
	RF_CHECK_INT(rp_test_read(getpid(), &snaps[0], &fail), RP_READ_OK);
	snaps[1] = snaps[0];
	snaps[1].pid = 1;
	RP_CAPTURE(text, rp_stat_print_prometheus(out, snaps, 2));
	for (p = text; (p = strstr(p, "# TYPE ringfence_produce_msgs_total counter\n")); p++)
		families++;
	RF_CHECK_INT(families, 1);
	RF_CHECK(strstr(text, "# HELP ringfence_produce_msgs_total Messages accepted") != NULL);
	RF_CHECK(strstr(text, "ringfence_produce_msgs_total{pid=\"1\"} 10\n") != NULL);
	RF_CHECK(strstr(text, "# TYPE ringfence_up gauge\n") != NULL);
	RF_CHECK(strstr(text, "ringfence_up{pid=\"1\"} 1\n") != NULL);
	RF_CHECK(strstr(text, "ringfence_start_time_seconds{pid=\"1\"} 1700000000.000\n") != NULL);
	free(text);
	/* Nothing to expose, nothing printed. */
	RP_CAPTURE(text, rp_stat_print_prometheus(out, snaps, 0));
	RF_CHECK_STR(text, "");
	free(text);
}

RP_TEST(age_format)
{
	char buf[32];

	rp_age_format(1000, 1000, buf, sizeof(buf));
	RF_CHECK_STR(buf, "0ms");
	rp_age_format(INT64_C(12345) * 1000000, 0, buf, sizeof(buf));
	RF_CHECK_STR(buf, "12.3s");
	rp_age_format(INT64_C(303) * 1000000000, 0, buf, sizeof(buf));
	RF_CHECK_STR(buf, "5m03s");
	rp_age_format(INT64_C(7500) * 1000000000, 0, buf, sizeof(buf));
	RF_CHECK_STR(buf, "2h05m");
	rp_age_format(0, INT64_C(2) * 1000000000, buf, sizeof(buf));
	RF_CHECK_STR(buf, "-2.0s");
	/* Hostile times: no overflow (UBSan watches this one). */
	rp_age_format(INT64_MAX, INT64_MIN, buf, sizeof(buf));
	RF_CHECK(buf[0] != '-');
	rp_age_format(INT64_MIN, INT64_MAX, buf, sizeof(buf));
	RF_CHECK(buf[0] == '-');
}

RP_TEST(stats_sum)
{
	struct rp_snapshot snap;
	struct rp_failure fail;

	rp_test_valid(rp_buf);
	RF_CHECK_INT(rp_test_read(getpid(), &snap, &fail), RP_READ_OK);
	RF_CHECK_INT(rp_stats_sum(snap.stats, "_msgs"), 15);
	RF_CHECK_INT(rp_stats_sum(snap.stats, "_bytes"), 1000);
	rp_snapshot_release(&snap);
}

RF_TEST_MAIN(RF_TEST_ENTRY(json_string_escaping), RF_TEST_ENTRY(stat_json_escapes_segment_strings),
	     RF_TEST_ENTRY(text_sanitize), RF_TEST_ENTRY(prometheus_groups_families),
	     RF_TEST_ENTRY(age_format), RF_TEST_ENTRY(stats_sum))
