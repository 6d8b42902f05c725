/*
 * rp_go_sample.h - one reading of a Go process's goroutines, from outside.
 *
 * Follows the runtime's own lock-free reader (forEachGRace in proc.go):
 * runtime.allglen first, then runtime.allgptr, so the length never exceeds
 * the array it indexes; goroutines created meanwhile may be missed. Every g
 * is read once (the bytes that hold the needed fields, one iovec each, many
 * a system call), dead ones are skipped, and the frames of goroutines that
 * are parked are unwound by frame pointer from their saved registers.
 *
 * The process is never stopped: a goroutine may change while it is read,
 * so every value is checked (pointers aligned and in user space, counts
 * capped, frames inside the goroutine's stack and moving towards its top).
 */
#ifndef RP_GO_SAMPLE_H
#define RP_GO_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rp_go_binary.h"
#include "rp_go_mem.h"

/* States as Go's goroutine profile shows them. */
enum rp_go_state {
	RP_GO_STATE_RUNNING = 0,  /* _Grunning, _Gcopystack */
	RP_GO_STATE_RUNNABLE = 1, /* _Grunnable, _Gpreempted */
	RP_GO_STATE_WAITING = 2,  /* _Gwaiting */
	RP_GO_STATE_SYSCALL = 3,  /* _Gsyscall */
	RP_GO_STATE_OTHER = 4,    /* a status this reader does not know */
	RP_GO_STATE__COUNT
};

/* Frames unwound at most per goroutine, and by default. */
#define RP_GO_DEPTH_MAX 64
#define RP_GO_DEPTH_DEFAULT 16
/* Goroutines read at most by default. */
#define RP_GO_GOROUTINES_DEFAULT 1000000
/* Wait reasons: waitreason is a uint8. */
#define RP_GO_WAIT_REASONS 256

struct rp_go_goroutine {
	int64_t goid;
	uint32_t status;    /* atomicstatus without the _Gscan bit */
	uint8_t state;      /* enum rp_go_state */
	uint8_t waitreason; /* index into the wait reasons; 0 unless waiting */
	uint16_t nframes;   /* frames[0] is where it resumes */
	bool complete;      /* the unwind reached runtime.goexit: every frame is there */
	int64_t waitsince;  /* the runtime's nanotime; 0 when not known */
	uint64_t gopc;      /* return address of the go statement that created it */
	uint64_t startpc;   /* entry of its start function */
	uint64_t sched_pc, sched_sp, sched_bp; /* where a parked goroutine resumes */
	uint64_t *frames;                      /* into the sample's frame pool */
};

/* What is read once per process: the version and the wait reasons' names. */
struct rp_go_runtime {
	char version[64];                             /* "go1.19.8"; "" unknown */
	const char *wait_reasons[RP_GO_WAIT_REASONS]; /* by index; NULL unknown */
	char *wait_reason_text;                       /* storage of the names read */
	uint32_t nwait_reasons;
	const char *wait_reasons_from; /* "target", "table" (of the version) or "none" */
};

struct rp_go_sample_options {
	uint32_t depth;          /* frames per goroutine, 1..RP_GO_DEPTH_MAX */
	uint64_t max_goroutines; /* cap on allglen */
};

struct rp_go_sample {
	int64_t taken_ns;    /* the target's CLOCK_MONOTONIC when the gs were read */
	uint64_t allglen;    /* as read */
	bool truncated;      /* allglen was above max_goroutines */
	bool fing_running;   /* runtime.fingRunning: the finalizer goroutine runs user code */
	uint64_t dead;       /* _Gdead and _Gidle entries skipped */
	uint64_t unreadable; /* entries whose pointer or g could not be read */
	struct rp_go_goroutine *g;
	uint64_t count;
	uint64_t *frame_pool;
	uint64_t calls, bytes; /* system calls and bytes of this reading */
};

/*
 * Read the version (runtime.buildVersion) and the wait reasons' names: from
 * the target's runtime.waitReasonStrings (an array of Go strings), else
 * from a table of the version read, else none (shown as numbers). Names are
 * cut to 63 bytes and made printable ASCII. Returns 0, or a negative errno
 * when the process cannot be read at all (-ESRCH gone, -EPERM or -EACCES
 * refused, -ENOMEM).
 */
int rp_go_runtime_read(struct rp_go_binary *bin, struct rp_go_mem *mem, struct rp_go_runtime *rt);
void rp_go_runtime_release(struct rp_go_runtime *rt);

/* The name of wait reason idx; "" for 0 (none); "wait reason N" written into buf when unknown. */
const char *rp_go_wait_reason(const struct rp_go_runtime *rt, unsigned idx, char *buf, size_t len);

/*
 * Take one sample of every live goroutine. Returns 0; -ENOMEM; -EIO when the
 * runtime's table is not what the binary describes (allgs unreadable, a
 * length without an array); or the whole-process errors of rp_go_mem_readv
 * (-ESRCH when the process ended before or while it was read). Entries that
 * cannot be read are counted in unreadable and skipped.
 */
int rp_go_sample_take(struct rp_go_binary *bin, struct rp_go_mem *mem,
		      const struct rp_go_sample_options *opts, struct rp_go_sample *out);
void rp_go_sample_release(struct rp_go_sample *s);

/* The state a runtime status is shown as, and its name. */
enum rp_go_state rp_go_state_of(uint32_t status);
const char *rp_go_state_name(enum rp_go_state state);

#endif /* RP_GO_SAMPLE_H */
