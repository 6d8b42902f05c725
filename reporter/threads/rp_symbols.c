/*
 * rp_symbols.c - addresses to function+offset, demangled names, file:line.
 */
#define _GNU_SOURCE
#include "rp_symbols.h"

#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* libstdc++'s demangler (abi::__cxa_demangle), with C linkage. */
char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

struct rp_symbols {
	Dwfl *dwfl;
	const struct rf_shm_module *modules;
	size_t count;
};

static char *rp_debuginfo_path;

static const Dwfl_Callbacks rp_dwfl_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &rp_debuginfo_path,
};

/*
 * Whether path, a string from the segment, names a regular file we may
 * read. Opened without blocking and checked by its descriptor: a FIFO
 * there would block libdwfl's open() forever, a device would be read
 * without end. (libdwfl opens the path again; only a file swapped in
 * between could still fool it.)
 */
static bool rp_symbols_regular(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	bool regular;

	if (fd < 0)
		return false;
	regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	close(fd);
	return regular;
}

struct rp_symbols *rp_symbols_open(const struct rf_shm_module *modules, size_t count)
{
	struct rp_symbols *syms = calloc(1, sizeof(*syms));

	if (syms == NULL)
		return NULL;
	syms->modules = modules;
	syms->count = count;
	syms->dwfl = dwfl_begin(&rp_dwfl_callbacks);
	if (syms->dwfl == NULL)
		return syms; /* module+offset only */
	dwfl_report_begin(syms->dwfl);
	for (size_t i = 0; i < count; i++) {
		const struct rf_shm_module *m = &modules[i];
		const char *base = strrchr(m->path, '/');

		if (m->path[0] != '/' || !rp_symbols_regular(m->path))
			continue;
		dwfl_report_elf(syms->dwfl, base ? base + 1 : m->path, m->path, -1, m->base, false);
	}
	dwfl_report_end(syms->dwfl, NULL, NULL);
	return syms;
}

void rp_symbols_close(struct rp_symbols *syms)
{
	if (syms == NULL)
		return;
	if (syms->dwfl != NULL)
		dwfl_end(syms->dwfl);
	free(syms);
}

void rp_symbols_demangle(const char *name, char *buf, size_t len)
{
	char *demangled = NULL;
	int status = -1;

	if (strncmp(name, "_Z", 2) == 0)
		demangled = __cxa_demangle(name, NULL, NULL, &status);
	snprintf(buf, len, "%s", status == 0 && demangled ? demangled : name);
	free(demangled);
}

static const struct rf_shm_module *rp_symbols_module(const struct rp_symbols *syms, uint64_t pc)
{
	for (size_t i = 0; i < syms->count; i++)
		if (pc >= syms->modules[i].start && pc < syms->modules[i].end)
			return &syms->modules[i];
	return NULL;
}

void rp_symbols_lookup(struct rp_symbols *syms, uint64_t pc, bool return_address,
		       struct rp_frame *out)
{
	uint64_t at = return_address && pc > 0 ? pc - 1 : pc;
	const struct rf_shm_module *m;

	memset(out, 0, sizeof(*out));
	out->pc = pc;
	if (syms == NULL)
		return;
	m = rp_symbols_module(syms, at);
	if (m != NULL) {
		snprintf(out->module, sizeof(out->module), "%s", m->path);
		out->module_offset = pc - m->base;
	}
	if (syms->dwfl == NULL)
		return;
	Dwfl_Module *mod = dwfl_addrmodule(syms->dwfl, at);
	if (mod == NULL)
		return;
	GElf_Off off = 0;
	GElf_Sym sym;
	const char *name = dwfl_module_addrinfo(mod, at, &off, &sym, NULL, NULL, NULL);
	/* In a stripped library the nearest symbol below may end well before pc:
	 * that is not where pc is, so say module+offset instead. */
	if (name != NULL && sym.st_size > 0 && off >= sym.st_size)
		name = NULL;
	if (name != NULL) {
		rp_symbols_demangle(name, out->function, sizeof(out->function));
		out->offset = off + (at != pc ? 1 : 0);
	}
	Dwfl_Line *line = dwfl_module_getsrc(mod, at);
	if (line != NULL) {
		Dwarf_Addr line_at = 0;
		int lineno = 0;
		const char *src = dwfl_lineinfo(line, &line_at, &lineno, NULL, NULL, NULL);
		/* The line must lie in the function that holds pc: where no unit of
		 * the DWARF covers pc (a Go function in a cgo binary), the nearest
		 * line below it belongs to another function of another unit. */
		if (name != NULL && line_at + off < at)
			src = NULL;
		if (src != NULL) {
			snprintf(out->file, sizeof(out->file), "%s", src);
			out->line = lineno;
		}
	}
}
