/*
 * rp_symbols.h - addresses of a (possibly gone) process turned into
 * function+offset, demangled C++ names and source file:line.
 *
 * Works from the module map a segment records (path and load bias of every
 * loaded object), with elfutils' libdw: symbols from .symtab when the file
 * has one (ordinary binaries, linked without -rdynamic), else .dynsym;
 * file:line from DWARF, in the file itself or in separate debug info found
 * by build-id (/usr/lib/debug). Files are read as they are on disk now: a
 * binary rebuilt since the process ran gives wrong answers.
 */
#ifndef RP_SYMBOLS_H
#define RP_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rf_shm.h"

struct rp_symbols;

struct rp_frame {
	uint64_t pc;
	char function[512];                  /* demangled; "" when unknown */
	uint64_t offset;                     /* pc - start of function */
	char file[512];                      /* source file; "" when no line information */
	int line;                            /* 0 when unknown */
	char module[RF_SHM_MODULE_PATH_MAX]; /* "" when pc is in no recorded module */
	uint64_t module_offset;              /* pc - load bias */
};

/*
 * A symboliser for these modules (entries with a path that exists), which
 * must outlive it; NULL on failure. rp_symbols_close ends it (NULL is fine).
 */
struct rp_symbols *rp_symbols_open(const struct rf_shm_module *modules, size_t count);
void rp_symbols_close(struct rp_symbols *syms);

/*
 * Describe pc. A return address (every frame of a creation stack, and all
 * but the first of a sample) is looked up at pc - 1, inside the call, so
 * the line is the call's and not the next statement's.
 */
void rp_symbols_lookup(struct rp_symbols *syms, uint64_t pc, bool return_address,
		       struct rp_frame *out);

/* Demangle a C++ symbol into buf; a name that is not mangled is copied. */
void rp_symbols_demangle(const char *name, char *buf, size_t len);

#endif /* RP_SYMBOLS_H */
