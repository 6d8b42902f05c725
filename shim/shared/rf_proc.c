/*
 * rf_proc.c - what /proc says about a process.
 */
#include "rf_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/*
 * Reads up to len-1 bytes of a small file of /proc/PID (pid 0: /proc/self);
 * returns the length or -errno.
 */
static ssize_t rf_proc_read(pid_t pid, const char *file, char *buf, size_t len)
{
	char path[96];
	size_t used = 0;
	int fd;

	if (pid == 0)
		snprintf(path, sizeof(path), "/proc/self/%s", file);
	else
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

int rf_proc_self_memory(uint64_t *vm_bytes, uint64_t *rss_bytes)
{
	char buf[128];
	ssize_t n = rf_proc_read(0, "statm", buf, sizeof(buf));
	uint64_t field[2] = {0, 0};
	const char *p = buf;
	long page = sysconf(_SC_PAGESIZE);

	if (n < 0)
		return (int)n;
	for (int i = 0; i < 2; i++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++)
			field[i] = field[i] * 10 + (uint64_t)(*p - '0');
		if (*p == ' ')
			p++;
	}
	*vm_bytes = field[0] * (uint64_t)page;
	*rss_bytes = field[1] * (uint64_t)page;
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

/* Reads a file of /proc/PID/task/TID; as rf_proc_read. */
static ssize_t rf_proc_task_read(pid_t pid, pid_t tid, const char *file, char *buf, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "task/%d/%s", (int)tid, file);
	return rf_proc_read(pid, path, buf, len);
}

int rf_proc_thread_state(pid_t pid, pid_t tid, struct rf_proc_thread_state *st)
{
	char buf[512];
	const char *p;
	ssize_t n;

	memset(st, 0, sizeof(*st));
	st->syscall = -2;
	n = rf_proc_task_read(pid, tid, "stat", buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	/* The command name (field 2) may hold spaces and ')': the state follows the last ')'. */
	p = strrchr(buf, ')');
	if (p == NULL || p[1] != ' ' || p[2] == '\0')
		return -EINVAL;
	st->state = (unsigned char)p[2];
	n = rf_proc_task_read(pid, tid, "wchan", buf, sizeof(buf));
	if (n > 0 && strcmp(buf, "0") != 0)
		snprintf(st->wchan, sizeof(st->wchan), "%.*s", (int)strcspn(buf, "\n"), buf);
	if (rf_proc_task_read(pid, tid, "syscall", buf, sizeof(buf)) > 0) {
		if (strncmp(buf, "running", 7) == 0)
			st->syscall = -1;
		else if (buf[0] >= '0' && buf[0] <= '9')
			st->syscall = (int32_t)strtol(buf, NULL, 10);
	}
	n = rf_proc_task_read(pid, tid, "comm", buf, sizeof(buf));
	if (n > 0)
		snprintf(st->name, sizeof(st->name), "%.*s", (int)strcspn(buf, "\n"), buf);
	return 0;
}
