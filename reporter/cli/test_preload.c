/*
 * test_preload.c - `run`'s choice of shim and the LD_PRELOAD it builds.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#include "rf_build_config.h"
#include "rf_test.h"
#include "rp_preload.h"

#define RP_SHIM "/opt/rf/libringfence.so"

static void rp_check_compose(const char *existing, const char *expected)
{
	char *value = NULL;

	RF_CHECK_INT(rp_preload_compose(RP_SHIM, existing, &value), 0);
	RF_CHECK_STR(value, expected);
	free(value);
}

RF_TEST(compose_prepends)
{
	rp_check_compose(NULL, RP_SHIM);
	rp_check_compose("", RP_SHIM);
	rp_check_compose(":", RP_SHIM);
	rp_check_compose("libasan.so", RP_SHIM ":libasan.so");
	rp_check_compose("/a.so /b.so", RP_SHIM ":/a.so /b.so");
}

RF_TEST(compose_does_not_add_twice)
{
	char dir[64], entry[PATH_MAX], shim[PATH_MAX], existing[2 * PATH_MAX], *value = NULL;

	rp_check_compose(RP_SHIM, RP_SHIM);
	rp_check_compose(RP_SHIM ":/a.so", RP_SHIM ":/a.so");
	rp_check_compose("/a.so:" RP_SHIM, RP_SHIM ":/a.so");
	rp_check_compose("/a.so " RP_SHIM " /b.so", RP_SHIM ":/a.so:/b.so");
	/* A longer name that merely starts with the shim's is another file. */
	rp_check_compose(RP_SHIM ".1", RP_SHIM ":" RP_SHIM ".1");

	/* Another spelling of the same file goes too: one load, by absolute path. */
	snprintf(dir, sizeof(dir), "/tmp/rp-preload-XXXXXX");
	RF_CHECK(mkdtemp(dir) != NULL);
	snprintf(shim, sizeof(shim), "%s/libringfence.so", dir);
	close(open(shim, O_CREAT | O_WRONLY, 0600));
	snprintf(entry, sizeof(entry), "%s/../%s/libringfence.so", dir, strrchr(dir, '/') + 1);
	snprintf(existing, sizeof(existing), "%s:/x.so", entry);
	RF_CHECK_INT(rp_preload_compose(shim, existing, &value), 0);
	snprintf(existing, sizeof(existing), "%s:/x.so", shim);
	RF_CHECK_STR(value, existing);
	free(value);
	unlink(shim);
	rmdir(dir);
}

RF_TEST(compose_refuses_unusable_paths)
{
	char *value = NULL;

	RF_CHECK_INT(rp_preload_compose("relative.so", NULL, &value), -EINVAL);
	RF_CHECK_INT(rp_preload_compose("/with space/x.so", NULL, &value), -EINVAL);
	RF_CHECK_INT(rp_preload_compose("/with:colon/x.so", NULL, &value), -EINVAL);
}

/* A build tree in a temporary directory: <dir>/reporter and <dir>/shim/libringfence.so. */
static void rp_tree(char *dir, size_t len)
{
	char path[PATH_MAX];
	int fd;

	snprintf(dir, len, "/tmp/rp-preload-XXXXXX");
	RF_CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/reporter", dir);
	RF_CHECK(mkdir(path, 0700) == 0);
	snprintf(path, sizeof(path), "%s/shim", dir);
	RF_CHECK(mkdir(path, 0700) == 0);
	snprintf(path, sizeof(path), "%s/shim/libringfence.so", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	RF_CHECK(fd >= 0);
	close(fd);
}

static void rp_tree_remove(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/shim/libringfence.so", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/shim", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/reporter", dir);
	rmdir(path);
	rmdir(dir);
}

RF_TEST(shim_found_in_build_tree)
{
	char dir[64], exe_dir[PATH_MAX], expected[PATH_MAX], shim[PATH_MAX], err[1024];

	rp_tree(dir, sizeof(dir));
	snprintf(exe_dir, sizeof(exe_dir), "%s/reporter", dir);
	snprintf(expected, sizeof(expected), "%s/shim/libringfence.so", dir);
	RF_CHECK_INT(rp_shim_find(NULL, NULL, exe_dir, shim, sizeof(shim), err, sizeof(err)), 0);
	RF_CHECK_STR(shim, expected);
	/* An empty RINGFENCE_SHIM is no choice. */
	RF_CHECK_INT(rp_shim_find(NULL, "", exe_dir, shim, sizeof(shim), err, sizeof(err)), 0);
	RF_CHECK_STR(shim, expected);
	rp_tree_remove(dir);
}

/* mkdir -p of the directories of path. */
static void rp_mkdirs(const char *path)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", path);
	for (char *p = dir + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		RF_CHECK(mkdir(dir, 0700) == 0 || errno == EEXIST);
		*p = '/';
	}
}

RF_TEST(shim_found_in_installed_tree)
{
	char dir[64], exe_dir[256], shim[PATH_MAX], expected[PATH_MAX], found[PATH_MAX];
	char err[2048], cmd[PATH_MAX + 16];

	/* A tree as meson install lays it out under a prefix that is not the
	 * configured one (DESTDIR, or moved): the reporter finds the shim by the
	 * way from its directory to the library directory. */
	snprintf(dir, sizeof(dir), "/tmp/rp-preload-XXXXXX");
	RF_CHECK(mkdtemp(dir) != NULL);
	snprintf(exe_dir, sizeof(exe_dir), "%s/usr/bin", dir);
	snprintf(shim, sizeof(shim), "%s/%s", exe_dir, RF_SHIM_RELPATH_INSTALLED);
	rp_mkdirs(shim);
	RF_CHECK(mkdir(exe_dir, 0700) == 0 || errno == EEXIST);
	close(open(shim, O_CREAT | O_WRONLY, 0600));
	RF_CHECK(realpath(shim, expected) != NULL);
	printf("# %s\n", expected);
	RF_CHECK(strncmp(expected, dir, strlen(dir)) == 0);
	RF_CHECK_INT(rp_shim_find(NULL, NULL, exe_dir, found, sizeof(found), err, sizeof(err)), 0);
	RF_CHECK_STR(found, expected);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	RF_CHECK(system(cmd) == 0);
}

RF_TEST(explicit_shim_is_the_only_candidate)
{
	char dir[64], exe_dir[PATH_MAX], shim[PATH_MAX], err[1024];

	rp_tree(dir, sizeof(dir));
	snprintf(exe_dir, sizeof(exe_dir), "%s/reporter", dir);
	RF_CHECK_INT(rp_shim_find("/nonexistent/x.so", NULL, exe_dir, shim, sizeof(shim), err,
				  sizeof(err)),
		     -ENOENT);
	printf("# %s\n", err);
	RF_CHECK(strstr(err, "/nonexistent/x.so (--shim: No such file or directory)") != NULL);
	RF_CHECK_INT(rp_shim_find(NULL, "/nonexistent/y.so", exe_dir, shim, sizeof(shim), err,
				  sizeof(err)),
		     -ENOENT);
	RF_CHECK(strstr(err, "RINGFENCE_SHIM") != NULL);
	/* A directory is not a shim. */
	RF_CHECK_INT(rp_shim_find(dir, NULL, exe_dir, shim, sizeof(shim), err, sizeof(err)),
		     -ENOENT);
	rp_tree_remove(dir);
}

RF_TEST(missing_shim_lists_paths_tried)
{
	char shim[PATH_MAX], err[2048];

	RF_CHECK_INT(
		rp_shim_find(NULL, NULL, "/nonexistent/bin", shim, sizeof(shim), err, sizeof(err)),
		-ENOENT);
	printf("# %s\n", err);
	RF_CHECK(strstr(err, "/nonexistent/bin/../shim/libringfence.so (build tree") != NULL);
	RF_CHECK(strstr(err, "/nonexistent/bin/" RF_SHIM_RELPATH_INSTALLED " (installed:") != NULL);
	RF_CHECK(strstr(err, RF_SHIM_INSTALLED " (installed, configured") != NULL);
	RF_CHECK(strstr(err, "--shim") != NULL);
	/* Without its own directory, the configured place is still tried. */
	RF_CHECK_INT(rp_shim_find(NULL, NULL, NULL, shim, sizeof(shim), err, sizeof(err)),
		     access(RF_SHIM_INSTALLED, F_OK) == 0 ? 0 : -ENOENT);
}

RF_TEST_MAIN(RF_TEST_ENTRY(compose_prepends), RF_TEST_ENTRY(compose_does_not_add_twice),
	     RF_TEST_ENTRY(compose_refuses_unusable_paths), RF_TEST_ENTRY(shim_found_in_build_tree),
	     RF_TEST_ENTRY(shim_found_in_installed_tree),
	     RF_TEST_ENTRY(explicit_shim_is_the_only_candidate),
	     RF_TEST_ENTRY(missing_shim_lists_paths_tried))
