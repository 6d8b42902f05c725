/*
 * rp_go_symbols.h - program counters of a Go process turned into function
 * and file:line, inlined calls expanded, each distinct address looked up
 * once.
 *
 * The physical function comes from .symtab, the functions inlined into it
 * from the DWARF scopes around the address, file:line from the CU's line
 * table. The CU of an address is found through an index of every CU's
 * address ranges built at open, so no .debug_aranges is needed (Go's linker
 * writes none). The strings returned point into libdw's copy of the binary,
 * which is the target's file: untrusted bytes, for the printers to escape.
 * They live as long as the binary.
 */
#ifndef RP_GO_SYMBOLS_H
#define RP_GO_SYMBOLS_H

#include <stdbool.h>
#include <stdint.h>

#include "rp_go_binary.h"

/* Levels of inlining followed at one address (the subprogram and the calls inlined in it). */
#define RP_GO_INLINE_MAX 8

struct rp_go_loc {
	const char *function; /* "" when unknown */
	const char *file;     /* "" when unknown */
	int line;             /* 0 when unknown */
};

struct rp_go_pcinfo {
	uint64_t pc;    /* the address given to the lookup */
	uint32_t nlocs; /* at least 1; locs[0] is the innermost (inlined) function */
	/* The physical function is a compiler-made wrapper (DW_AT_trampoline):
	 * the closure a `go f(args)` statement starts in. */
	bool wrapper;
	const char *wrapped; /* for a wrapper's entry: the function it calls, once learned */
	struct rp_go_loc locs[RP_GO_INLINE_MAX];
};

struct rp_go_symbols;

/* A symboliser for bin, which must outlive it; 0 or -ENOMEM. */
int rp_go_symbols_open(struct rp_go_binary *bin, struct rp_go_symbols **out);
void rp_go_symbols_close(struct rp_go_symbols *syms);

/*
 * Describe pc. A return address (a frame below the top, and a goroutine's
 * gopc, the address after the call that started it) is looked up at
 * pc - 1, inside the call, so the line is the call's and not the next
 * statement's. Never NULL: an unknown address, or one that cannot be
 * remembered for want of memory, gives one location with empty strings.
 */
const struct rp_go_pcinfo *rp_go_symbols_lookup(struct rp_go_symbols *syms, uint64_t pc,
						bool return_address);

/*
 * The start function of goroutines that start at startpc, as Go's traceback
 * names it: the function itself; or, when it is the wrapper that `go f(x)`
 * compiles to (Go 1.17 on), f, once learned from a goroutine's frames
 * (rp_go_symbols_wrapped_learn), and the wrapper's own name until then.
 */
const char *rp_go_symbols_start(struct rp_go_symbols *syms, uint64_t startpc);

/*
 * Learn what the wrapper at startpc calls from one goroutine's frames,
 * complete to their bottom (the last frame is a return address inside the
 * wrapper, the one above it inside the function it called). Only the first
 * answer for a startpc is kept, so every group keeps its name.
 */
void rp_go_symbols_wrapped_learn(struct rp_go_symbols *syms, uint64_t startpc,
				 const uint64_t *frames, uint16_t nframes);

/* Distinct addresses looked up so far, for the measurements. */
uint64_t rp_go_symbols_count(const struct rp_go_symbols *syms);

/* Whether a function belongs to the runtime (runtime., runtime/internal/...). */
bool rp_go_function_is_runtime(const char *name);

#endif /* RP_GO_SYMBOLS_H */
