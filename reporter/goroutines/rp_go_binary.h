/*
 * rp_go_binary.h - the Go binary a process runs: where the runtime's
 * goroutine table is (.symtab), how a runtime.g is laid out (DWARF), and the
 * load bias that turns the one into addresses in the process.
 *
 * The binary is read through /proc/PID/exe, so a file replaced or deleted
 * since the process started is still the one it runs. The layout comes from
 * the binary's own DWARF only (runtime.g, its member sched of type
 * runtime.gobuf, its member stack of type runtime.stack, and Go's string),
 * no offset is written here: the reader follows the runtime across Go
 * versions as long as the fields keep their names.
 */
#ifndef RP_GO_BINARY_H
#define RP_GO_BINARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <elfutils/libdwfl.h>

/*
 * The fields of runtime.g the reader needs, declared once.
 * X(name, member of runtime.g, member of that member's struct or NULL, required):
 * a binary whose runtime.g lacks a required field is an unsupported runtime.
 */
#define RP_GO_G_FIELDS(X)                                                                          \
	X(goid, "goid", NULL, true)                                                                \
	X(status, "atomicstatus", NULL, true)                                                      \
	X(waitreason, "waitreason", NULL, false)                                                   \
	X(waitsince, "waitsince", NULL, false)                                                     \
	X(gopc, "gopc", NULL, true)                                                                \
	X(startpc, "startpc", NULL, true)                                                          \
	X(sched_pc, "sched", "pc", true)                                                           \
	X(sched_sp, "sched", "sp", true)                                                           \
	X(sched_bp, "sched", "bp", false)                                                          \
	X(stack_lo, "stack", "lo", true)                                                           \
	X(stack_hi, "stack", "hi", true)                                                           \
	X(syscallpc, "syscallpc", NULL, false)                                                     \
	X(syscallsp, "syscallsp", NULL, false)

enum rp_go_g_field {
#define RP_GO_G_ENUM(name, member, sub, required) RP_GO_G_##name,
	RP_GO_G_FIELDS(RP_GO_G_ENUM)
#undef RP_GO_G_ENUM
	RP_GO_G__COUNT
};

struct rp_go_field {
	uint32_t offset; /* from the start of the struct */
	uint32_t size;   /* 1, 2, 4 or 8; 0 when the binary has no such field */
};

struct rp_go_layout {
	uint32_t g_size; /* byte size of runtime.g */
	uint32_t g_span; /* bytes from the start of a g that hold every needed field */
	struct rp_go_field g[RP_GO_G__COUNT];
	uint32_t string_size; /* Go's string header: {str, len} */
	struct rp_go_field string_str, string_len;
};

/* Addresses in the process (load bias applied) of the runtime's variables; 0 when absent. */
struct rp_go_addrs {
	uint64_t allglen, allgptr, allgs;
	uint64_t wait_reasons;         /* runtime.waitReasonStrings */
	uint64_t wait_reasons_size;    /* its st_size */
	uint64_t build_version;        /* runtime.buildVersion, a Go string */
	uint64_t fing_running;         /* runtime.fingRunning, a bool */
	uint64_t goexit_lo, goexit_hi; /* runtime.goexit: the bottom of every goroutine */
};

struct rp_go_binary {
	pid_t pid;
	Dwfl *dwfl;
	Dwfl_Module *mod;
	Dwarf *dwarf;
	uint64_t bias; /* process address - link-time address */
	bool pie;
	bool amd64; /* frame-pointer unwinding is done on amd64 only */
	struct rp_go_layout layout;
	struct rp_go_addrs addr;
	Dwarf_CFI *cfi; /* .debug_frame, NULL when absent; libdwfl's */
	Dwarf_Addr cfi_bias;
	uint64_t cfa_pc; /* the last answer of rp_go_binary_cfa_offset, for runs of one pc */
	int64_t cfa_off;
	int cfa_rc;
};

/*
 * Open the binary pid runs and learn its layout. On failure returns a
 * negative errno and writes one line naming what is missing into why:
 * -ESRCH no such process; -EACCES or -EPERM no ptrace read access to it;
 * -ENOEXEC not a Go program; -ENODATA a Go program without .symtab or
 * DWARF (built with -ldflags='-s -w'); -ENOTSUP a runtime whose runtime.g
 * lacks a field the reader needs, or a binary other than 64-bit
 * little-endian; -ENOMEM.
 */
int rp_go_binary_open(pid_t pid, struct rp_go_binary **out, char *why, size_t len);
void rp_go_binary_close(struct rp_go_binary *bin);

/*
 * Where the canonical frame address lies from the stack pointer in the
 * function at pc, from the binary's call frame information (.debug_frame):
 * CFA = SP + *off. Go's frames keep the caller's frame pointer at CFA - 16
 * on amd64, which lets a goroutine in a system call (whose saved registers
 * hold no frame pointer) be unwound from its saved SP. 0, or -ENOENT when
 * the binary does not say (or not as a register plus an offset).
 */
int rp_go_binary_cfa_offset(struct rp_go_binary *bin, uint64_t pc, int64_t *off);

/*
 * The unsigned little-endian integer of field f in a copy of its struct, buf
 * of buf_len bytes: 0 when the field is absent or would lie outside buf, so
 * a short or absent field never reads past the copy.
 */
uint64_t rp_go_field_get(const struct rp_go_field *f, const unsigned char *buf, size_t buf_len);

#endif /* RP_GO_BINARY_H */
