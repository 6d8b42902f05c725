/*
 * rf_config.h - RINGFENCE_* configuration: parsing and validation.
 *
 * Pure code with no allocation and no global state, so it can run in the
 * shim's constructor before main(), inside the reporter's `run` (which
 * validates options with the very same rules), and in unit tests.
 */
#ifndef RF_CONFIG_H
#define RF_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "rf_shm.h"

#define RF_ENV_PREFIX "RINGFENCE_"

/* RINGFENCE_ variables that belong to the reporter, not the shim. */
#define RF_CONFIG_REPORTER_VARS "RINGFENCE_SHIM"

/* What each kind of value accepts, worded for error messages. */
#define RF_SIZE_FORMS                                                                              \
	"bytes as a whole number, or a whole number with K, M or G (KiB, MiB, GiB), e.g. 65536, "  \
	"64K, 64M, 1G"
#define RF_DURATION_FORMS                                                                          \
	"a whole number with a unit ms, s, m or h, e.g. 250ms, 60s, 5m, 1h (0 alone is allowed)"
#define RF_POLICY_FORMS "block, fail, drop-oldest or observe"
#define RF_NAME_FORMS "1 to 31 characters from [A-Za-z0-9_-]"
#define RF_COUNT_FORMS "a whole number, e.g. 256"
#define RF_BOOL_FORMS "1, 0, yes, no, true, false, on or off"
#define RF_LIST_FORMS                                                                              \
	"patterns separated by commas, each of printable characters other than space and comma, "  \
	"* and ? as wildcards, at most 255 characters in all, e.g. rdk:*,my_worker"

/* Parse "64M" into bytes. 0, or -EINVAL (bad form), -ERANGE (overflow). */
int rf_size_parse(const char *text, uint64_t *bytes);

/* Parse "250ms" into nanoseconds. 0, or -EINVAL, -ERANGE. */
int rf_duration_parse(const char *text, uint64_t *ns);

/* Parse a whole number. 0, or -EINVAL, -ERANGE. */
int rf_count_parse(const char *text, uint64_t *value);

/* Parse a boolean (RF_BOOL_FORMS) into 0 or 1. 0 or -EINVAL. */
int rf_bool_parse(const char *text, uint64_t *value);

/* Parse a policy name. 0 or -EINVAL. */
int rf_policy_parse(const char *text, enum rf_policy *policy);

/* Name of a policy for printing; "unknown" for out-of-range values. */
const char *rf_policy_name(uint64_t policy);

/* Fill *config with the documented defaults. */
void rf_config_defaults(struct rf_shm_config *config);

/*
 * Set one variable (full name, e.g. "RINGFENCE_BUDGET") from text, checking
 * its form and range. Returns 0; -ENOENT when the name is not a known
 * variable; -EINVAL or -ERANGE when the value is rejected. On failure a
 * one-line message naming the variable, the value and the accepted forms is
 * written to err (always NUL-terminated) and *config is unchanged.
 */
int rf_config_set(struct rf_shm_config *config, const char *name, const char *value, char *err,
		  size_t err_len);

/*
 * Load every RINGFENCE_* variable of envp over the defaults. The first
 * rejected value is reported in err and makes the result -EINVAL; loading
 * goes on so later valid values still appear in *config. Unknown
 * RINGFENCE_ names are passed to warn_unknown (may be NULL), one call each,
 * and are not errors.
 */
int rf_config_load(struct rf_shm_config *config, char *const *envp, char *err, size_t err_len,
		   void (*warn_unknown)(const char *assignment, void *arg), void *arg);

/* Format bytes / nanoseconds the way the parsers accept them ("64M", "60s"). */
void rf_size_format(uint64_t bytes, char *buf, size_t len);
void rf_duration_format(uint64_t ns, char *buf, size_t len);

#endif /* RF_CONFIG_H */
