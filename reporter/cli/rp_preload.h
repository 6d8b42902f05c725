/*
 * rp_preload.h - for `ringfence run`: which shim to preload, and the
 * LD_PRELOAD value that adds it.
 */
#ifndef RP_PRELOAD_H
#define RP_PRELOAD_H

#include <stddef.h>

#define RP_SHIM_ENV "RINGFENCE_SHIM"

/*
 * The shim as an absolute, canonical path into path[len]. An explicit choice
 * (option, else env when not empty) is the only candidate; otherwise
 * "<exe_dir>/../shim/libringfence.so" (a build tree), then
 * "<exe_dir>/" RF_SHIM_RELPATH_INSTALLED (an installed tree, wherever it was
 * installed or moved to), then RF_SHIM_INSTALLED (where `meson install`
 * puts it: for a reporter moved alone); exe_dir may be NULL.
 * 0, or -ENOENT with err naming every path tried and why it failed.
 */
int rp_shim_find(const char *option, const char *env, const char *exe_dir, char *path, size_t len,
		 char *err, size_t err_len);

/*
 * LD_PRELOAD with shim (absolute, no space or colon) first, followed by the
 * entries of existing (may be NULL). ld.so separates entries with colons or
 * spaces. Entries naming the shim's file (the same path, or another spelling
 * of it) are dropped so it is loaded once, by its absolute path; the other
 * entries are kept in order, byte for byte when none was dropped. *value is
 * malloc'd. 0, -EINVAL (shim unusable in LD_PRELOAD), -ENOMEM.
 */
int rp_preload_compose(const char *shim, const char *existing, char **value);

#endif /* RP_PRELOAD_H */
