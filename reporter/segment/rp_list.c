/*
 * rp_list.c - which segments exist and what they are called.
 */
#include "rp_list.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rf_config.h"

int rp_prefix_resolve(const char *option, char prefix[RF_CONFIG_NAME_MAX], char *err,
		      size_t err_len)
{
	const char *value = option ? option : getenv(RP_PREFIX_ENV);
	struct rf_shm_config config;
	char why[RF_SHM_ERROR_MAX];

	rf_config_defaults(&config);
	if (value != NULL && rf_config_set(&config, RP_PREFIX_ENV, value, why, sizeof(why)) < 0) {
		snprintf(err, err_len, "%s: %s",
			 option ? "invalid --prefix" : "invalid environment", why);
		return -EINVAL;
	}
	memcpy(prefix, config.shm_prefix, RF_CONFIG_NAME_MAX);
	return 0;
}

int rp_pid_parse(const char *text, pid_t *pid)
{
	long long v = 0;
	const char *p = text;

	if (*p < '1' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (*p - '0');
		if (v > INT32_MAX)
			return -EINVAL;
	}
	if (*p != '\0')
		return -EINVAL;
	*pid = (pid_t)v;
	return 0;
}

void rp_segment_name(const char *prefix, pid_t pid, char name[RF_SHM_NAME_MAX])
{
	snprintf(name, RF_SHM_NAME_MAX, "/%s.%d", prefix, (int)pid);
}

void rp_segment_path(const char *prefix, pid_t pid, char path[RP_PATH_MAX])
{
	snprintf(path, RP_PATH_MAX, RP_SHM_DIR "/%s.%d", prefix, (int)pid);
}

static int rp_pid_compare(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

int rp_segment_list(const char *prefix, pid_t **pids, size_t *count)
{
	size_t plen = strlen(prefix), n = 0, cap = 0;
	pid_t *list = NULL, pid;
	struct dirent *de;
	DIR *dir;
	int rc = 0;

	*pids = NULL;
	*count = 0;
	dir = opendir(RP_SHM_DIR);
	if (dir == NULL)
		return -errno;
	for (errno = 0; (de = readdir(dir)) != NULL; errno = 0) {
		if (strncmp(de->d_name, prefix, plen) != 0 || de->d_name[plen] != '.' ||
		    rp_pid_parse(de->d_name + plen + 1, &pid) < 0)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			pid_t *grown = realloc(list, ncap * sizeof(*list));
			if (grown == NULL) {
				rc = -ENOMEM;
				break;
			}
			list = grown;
			cap = ncap;
		}
		list[n++] = pid;
	}
	if (rc == 0 && errno != 0)
		rc = -errno;
	closedir(dir);
	if (rc < 0) {
		free(list);
		return rc;
	}
	if (n > 0) /* qsort's base must not be NULL, even for nothing */
		qsort(list, n, sizeof(*list), rp_pid_compare);
	*pids = list;
	*count = n;
	return 0;
}
