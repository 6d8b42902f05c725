/*
 * rp_preload.c - which shim to preload, and the LD_PRELOAD value.
 */
#include "rp_preload.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rf_build_config.h"

/* Canonical path of candidate if it is a regular file; else -errno. */
static int rp_shim_try(const char *candidate, char *path, size_t len)
{
	char resolved[PATH_MAX];
	struct stat st;

	if (realpath(candidate, resolved) == NULL)
		return -errno;
	if (stat(resolved, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EISDIR;
	if (strlen(resolved) >= len)
		return -ENAMETOOLONG;
	strcpy(path, resolved);
	return 0;
}

int rp_shim_find(const char *option, const char *env, const char *exe_dir, char *path, size_t len,
		 char *err, size_t err_len)
{
	char candidates[3][PATH_MAX];
	const char *origin[3];
	size_t n = 0, used = 0;
	int rc[3];

	if (option != NULL) {
		snprintf(candidates[n], PATH_MAX, "%s", option);
		origin[n++] = "--shim";
	} else if (env != NULL && env[0] != '\0') {
		snprintf(candidates[n], PATH_MAX, "%s", env);
		origin[n++] = RP_SHIM_ENV;
	} else if (exe_dir != NULL) {
		snprintf(candidates[n], PATH_MAX, "%s/../shim/libringfence.so", exe_dir);
		origin[n++] = "build tree";
		snprintf(candidates[n], PATH_MAX, "%s/%s", exe_dir, RF_SHIM_RELPATH_INSTALLED);
		origin[n++] = "installed";
	}
	/* The reporter alone moved, or its directory unknown: where meson install put the shim. */
	if (option == NULL && (env == NULL || env[0] == '\0')) {
		snprintf(candidates[n], PATH_MAX, "%s", RF_SHIM_INSTALLED);
		origin[n++] = "installed, configured";
	}
	for (size_t i = 0; i < n; i++) {
		rc[i] = rp_shim_try(candidates[i], path, len);
		if (rc[i] == 0)
			return 0;
	}
	used = (size_t)snprintf(err, err_len, "cannot find the shim libringfence.so; tried");
	for (size_t i = 0; i < n && used < err_len; i++)
		used += (size_t)snprintf(err + used, err_len - used, "%s %s (%s: %s)", i ? "," : "",
					 candidates[i], origin[i], strerror(-rc[i]));
	if (used < err_len)
		snprintf(err + used, err_len - used,
			 "; give its path with --shim PATH or " RP_SHIM_ENV);
	return -ENOENT;
}

/* Does the entry [start, start+len) name the same file as shim? */
static bool rp_entry_is(const char *start, size_t len, const char *shim)
{
	char entry[PATH_MAX], resolved[PATH_MAX];

	if (len == 0 || len >= sizeof(entry))
		return false;
	memcpy(entry, start, len);
	entry[len] = '\0';
	if (strcmp(entry, shim) == 0)
		return true;
	/* A bare name is searched in the library path, not the cwd: not comparable. */
	return strchr(entry, '/') != NULL && realpath(entry, resolved) != NULL &&
	       strcmp(resolved, shim) == 0;
}

int rp_preload_compose(const char *shim, const char *existing, char **value)
{
	size_t slen = strlen(shim), used;
	bool removed = false;
	char *out;

	if (shim[0] != '/' || strpbrk(shim, ": ") != NULL)
		return -EINVAL;
	if (existing == NULL)
		existing = "";
	/* Room for the shim, a separator and every byte of existing. */
	out = malloc(slen + 1 + strlen(existing) + 1);
	if (out == NULL)
		return -ENOMEM;
	memcpy(out, shim, slen + 1);
	used = slen;
	/*
	 * Another spelling of the shim (relative, through a symlink) is dropped
	 * rather than kept: it would load the shim a second time or, relative,
	 * break in a child that changes directory.
	 */
	for (const char *p = existing + strspn(existing, ": "); *p;) {
		size_t len = strcspn(p, ": ");
		if (rp_entry_is(p, len, shim)) {
			removed = true;
		} else {
			out[used++] = ':';
			memcpy(out + used, p, len);
			used += len;
		}
		p += len;
		p += strspn(p, ": ");
	}
	out[used] = '\0';
	/* Nothing dropped: keep the user's value byte for byte behind the shim. */
	if (!removed && used > slen)
		sprintf(out + slen, ":%s", existing);
	*value = out;
	return 0;
}
