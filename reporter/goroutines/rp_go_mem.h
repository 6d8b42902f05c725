/*
 * rp_go_mem.h - reading another process's memory without stopping it.
 *
 * process_vm_readv(2) first, up to IOV_MAX spans a call; /proc/PID/mem
 * (pread) once the kernel or a seccomp filter refuses process_vm_readv. Both
 * take the kernel's ptrace access check (the same user under the system's
 * ptrace policy, or CAP_SYS_PTRACE), and neither stops, signals or writes to
 * the target. The target keeps running: what is read may be torn or stale,
 * and every byte is the caller's to check.
 */
#ifndef RP_GO_MEM_H
#define RP_GO_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct rp_go_mem {
	pid_t pid;
	int memfd;        /* /proc/PID/mem once the fallback is in use, else -1 */
	bool use_procmem; /* process_vm_readv refused: read through memfd */
	uint64_t calls;   /* read system calls made, for the measurements */
	uint64_t bytes;   /* bytes read */
};

/* One piece of remote memory to read into buf; err is set by the read. */
struct rp_go_span {
	uint64_t addr;
	void *buf;
	uint32_t len;
	int err; /* 0 when all len bytes were read, else a negative errno (-EFAULT: unmapped) */
};

/* Prepare to read pid; nothing is opened until the first read. */
void rp_go_mem_init(struct rp_go_mem *mem, pid_t pid);
void rp_go_mem_release(struct rp_go_mem *mem);

/*
 * Read every span, up to IOV_MAX spans a system call. A span that cannot be
 * read (unmapped, or torn by an munmap racing the read) gets a negative err
 * and does not stop the others. Returns 0 when the process could be read at
 * all (then look at each err); -ESRCH when it is gone, -EPERM or -EACCES
 * when access is refused, another negative errno otherwise, and then every
 * span's err is that value.
 */
int rp_go_mem_readv(struct rp_go_mem *mem, struct rp_go_span *spans, size_t count);

/* Read one span: 0 when all len bytes were read, else a negative errno. */
int rp_go_mem_read(struct rp_go_mem *mem, uint64_t addr, void *buf, uint32_t len);

#endif /* RP_GO_MEM_H */
