/*
 * fuzz_config.c - libFuzzer target: the RINGFENCE_* parser
 * (shim/shared/rf_config.c, which the shim runs in its constructor and the
 * reporter's `run` runs on its environment) loading arbitrary environments.
 *
 * The input is an environment block as /proc/PID/environ holds it: entries
 * separated by NUL bytes (fuzz-seeds writes real ones, and a dictionary of
 * the names and forms). Whatever the entries, rf_config_load must return 0
 * or -EINVAL with a message exactly when it fails, the message one line of
 * printable ASCII, and a configuration the shim could enforce and publish:
 * every number within its RF_CONFIG bounds, every name a string the same
 * rule accepts again, every size and duration printed as the reporter
 * prints it parsing back to itself.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rf_config.h"

#define RP_FUZZ_ENTRIES 128

static void rp_fuzz_fail(const char *env, const char *what, uint64_t value)
{
	fprintf(stderr, "fuzz-config: %s: %s (%llu)\n", env, what, (unsigned long long)value);
	abort();
}

static void rp_fuzz_unknown(const char *assignment, void *arg)
{
	if (strncmp(assignment, RF_ENV_PREFIX, strlen(RF_ENV_PREFIX)) != 0)
		rp_fuzz_fail(assignment, "reported as an unknown RINGFENCE_ variable", 0);
	++*(size_t *)arg;
}

static void rp_fuzz_number(uint64_t value, uint64_t min, uint64_t max, const char *env)
{
	if (value < min || value > max)
		rp_fuzz_fail(env, "out of its bounds", value);
}

/* What `stat` prints for a size or a duration parses back to the value. */
static void rp_fuzz_round_trip(uint64_t value, int duration, const char *env)
{
	char text[32];
	uint64_t back = 0;
	int rc;

	if (duration) {
		rf_duration_format(value, text, sizeof(text));
		rc = rf_duration_parse(text, &back);
	} else {
		rf_size_format(value, text, sizeof(text));
		rc = rf_size_parse(text, &back);
	}
	if (rc != 0 || back != value)
		rp_fuzz_fail(env, "printed value does not parse back", value);
}

/* A string field: NUL-terminated within it, and accepted again by the same rule. */
static void rp_fuzz_string(const char *value, size_t size, const char *env)
{
	struct rf_shm_config scratch;
	char err[RF_SHM_ERROR_MAX];

	if (memchr(value, '\0', size) == NULL)
		rp_fuzz_fail(env, "not NUL-terminated", size);
	rf_config_defaults(&scratch);
	if (rf_config_set(&scratch, env, value, err, sizeof(err)) != 0)
		rp_fuzz_fail(env, "loaded, but refused when set again", 0);
}

#define RP_FUZZ_NUMBER(c, name, env, min, max)                                                     \
	rp_fuzz_number((c)->name, (uint64_t)(min), (uint64_t)(max), env)
#define RP_FUZZ_CHECK_SIZE(c, name, env, min, max)                                                 \
	RP_FUZZ_NUMBER(c, name, env, min, max);                                                    \
	rp_fuzz_round_trip((c)->name, 0, env)
#define RP_FUZZ_CHECK_DURATION(c, name, env, min, max)                                             \
	RP_FUZZ_NUMBER(c, name, env, min, max);                                                    \
	rp_fuzz_round_trip((c)->name, 1, env)
#define RP_FUZZ_CHECK_POLICY RP_FUZZ_NUMBER
#define RP_FUZZ_CHECK_COUNT RP_FUZZ_NUMBER
#define RP_FUZZ_CHECK_BOOL RP_FUZZ_NUMBER
#define RP_FUZZ_CHECK_NAME(c, name, env, min, max) rp_fuzz_string((c)->name, sizeof((c)->name), env)
#define RP_FUZZ_CHECK_LIST RP_FUZZ_CHECK_NAME

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *block = malloc(size + 1), *envp[RP_FUZZ_ENTRIES + 1];
	struct rf_shm_config config;
	char err[RF_SHM_ERROR_MAX];
	size_t n = 0, unknown = 0;
	int rc;

	if (block == NULL)
		return 0;
	memcpy(block, data, size);
	block[size] = '\0';
	for (char *p = block; p < block + size && n < RP_FUZZ_ENTRIES; p += strlen(p) + 1)
		envp[n++] = p;
	envp[n] = NULL;
	rc = rf_config_load(&config, envp, err, sizeof(err), rp_fuzz_unknown, &unknown);
	if (rc != 0 && rc != -EINVAL)
		rp_fuzz_fail("rf_config_load", "returned neither 0 nor -EINVAL", (uint64_t)-rc);
	if (memchr(err, '\0', sizeof(err)) == NULL || (rc == 0) != (err[0] == '\0'))
		rp_fuzz_fail("rf_config_load", "message and result disagree", (uint64_t)-rc);
	for (const char *p = err; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			rp_fuzz_fail("rf_config_load", "message holds a byte that is not printable",
				     (unsigned char)*p);
#define RP_FUZZ_CHECK(name, type, env, def, min, max, help)                                        \
	RP_FUZZ_CHECK_##type(&config, name, env, min, max);
	RF_CONFIG(RP_FUZZ_CHECK)
#undef RP_FUZZ_CHECK
	free(block);
	return 0;
}
