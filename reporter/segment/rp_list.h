/*
 * rp_list.h - which segments exist and what they are called: the prefix in
 * force, a segment's name and path, and the names in /dev/shm that follow
 * "<prefix>.<pid>".
 */
#ifndef RP_LIST_H
#define RP_LIST_H

#include <stddef.h>
#include <sys/types.h>

#include "rf_shm.h"

#define RP_PREFIX_ENV "RINGFENCE_SHM_PREFIX"
#define RP_SHM_DIR "/dev/shm"
#define RP_PATH_MAX (sizeof(RP_SHM_DIR) + RF_SHM_NAME_MAX)

/*
 * The prefix to use: option if not NULL, else $RINGFENCE_SHM_PREFIX if set,
 * else the default; checked with the shim's own rule (rf_config_set), so a
 * rejected value gets the shim's message, preceded by where it came from.
 * 0, or -EINVAL with err filled in.
 */
int rp_prefix_resolve(const char *option, char prefix[RF_CONFIG_NAME_MAX], char *err,
		      size_t err_len);

/*
 * A pid written the way the shim writes it in a name: decimal, no sign, no
 * leading zero, 1 to INT32_MAX. 0 or -EINVAL.
 */
int rp_pid_parse(const char *text, pid_t *pid);

/*
 * "/<prefix>.<pid>", the name for shm_open and shm_unlink, and
 * "/dev/shm/<prefix>.<pid>", the path for people.
 */
void rp_segment_name(const char *prefix, pid_t pid, char name[RF_SHM_NAME_MAX]);
void rp_segment_path(const char *prefix, pid_t pid, char path[RP_PATH_MAX]);

/*
 * Pids of every /dev/shm entry named "<prefix>.<pid>", ascending, in a
 * malloc'd array (*pids is NULL when *count is 0). Entries are not opened:
 * whatever they hold is for rp_segment_read to judge. 0 or -errno.
 */
int rp_segment_list(const char *prefix, pid_t **pids, size_t *count);

#endif /* RP_LIST_H */
