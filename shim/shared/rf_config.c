/*
 * rf_config.c - RINGFENCE_* configuration: parsing and validation.
 */
#include "rf_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct rf_config_var {
	const char *env;
	enum rf_config_type type;
	const char *def;
	uint64_t min;
	uint64_t max;
	size_t offset;
};

static const struct rf_config_var rf_config_vars[] = {
#define RF_CONFIG_VAR(name, type, env, def, min, max, help)                                        \
	{env, RF_CONFIG_TYPE_##type, def, min, max, offsetof(struct rf_shm_config, name)},
	RF_CONFIG(RF_CONFIG_VAR)
#undef RF_CONFIG_VAR
};

#define RF_CONFIG_VAR_COUNT (sizeof(rf_config_vars) / sizeof(rf_config_vars[0]))

static const char *const rf_policy_names[] = {
	[RF_POLICY_BLOCK] = "block",
	[RF_POLICY_FAIL] = "fail",
	[RF_POLICY_DROP_OLDEST] = "drop-oldest",
	[RF_POLICY_OBSERVE] = "observe",
};

/* Reads a run of decimal digits; 0 with *end past them, or -EINVAL/-ERANGE. */
static int rf_digits_parse(const char *text, uint64_t *value, const char **end)
{
	uint64_t v = 0;
	const char *p = text;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*value = v;
	*end = p;
	return 0;
}

static int rf_scale(uint64_t v, uint64_t unit, uint64_t *out)
{
	if (unit != 0 && v > UINT64_MAX / unit)
		return -ERANGE;
	*out = v * unit;
	return 0;
}

struct rf_unit {
	const char *suffix;
	uint64_t unit;
};

/* Digits then one of units' suffixes (compared case-insensitively or not). */
static int rf_units_parse(const char *text, const struct rf_unit *units, size_t n, int ignore_case,
			  uint64_t *out)
{
	const char *end;
	uint64_t v;
	int rc;

	if (text == NULL)
		return -EINVAL;
	rc = rf_digits_parse(text, &v, &end);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		if ((ignore_case ? strcasecmp(end, units[i].suffix)
				 : strcmp(end, units[i].suffix)) == 0)
			return rf_scale(v, units[i].unit, out);
	/* A bare 0 needs no unit, whatever the kind of value. */
	if (*end == '\0' && v == 0)
		return *out = 0, 0;
	return -EINVAL;
}

int rf_size_parse(const char *text, uint64_t *bytes)
{
	static const struct rf_unit units[] = {
		{"", 1},         {"K", RF_KIB}, {"KiB", RF_KIB}, {"M", RF_MIB},
		{"MiB", RF_MIB}, {"G", RF_GIB}, {"GiB", RF_GIB},
	};

	return rf_units_parse(text, units, sizeof(units) / sizeof(units[0]), 1, bytes);
}

int rf_duration_parse(const char *text, uint64_t *ns)
{
	/* A bare number other than 0 has no unit and is refused. */
	static const struct rf_unit units[] = {
		{"ms", RF_MS},
		{"s", RF_MS * 1000},
		{"m", RF_MS * 1000 * 60},
		{"h", RF_HOUR},
	};

	return rf_units_parse(text, units, sizeof(units) / sizeof(units[0]), 0, ns);
}

int rf_count_parse(const char *text, uint64_t *value)
{
	const char *end;
	uint64_t v;
	int rc;

	if (text == NULL)
		return -EINVAL;
	rc = rf_digits_parse(text, &v, &end);
	if (rc < 0)
		return rc;
	if (*end != '\0')
		return -EINVAL;
	*value = v;
	return 0;
}

int rf_bool_parse(const char *text, uint64_t *value)
{
	static const char *const yes[] = {"1", "yes", "true", "on"};
	static const char *const no[] = {"0", "no", "false", "off"};

	if (text == NULL)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(text, yes[i]) == 0) {
			*value = 1;
			return 0;
		}
		if (strcasecmp(text, no[i]) == 0) {
			*value = 0;
			return 0;
		}
	}
	return -EINVAL;
}

/* Comma-separated patterns: no empty one, printable characters but space and comma. */
static int rf_list_check(const char *text, size_t *len)
{
	size_t n = 0;
	int empty = 1;

	for (const char *p = text; *p; p++, n++) {
		if (*p == ',') {
			if (empty)
				return -EINVAL;
			empty = 1;
			continue;
		}
		if (!isgraph((unsigned char)*p))
			return -EINVAL;
		empty = 0;
	}
	if (n > 0 && empty)
		return -EINVAL; /* a trailing comma */
	*len = n;
	return 0;
}

int rf_policy_parse(const char *text, enum rf_policy *policy)
{
	if (text == NULL)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(rf_policy_names) / sizeof(rf_policy_names[0]); i++) {
		if (strcmp(text, rf_policy_names[i]) == 0) {
			*policy = (enum rf_policy)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *rf_policy_name(uint64_t policy)
{
	if (policy < sizeof(rf_policy_names) / sizeof(rf_policy_names[0]))
		return rf_policy_names[policy];
	return "unknown";
}

static int rf_name_check(const char *text, size_t *len)
{
	size_t n = 0;

	for (const char *p = text; *p; p++, n++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			return -EINVAL;
	*len = n;
	return 0;
}

void rf_size_format(uint64_t bytes, char *buf, size_t len)
{
	if (bytes != 0 && bytes % RF_GIB == 0)
		snprintf(buf, len, "%lluG", (unsigned long long)(bytes / RF_GIB));
	else if (bytes != 0 && bytes % RF_MIB == 0)
		snprintf(buf, len, "%lluM", (unsigned long long)(bytes / RF_MIB));
	else if (bytes != 0 && bytes % RF_KIB == 0)
		snprintf(buf, len, "%lluK", (unsigned long long)(bytes / RF_KIB));
	else
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
}

void rf_duration_format(uint64_t ns, char *buf, size_t len)
{
	if (ns != 0 && ns % RF_HOUR == 0)
		snprintf(buf, len, "%lluh", (unsigned long long)(ns / RF_HOUR));
	else if (ns != 0 && ns % (RF_MS * 60000) == 0)
		snprintf(buf, len, "%llum", (unsigned long long)(ns / (RF_MS * 60000)));
	else if (ns != 0 && ns % (RF_MS * 1000) == 0)
		snprintf(buf, len, "%llus", (unsigned long long)(ns / (RF_MS * 1000)));
	else if (ns % RF_MS == 0)
		snprintf(buf, len, "%llums", (unsigned long long)(ns / RF_MS));
	else
		snprintf(buf, len, "%lluns", (unsigned long long)ns);
}

/* Copies untrusted text for an error message: bounded, printable only. */
static void rf_quote(const char *text, char *buf, size_t len)
{
	size_t i = 0;

	for (; text[i] && i + 4 < len; i++)
		buf[i] = isprint((unsigned char)text[i]) ? text[i] : '?';
	if (text[i] && i + 4 >= len)
		memcpy(buf + i, "...", 4);
	else
		buf[i] = '\0';
}

static const char *rf_config_forms(enum rf_config_type type)
{
	switch (type) {
	case RF_CONFIG_TYPE_SIZE:
		return RF_SIZE_FORMS;
	case RF_CONFIG_TYPE_DURATION:
		return RF_DURATION_FORMS;
	case RF_CONFIG_TYPE_POLICY:
		return RF_POLICY_FORMS;
	case RF_CONFIG_TYPE_NAME:
		return RF_NAME_FORMS;
	case RF_CONFIG_TYPE_COUNT:
		return RF_COUNT_FORMS;
	case RF_CONFIG_TYPE_BOOL:
		return RF_BOOL_FORMS;
	case RF_CONFIG_TYPE_LIST:
		return RF_LIST_FORMS;
	}
	return "";
}

static void rf_config_range_format(const struct rf_config_var *var, char *buf, size_t len)
{
	char lo[32], hi[32];

	if (var->type == RF_CONFIG_TYPE_SIZE) {
		rf_size_format(var->min, lo, sizeof(lo));
		rf_size_format(var->max, hi, sizeof(hi));
	} else if (var->type == RF_CONFIG_TYPE_COUNT) {
		snprintf(lo, sizeof(lo), "%llu", (unsigned long long)var->min);
		snprintf(hi, sizeof(hi), "%llu", (unsigned long long)var->max);
	} else {
		rf_duration_format(var->min, lo, sizeof(lo));
		rf_duration_format(var->max, hi, sizeof(hi));
	}
	snprintf(buf, len, "%s to %s", lo, hi);
}

/* Parses and range-checks value for var into *num or name; no side effects. */
static int rf_config_value_parse(const struct rf_config_var *var, const char *value, uint64_t *num,
				 char *err, size_t err_len)
{
	char quoted[48], range[80];
	enum rf_policy policy = RF_POLICY_BLOCK;
	size_t name_len = 0;
	int rc;

	rf_quote(value, quoted, sizeof(quoted));
	switch (var->type) {
	case RF_CONFIG_TYPE_SIZE:
		rc = rf_size_parse(value, num);
		break;
	case RF_CONFIG_TYPE_DURATION:
		rc = rf_duration_parse(value, num);
		break;
	case RF_CONFIG_TYPE_POLICY:
		rc = rf_policy_parse(value, &policy);
		*num = policy;
		break;
	case RF_CONFIG_TYPE_NAME:
		rc = rf_name_check(value, &name_len);
		if (rc == 0 && (name_len < var->min || name_len > var->max))
			rc = -EINVAL;
		*num = name_len;
		break;
	case RF_CONFIG_TYPE_COUNT:
		rc = rf_count_parse(value, num);
		break;
	case RF_CONFIG_TYPE_BOOL:
		rc = rf_bool_parse(value, num);
		break;
	case RF_CONFIG_TYPE_LIST:
		rc = rf_list_check(value, &name_len);
		if (rc == 0 && (name_len < var->min || name_len > var->max))
			rc = -EINVAL;
		*num = name_len;
		break;
	default:
		rc = -EINVAL;
	}
	if (rc < 0) {
		snprintf(err, err_len, "%s=\"%s\" is not accepted: expected %s", var->env, quoted,
			 rf_config_forms(var->type));
		return rc;
	}
	if ((var->type == RF_CONFIG_TYPE_SIZE || var->type == RF_CONFIG_TYPE_DURATION ||
	     var->type == RF_CONFIG_TYPE_COUNT) &&
	    (*num < var->min || *num > var->max)) {
		rf_config_range_format(var, range, sizeof(range));
		snprintf(err, err_len, "%s=\"%s\" is out of range: expected %s", var->env, quoted,
			 range);
		return -ERANGE;
	}
	return 0;
}

static const struct rf_config_var *rf_config_var_find(const char *name, size_t name_len)
{
	for (size_t i = 0; i < RF_CONFIG_VAR_COUNT; i++)
		if (strlen(rf_config_vars[i].env) == name_len &&
		    memcmp(rf_config_vars[i].env, name, name_len) == 0)
			return &rf_config_vars[i];
	return NULL;
}

static int rf_config_var_set(struct rf_shm_config *config, const struct rf_config_var *var,
			     const char *value, char *err, size_t err_len)
{
	char *field = (char *)config + var->offset;
	uint64_t num;
	int rc;

	rc = rf_config_value_parse(var, value, &num, err, err_len);
	if (rc < 0)
		return rc;
	if (var->type == RF_CONFIG_TYPE_NAME) {
		memset(field, 0, RF_CONFIG_NAME_MAX);
		memcpy(field, value, num); /* num is the checked length, < RF_CONFIG_NAME_MAX */
	} else if (var->type == RF_CONFIG_TYPE_LIST) {
		memset(field, 0, RF_CONFIG_LIST_MAX);
		memcpy(field, value, num); /* num is the checked length, < RF_CONFIG_LIST_MAX */
	} else {
		memcpy(field, &num, sizeof(num));
	}
	return 0;
}

void rf_config_defaults(struct rf_shm_config *config)
{
	char ignored[8];

	memset(config, 0, sizeof(*config));
	for (size_t i = 0; i < RF_CONFIG_VAR_COUNT; i++)
		(void)rf_config_var_set(config, &rf_config_vars[i], rf_config_vars[i].def, ignored,
					sizeof(ignored));
}

int rf_config_set(struct rf_shm_config *config, const char *name, const char *value, char *err,
		  size_t err_len)
{
	const struct rf_config_var *var = rf_config_var_find(name, strlen(name));

	if (var == NULL) {
		snprintf(err, err_len, "%s is not a ringfence variable", name);
		return -ENOENT;
	}
	return rf_config_var_set(config, var, value, err, err_len);
}

/* Variables the reporter reads: known, so never warned about, but not the shim's. */
static int rf_config_is_reporter_var(const char *name, size_t len)
{
	static const char *const names[] = {RF_CONFIG_REPORTER_VARS};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
			return 1;
	return 0;
}

int rf_config_load(struct rf_shm_config *config, char *const *envp, char *err, size_t err_len,
		   void (*warn_unknown)(const char *assignment, void *arg), void *arg)
{
	char scratch[RF_SHM_ERROR_MAX];
	int result = 0;

	rf_config_defaults(config);
	if (err_len > 0)
		err[0] = '\0';
	for (char *const *e = envp; e != NULL && *e != NULL; e++) {
		const char *eq = strchr(*e, '=');
		const struct rf_config_var *var;

		if (eq == NULL || strncmp(*e, RF_ENV_PREFIX, strlen(RF_ENV_PREFIX)) != 0)
			continue;
		var = rf_config_var_find(*e, (size_t)(eq - *e));
		if (var == NULL && rf_config_is_reporter_var(*e, (size_t)(eq - *e)))
			continue;
		if (var == NULL) {
			if (warn_unknown != NULL)
				warn_unknown(*e, arg);
			continue;
		}
		if (rf_config_var_set(config, var, eq + 1, scratch, sizeof(scratch)) < 0 &&
		    result == 0) {
			snprintf(err, err_len, "%s", scratch);
			result = -EINVAL;
		}
	}
	return result;
}
