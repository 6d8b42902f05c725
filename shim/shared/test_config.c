/*
 * test_config.c - RINGFENCE_* parsing: accepted forms, rejected forms, ranges,
 * and what the messages say.
 */
#include <errno.h>

#include "rf_config.h"
#include "rf_test.h"

RF_TEST(size_forms)
{
	uint64_t v;

	RF_CHECK_INT(rf_size_parse("0", &v), 0);
	RF_CHECK_INT(v, 0);
	RF_CHECK_INT(rf_size_parse("65536", &v), 0);
	RF_CHECK_INT(v, 65536);
	RF_CHECK_INT(rf_size_parse("64K", &v), 0);
	RF_CHECK_INT(v, 64 * 1024);
	RF_CHECK_INT(rf_size_parse("64k", &v), 0);
	RF_CHECK_INT(v, 64 * 1024);
	RF_CHECK_INT(rf_size_parse("3M", &v), 0);
	RF_CHECK_INT(v, 3 * 1024 * 1024);
	RF_CHECK_INT(rf_size_parse("3MiB", &v), 0);
	RF_CHECK_INT(v, 3 * 1024 * 1024);
	RF_CHECK_INT(rf_size_parse("2G", &v), 0);
	RF_CHECK_INT(v, 2LL * 1024 * 1024 * 1024);
	RF_CHECK_INT(rf_size_parse("1GiB", &v), 0);
	RF_CHECK_INT(v, 1LL * 1024 * 1024 * 1024);
}

RF_TEST(size_rejected)
{
	uint64_t v = 7;

	RF_CHECK_INT(rf_size_parse("", &v), -EINVAL);
	RF_CHECK_INT(rf_size_parse("M", &v), -EINVAL);
	RF_CHECK_INT(rf_size_parse("-1", &v), -EINVAL);
	RF_CHECK_INT(rf_size_parse(" 64M", &v), -EINVAL);
	RF_CHECK_INT(rf_size_parse("64M ", &v), -EINVAL);
	RF_CHECK_INT(rf_size_parse("64MB", &v), -EINVAL);
	RF_CHECK_INT(rf_size_parse("64T", &v), -EINVAL);
	RF_CHECK_INT(rf_size_parse("1.5G", &v), -EINVAL);
	RF_CHECK_INT(rf_size_parse("0x40", &v), -EINVAL);
	RF_CHECK_INT(rf_size_parse("18446744073709551616", &v), -ERANGE);
	RF_CHECK_INT(rf_size_parse("17179869184G", &v), -ERANGE);
	RF_CHECK_INT(rf_size_parse(NULL, &v), -EINVAL);
	RF_CHECK_INT(v, 7); /* untouched on failure */
}

RF_TEST(duration_forms)
{
	uint64_t v;

	RF_CHECK_INT(rf_duration_parse("0", &v), 0);
	RF_CHECK_INT(v, 0);
	RF_CHECK_INT(rf_duration_parse("250ms", &v), 0);
	RF_CHECK_INT(v, 250000000);
	RF_CHECK_INT(rf_duration_parse("60s", &v), 0);
	RF_CHECK_INT(v, 60000000000LL);
	RF_CHECK_INT(rf_duration_parse("5m", &v), 0);
	RF_CHECK_INT(v, 300000000000LL);
	RF_CHECK_INT(rf_duration_parse("2h", &v), 0);
	RF_CHECK_INT(v, 7200000000000LL);
}

RF_TEST(duration_rejected)
{
	uint64_t v;

	RF_CHECK_INT(rf_duration_parse("60", &v), -EINVAL); /* no unit */
	RF_CHECK_INT(rf_duration_parse("1.5s", &v), -EINVAL);
	RF_CHECK_INT(rf_duration_parse("5 s", &v), -EINVAL);
	RF_CHECK_INT(rf_duration_parse("5S", &v), -EINVAL);
	RF_CHECK_INT(rf_duration_parse("5d", &v), -EINVAL);
	RF_CHECK_INT(rf_duration_parse("s", &v), -EINVAL);
	RF_CHECK_INT(rf_duration_parse("99999999999999999h", &v), -ERANGE);
}

RF_TEST(policy_names)
{
	enum rf_policy p;

	RF_CHECK_INT(rf_policy_parse("block", &p), 0);
	RF_CHECK_INT(p, RF_POLICY_BLOCK);
	RF_CHECK_INT(rf_policy_parse("fail", &p), 0);
	RF_CHECK_INT(p, RF_POLICY_FAIL);
	RF_CHECK_INT(rf_policy_parse("drop-oldest", &p), 0);
	RF_CHECK_INT(p, RF_POLICY_DROP_OLDEST);
	RF_CHECK_INT(rf_policy_parse("observe", &p), 0);
	RF_CHECK_INT(p, RF_POLICY_OBSERVE);
	RF_CHECK_INT(rf_policy_parse("Block", &p), -EINVAL);
	RF_CHECK_INT(rf_policy_parse("drop_oldest", &p), -EINVAL);
	RF_CHECK_STR(rf_policy_name(RF_POLICY_DROP_OLDEST), "drop-oldest");
	RF_CHECK_STR(rf_policy_name(99), "unknown");
}

RF_TEST(defaults)
{
	struct rf_shm_config c;

	rf_config_defaults(&c);
	RF_CHECK_INT(c.budget, 64 * 1024 * 1024);
	RF_CHECK_INT(c.policy, RF_POLICY_BLOCK);
	RF_CHECK_INT(c.block_timeout, 60000000000LL);
	RF_CHECK_INT(c.publish_interval, 200000000);
	RF_CHECK_STR(c.shm_prefix, "ringfence");
}

RF_TEST(set_messages)
{
	struct rf_shm_config c;
	char err[256];

	rf_config_defaults(&c);
	RF_CHECK_INT(rf_config_set(&c, "RINGFENCE_BUDGET", "64X", err, sizeof(err)), -EINVAL);
	RF_CHECK(strstr(err, "RINGFENCE_BUDGET") != NULL);
	RF_CHECK(strstr(err, "\"64X\"") != NULL);
	RF_CHECK(strstr(err, "K, M or G") != NULL);
	RF_CHECK_INT(c.budget, 64 * 1024 * 1024);

	RF_CHECK_INT(rf_config_set(&c, "RINGFENCE_BUDGET", "1K", err, sizeof(err)), -ERANGE);
	RF_CHECK(strstr(err, "out of range") != NULL);
	RF_CHECK(strstr(err, "64K to 64G") != NULL);

	RF_CHECK_INT(rf_config_set(&c, "RINGFENCE_BLOCK_TIMEOUT", "60", err, sizeof(err)), -EINVAL);
	RF_CHECK(strstr(err, "unit ms, s, m or h") != NULL);

	RF_CHECK_INT(rf_config_set(&c, "RINGFENCE_POLICY", "drop", err, sizeof(err)), -EINVAL);
	RF_CHECK(strstr(err, "block, fail, drop-oldest or observe") != NULL);

	RF_CHECK_INT(rf_config_set(&c, "RINGFENCE_SHM_PREFIX", "a/b", err, sizeof(err)), -EINVAL);
	RF_CHECK_INT(rf_config_set(&c, "RINGFENCE_SHM_PREFIX", "", err, sizeof(err)), -EINVAL);
	RF_CHECK_INT(rf_config_set(&c, "RINGFENCE_SHM_PREFIX", "abcdefghijklmnopqrstuvwxyz012345",
				   err, sizeof(err)),
		     -EINVAL);
	RF_CHECK_INT(rf_config_set(&c, "RINGFENCE_SHM_PREFIX", "rf-test_1", err, sizeof(err)), 0);
	RF_CHECK_STR(c.shm_prefix, "rf-test_1");

	RF_CHECK_INT(rf_config_set(&c, "RINGFENCE_NOPE", "1", err, sizeof(err)), -ENOENT);
}

RF_TEST(message_quotes_hostile_value)
{
	struct rf_shm_config c;
	char err[256];
	char value[400];

	memset(value, 'A', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	value[3] = '\n';
	value[4] = '\033';
	rf_config_defaults(&c);
	RF_CHECK_INT(rf_config_set(&c, "RINGFENCE_BUDGET", value, err, sizeof(err)), -EINVAL);
	RF_CHECK(strchr(err, '\n') == NULL);
	RF_CHECK(strchr(err, '\033') == NULL);
	RF_CHECK(strstr(err, "...") != NULL);
	RF_CHECK(strlen(err) < sizeof(err));
}

struct rf_warned {
	int count;
	char last[64];
};

static void rf_test_warn(const char *assignment, void *arg)
{
	struct rf_warned *w = arg;

	w->count++;
	snprintf(w->last, sizeof(w->last), "%s", assignment);
}

RF_TEST(load_environment)
{
	char *env[] = {
		"PATH=/bin",
		"RINGFENCE_BUDGET=8M",
		"RINGFENCE_POLICY=fail",
		"RINGFENCE_BUDGTE=1G", /* a typo: warned, not fatal */
		"RINGFENCE_BLOCK_TIMEOUT=250ms",
		NULL,
	};
	struct rf_warned w = {0};
	struct rf_shm_config c;
	char err[256];

	RF_CHECK_INT(rf_config_load(&c, env, err, sizeof(err), rf_test_warn, &w), 0);
	RF_CHECK_STR(err, "");
	RF_CHECK_INT(c.budget, 8 * 1024 * 1024);
	RF_CHECK_INT(c.policy, RF_POLICY_FAIL);
	RF_CHECK_INT(c.block_timeout, 250000000);
	RF_CHECK_INT(w.count, 1);
	RF_CHECK_STR(w.last, "RINGFENCE_BUDGTE=1G");
}

RF_TEST(load_reports_first_error_keeps_rest)
{
	char *env[] = {
		"RINGFENCE_BUDGET=lots",
		"RINGFENCE_POLICY=nope",
		"RINGFENCE_BLOCK_TIMEOUT=5s",
		NULL,
	};
	struct rf_shm_config c;
	char err[256];

	RF_CHECK_INT(rf_config_load(&c, env, err, sizeof(err), NULL, NULL), -EINVAL);
	RF_CHECK(strstr(err, "RINGFENCE_BUDGET=\"lots\"") != NULL);
	RF_CHECK_INT(c.budget, 64 * 1024 * 1024);    /* default kept */
	RF_CHECK_INT(c.policy, RF_POLICY_BLOCK);     /* default kept */
	RF_CHECK_INT(c.block_timeout, 5000000000LL); /* valid value applied */
}

RF_TEST(formats_round_trip)
{
	char buf[32];
	uint64_t v;

	rf_size_format(64 * 1024 * 1024, buf, sizeof(buf));
	RF_CHECK_STR(buf, "64M");
	rf_size_format(1000, buf, sizeof(buf));
	RF_CHECK_STR(buf, "1000");
	RF_CHECK_INT(rf_size_parse(buf, &v), 0);
	RF_CHECK_INT(v, 1000);
	rf_duration_format(1500000000, buf, sizeof(buf));
	RF_CHECK_STR(buf, "1500ms");
	RF_CHECK_INT(rf_duration_parse(buf, &v), 0);
	RF_CHECK_INT(v, 1500000000);
	rf_duration_format(0, buf, sizeof(buf));
	RF_CHECK_STR(buf, "0ms");
	rf_duration_format(3600000000000ULL, buf, sizeof(buf));
	RF_CHECK_STR(buf, "1h");
}

RF_TEST(thread_settings)
{
	struct rf_shm_config c;
	char err[256];
	uint64_t v;

	rf_config_defaults(&c);
	RF_CHECK_INT(c.thread_age, 30000000000LL);
	RF_CHECK_INT(c.thread_group, 256);
	RF_CHECK_STR(c.thread_ignore, "");
	RF_CHECK_INT(c.thread_sample, 1);
	RF_CHECK_INT(c.report_at_exit, 0);

	RF_CHECK_INT(rf_count_parse("0", &v), 0);
	RF_CHECK_INT(v, 0);
	RF_CHECK_INT(rf_count_parse("1000000", &v), 0);
	RF_CHECK_INT(v, 1000000);
	RF_CHECK_INT(rf_count_parse("10K", &v), -EINVAL);
	RF_CHECK_INT(rf_count_parse("-1", &v), -EINVAL);
	RF_CHECK_INT(rf_count_parse("", &v), -EINVAL);
	RF_CHECK_INT(rf_count_parse("99999999999999999999", &v), -ERANGE);

	RF_CHECK_INT(rf_config_set(&c, "RINGFENCE_THREAD_GROUP", "64", err, sizeof(err)), 0);
	RF_CHECK_INT(c.thread_group, 64);
	RF_CHECK_INT(rf_config_set(&c, "RINGFENCE_THREAD_GROUP", "0", err, sizeof(err)), -ERANGE);
	RF_CHECK(strstr(err, "1 to 1000000") != NULL);
	RF_CHECK_INT(rf_config_set(&c, "RINGFENCE_THREAD_GROUP", "lots", err, sizeof(err)),
		     -EINVAL);
	RF_CHECK(strstr(err, "RINGFENCE_THREAD_GROUP=\"lots\"") != NULL);
	RF_CHECK(strstr(err, "whole number") != NULL);
	RF_CHECK_INT(c.thread_group, 64);

	RF_CHECK_INT(rf_config_set(&c, "RINGFENCE_THREAD_AGE", "1s", err, sizeof(err)), 0);
	RF_CHECK_INT(c.thread_age, 1000000000);
	RF_CHECK_INT(rf_config_set(&c, "RINGFENCE_THREAD_AGE", "1ms", err, sizeof(err)), -ERANGE);

	for (const char *const *y = (const char *const[]){"1", "yes", "TRUE", "on", NULL}; *y;
	     y++) {
		RF_CHECK_INT(rf_config_set(&c, "RINGFENCE_REPORT_AT_EXIT", *y, err, sizeof(err)),
			     0);
		RF_CHECK_INT(c.report_at_exit, 1);
	}
	for (const char *const *n = (const char *const[]){"0", "no", "false", "Off", NULL}; *n;
	     n++) {
		RF_CHECK_INT(rf_config_set(&c, "RINGFENCE_THREAD_SAMPLE", *n, err, sizeof(err)), 0);
		RF_CHECK_INT(c.thread_sample, 0);
	}
	RF_CHECK_INT(rf_config_set(&c, "RINGFENCE_REPORT_AT_EXIT", "2", err, sizeof(err)), -EINVAL);
	RF_CHECK(strstr(err, "1, 0, yes, no") != NULL);

	RF_CHECK_INT(rf_config_set(&c, "RINGFENCE_THREAD_IGNORE", "rdk:*,my_worker,ns::*::run", err,
				   sizeof(err)),
		     0);
	RF_CHECK_STR(c.thread_ignore, "rdk:*,my_worker,ns::*::run");
	RF_CHECK_INT(rf_config_set(&c, "RINGFENCE_THREAD_IGNORE", "", err, sizeof(err)), 0);
	RF_CHECK_STR(c.thread_ignore, "");
	RF_CHECK_INT(rf_config_set(&c, "RINGFENCE_THREAD_IGNORE", "a,,b", err, sizeof(err)),
		     -EINVAL);
	RF_CHECK_INT(rf_config_set(&c, "RINGFENCE_THREAD_IGNORE", "a,", err, sizeof(err)), -EINVAL);
	RF_CHECK_INT(rf_config_set(&c, "RINGFENCE_THREAD_IGNORE", "a b", err, sizeof(err)),
		     -EINVAL);
	RF_CHECK(strstr(err, "patterns separated by commas") != NULL);
	char long_list[300];
	memset(long_list, 'x', sizeof(long_list) - 1);
	long_list[sizeof(long_list) - 1] = '\0';
	RF_CHECK_INT(rf_config_set(&c, "RINGFENCE_THREAD_IGNORE", long_list, err, sizeof(err)),
		     -EINVAL);
	RF_CHECK_STR(c.thread_ignore, "");
}

RF_TEST_MAIN(RF_TEST_ENTRY(size_forms), RF_TEST_ENTRY(thread_settings),
	     RF_TEST_ENTRY(size_rejected), RF_TEST_ENTRY(duration_forms),
	     RF_TEST_ENTRY(duration_rejected), RF_TEST_ENTRY(policy_names), RF_TEST_ENTRY(defaults),
	     RF_TEST_ENTRY(set_messages), RF_TEST_ENTRY(message_quotes_hostile_value),
	     RF_TEST_ENTRY(load_environment), RF_TEST_ENTRY(load_reports_first_error_keeps_rest),
	     RF_TEST_ENTRY(formats_round_trip))
