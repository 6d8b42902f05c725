/*
 * rp_go_mem.c - reading another process's memory without stopping it.
 */
#define _GNU_SOURCE
#include "rp_go_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/uio.h>
#include <unistd.h>

/* IOV_MAX on Linux: a call never takes more iovecs than that. */
#define RP_GO_MEM_BATCH 1024

void rp_go_mem_init(struct rp_go_mem *mem, pid_t pid)
{
	*mem = (struct rp_go_mem){.pid = pid, .memfd = -1};
}

void rp_go_mem_release(struct rp_go_mem *mem)
{
	if (mem->memfd >= 0)
		close(mem->memfd);
	mem->memfd = -1;
}

/* Errors that concern the whole process, not one span. */
static bool rp_go_mem_fatal(int err)
{
	return err == -ESRCH || err == -EPERM || err == -EACCES || err == -ENOMEM;
}

static void rp_go_mem_fail_all(struct rp_go_span *spans, size_t count, int err)
{
	for (size_t i = 0; i < count; i++)
		spans[i].err = err;
}

static int rp_go_procmem_open(struct rp_go_mem *mem)
{
	char path[64];

	if (mem->memfd >= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)mem->pid);
	mem->memfd = open(path, O_RDONLY | O_CLOEXEC);
	if (mem->memfd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	return 0;
}

/* One span through /proc/PID/mem: the fallback, one pread a span. */
static int rp_go_procmem_read(struct rp_go_mem *mem, struct rp_go_span *s)
{
	size_t done = 0;

	/* An address above INT64_MAX cannot be an off_t: not user memory anyway. */
	if (s->addr > (uint64_t)INT64_MAX - s->len)
		return s->err = -EFAULT;
	while (done < s->len) {
		ssize_t n = pread(mem->memfd, (char *)s->buf + done, s->len - done,
				  (off_t)(s->addr + done));

		mem->calls++;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return s->err = (errno == EIO ? -EFAULT : -errno);
		/* End of file at a user address: the address space went with the process. */
		if (n == 0)
			return s->err = -ESRCH;
		done += (size_t)n;
		mem->bytes += (uint64_t)n;
	}
	return s->err = 0;
}

static int rp_go_procmem_readv(struct rp_go_mem *mem, struct rp_go_span *spans, size_t count)
{
	int rc = rp_go_procmem_open(mem);

	if (rc < 0) {
		rp_go_mem_fail_all(spans, count, rc);
		return rc;
	}
	for (size_t i = 0; i < count; i++) {
		rc = rp_go_procmem_read(mem, &spans[i]);
		if (rp_go_mem_fatal(rc)) {
			rp_go_mem_fail_all(spans, count, rc);
			return rc;
		}
	}
	return 0;
}

/*
 * Read spans[0..n) (n <= RP_GO_MEM_BATCH) with as few process_vm_readv calls
 * as the target's holes allow. The kernel stops at the first remote iovec it
 * cannot read and returns the bytes read so far: the spans up to there are
 * complete, the one it stopped in is marked unreadable, and the call is made
 * again from the next one. Each call settles at least one span, so this ends
 * after at most n calls.
 */
static int rp_go_vm_batch(struct rp_go_mem *mem, struct rp_go_span *spans, size_t n)
{
	struct iovec local[RP_GO_MEM_BATCH], remote[RP_GO_MEM_BATCH];
	size_t first = 0;

	while (first < n) {
		size_t k = n - first, left;
		ssize_t got;

		for (size_t i = 0; i < k; i++) {
			local[i].iov_base = spans[first + i].buf;
			local[i].iov_len = spans[first + i].len;
			remote[i].iov_base = (void *)(uintptr_t)spans[first + i].addr;
			remote[i].iov_len = spans[first + i].len;
		}
		got = process_vm_readv(mem->pid, local, k, remote, k, 0);
		mem->calls++;
		if (got < 0) {
			int err = -errno;

			if (err == -EINTR)
				continue;
			if (rp_go_mem_fatal(err) || err == -ENOSYS)
				return err;
			/* EFAULT (or EINVAL for an absurd address): the first span is bad. */
			spans[first++].err = -EFAULT;
			continue;
		}
		mem->bytes += (uint64_t)got;
		left = (size_t)got;
		while (first < n && left >= spans[first].len) {
			left -= spans[first].len;
			spans[first++].err = 0;
		}
		if (first < n)
			spans[first++].err = -EFAULT; /* stopped inside it, or at its start */
	}
	return 0;
}

int rp_go_mem_readv(struct rp_go_mem *mem, struct rp_go_span *spans, size_t count)
{
	if (mem->use_procmem)
		return rp_go_procmem_readv(mem, spans, count);
	for (size_t at = 0; at < count;) {
		size_t n = count - at < RP_GO_MEM_BATCH ? count - at : RP_GO_MEM_BATCH;
		int rc = rp_go_vm_batch(mem, spans + at, n);

		if (rc == -ENOSYS) {
			/* Refused by the kernel or a seccomp filter: the slower way from now on. */
			mem->use_procmem = true;
			return rp_go_procmem_readv(mem, spans, count);
		}
		if (rc < 0) {
			rp_go_mem_fail_all(spans, count, rc);
			return rc;
		}
		at += n;
	}
	return 0;
}

int rp_go_mem_read(struct rp_go_mem *mem, uint64_t addr, void *buf, uint32_t len)
{
	struct rp_go_span s = {.addr = addr, .buf = buf, .len = len};
	int rc = rp_go_mem_readv(mem, &s, 1);

	return rc < 0 ? rc : s.err;
}
