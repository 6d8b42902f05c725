/*
 * rf_proc.c - what /proc says about a process.
 */
#include "rf_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Reads up to len-1 bytes of a small /proc file; returns the length or -errno. */
static ssize_t rf_proc_read(pid_t pid, const char *file, char *buf, size_t len)
{
	char path[64];
	size_t used = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (used + 1 < len) {
		ssize_t n = read(fd, buf + used, len - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			close(fd);
			return -err;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	buf[used] = '\0';
	return (ssize_t)used;
}

int rf_proc_start_ticks(pid_t pid, uint64_t *ticks)
{
	char buf[1024];
	ssize_t n = rf_proc_read(pid, "stat", buf, sizeof(buf));
	const char *p;
	uint64_t v = 0;
	int field;

	if (n < 0)
		return (int)n;
	/* The command name (field 2) may hold spaces and ')': skip to the last ')'. */
	p = strrchr(buf, ')');
	if (p == NULL)
		return -EINVAL;
	/* p points at the end of field 2; field 22 is 20 separators further. */
	for (field = 2; field < 22 && *p; p++)
		if (*p == ' ')
			field++;
	if (field != 22)
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (uint64_t)(*p - '0');
	*ticks = v;
	return 0;
}

int rf_proc_cmdline(pid_t pid, char *buf, size_t len)
{
	ssize_t n = rf_proc_read(pid, "cmdline", buf, len);

	if (n < 0)
		return (int)n;
	/* Arguments are NUL-separated, with a trailing NUL. */
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[n] = '\0';
	return 0;
}
