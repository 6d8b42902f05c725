/*
 * rp_go_binary.c - the Go binary of a running process: its kind, its load
 * bias, the runtime's variables in .symtab, the layout of runtime.g in DWARF.
 */
#define _GNU_SOURCE
#include "rp_go_binary.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <dwarf.h>
#include <elfutils/libdw.h>

/* PT_LOAD headers looked at; Go's linker writes 3 or 4. */
#define RP_GO_LOAD_MAX 16
/* Lines of /proc/PID/maps looked at: a process with more mappings is absurd. */
#define RP_GO_MAPS_MAX 1000000

static char *rp_go_debuginfo_path;

/* The file is handed over by descriptor: nothing is looked up elsewhere. */
static const Dwfl_Callbacks rp_go_dwfl_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &rp_go_debuginfo_path,
};

__attribute__((format(printf, 4, 5))) static int rp_go_why(char *why, size_t len, int rc,
							   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return rc;
}

static int rp_go_access_error(pid_t pid, int err, const char *what, char *why, size_t len)
{
	if (err == -ENOENT || err == -ESRCH)
		return rp_go_why(why, len, -ESRCH, "no process %d", (int)pid);
	if (err == -EACCES || err == -EPERM)
		return rp_go_why(
			why, len, err,
			"permission denied reading process %d (%s): needs ptrace read access, "
			"i.e. the same user under the system's ptrace policy, or root "
			"(CAP_SYS_PTRACE)",
			(int)pid, what);
	return rp_go_why(why, len, err, "cannot read process %d (%s): %s", (int)pid, what,
			 strerror(-err));
}

uint64_t rp_go_field_get(const struct rp_go_field *f, const unsigned char *buf, size_t buf_len)
{
	uint64_t v = 0;

	if (f->size == 0 || f->size > 8 || (size_t)f->offset + f->size > buf_len)
		return 0;
	/* Little-endian only (checked at open): the low bytes come first. */
	memcpy(&v, buf + f->offset, f->size);
	return v;
}

/* ---- ELF: what kind of file, and where it is loaded ---------------------- */

struct rp_go_elf_facts {
	bool is_go; /* .gopclntab, .go.buildinfo or .note.go.buildid */
	bool has_symtab;
	bool has_dwarf; /* .debug_info (or the older .zdebug_info) */
	bool pie;       /* ET_DYN */
	bool amd64;
	bool le64;
	GElf_Phdr load[RP_GO_LOAD_MAX]; /* PT_LOAD headers, in file order */
	size_t nload;
};

static void rp_go_elf_inspect(Elf *elf, struct rp_go_elf_facts *facts)
{
	size_t shstrndx, phnum;
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;

	memset(facts, 0, sizeof(*facts));
	if (gelf_getehdr(elf, &eh) == NULL)
		return;
	facts->pie = eh.e_type == ET_DYN;
	facts->amd64 = eh.e_machine == EM_X86_64;
	facts->le64 = eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_ident[EI_DATA] == ELFDATA2LSB;
	if (elf_getphdrnum(elf, &phnum) == 0) {
		for (size_t i = 0; i < phnum && facts->nload < RP_GO_LOAD_MAX; i++) {
			GElf_Phdr ph;

			if (gelf_getphdr(elf, (int)i, &ph) != NULL && ph.p_type == PT_LOAD)
				facts->load[facts->nload++] = ph;
		}
	}
	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		const char *name;
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) == NULL ||
		    (name = elf_strptr(elf, shstrndx, sh.sh_name)) == NULL)
			continue;
		if (strcmp(name, ".gopclntab") == 0 || strcmp(name, ".go.buildinfo") == 0 ||
		    strcmp(name, ".note.go.buildid") == 0 ||
		    strcmp(name, ".data.rel.ro.gopclntab") == 0)
			facts->is_go = true;
		else if (sh.sh_type == SHT_SYMTAB)
			facts->has_symtab = true;
		else if (strcmp(name, ".debug_info") == 0 || strcmp(name, ".zdebug_info") == 0)
			facts->has_dwarf = true;
	}
}

/*
 * Load bias of a PIE: the process maps the file (the device and inode of
 * /proc/PID/exe) at some address; the mapping of the lowest file offset lies
 * in one PT_LOAD segment, whose link-time address for that offset is
 * p_vaddr + (offset - p_offset). The bias is the difference.
 */
static int rp_go_pie_bias(pid_t pid, const struct stat *st, const struct rp_go_elf_facts *facts,
			  uint64_t *bias)
{
	uint64_t best_off = UINT64_MAX, best_start = 0;
	char path[64], line[4352];
	unsigned long lines = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return errno == ENOENT ? -ESRCH : -errno;
	while (fgets(line, sizeof(line), f) != NULL && ++lines < RP_GO_MAPS_MAX) {
		unsigned long long start, end, off, ino;
		unsigned int maj, min;

		if (sscanf(line, "%llx-%llx %*4s %llx %x:%x %llu", &start, &end, &off, &maj, &min,
			   &ino) != 6)
			continue;
		if (ino != (unsigned long long)st->st_ino || makedev(maj, min) != st->st_dev)
			continue;
		if (off < best_off) {
			best_off = off;
			best_start = start;
		}
	}
	fclose(f);
	if (best_off == UINT64_MAX)
		return -ENOENT;
	for (size_t i = 0; i < facts->nload; i++) {
		const GElf_Phdr *ph = &facts->load[i];
		uint64_t lo = ph->p_offset & ~(uint64_t)(ph->p_align > 1 ? ph->p_align - 1 : 0);

		if (best_off >= lo && best_off < ph->p_offset + ph->p_filesz) {
			*bias = best_start - (ph->p_vaddr - (ph->p_offset - best_off));
			return 0;
		}
	}
	return -ENOENT;
}

/* ---- .symtab: the runtime's variables ------------------------------------ */

static void rp_go_addrs_find(struct rp_go_binary *bin)
{
	int n = dwfl_module_getsymtab(bin->mod);

	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *name =
			dwfl_module_getsym_info(bin->mod, i, &sym, &addr, NULL, NULL, NULL);

		if (name == NULL || strncmp(name, "runtime.", 8) != 0)
			continue;
		name += 8;
		if (strcmp(name, "allglen") == 0) {
			bin->addr.allglen = addr;
		} else if (strcmp(name, "allgptr") == 0) {
			bin->addr.allgptr = addr;
		} else if (strcmp(name, "allgs") == 0) {
			bin->addr.allgs = addr;
		} else if (strcmp(name, "waitReasonStrings") == 0) {
			bin->addr.wait_reasons = addr;
			bin->addr.wait_reasons_size = sym.st_size;
		} else if (strcmp(name, "buildVersion") == 0) {
			bin->addr.build_version = addr;
		} else if (strcmp(name, "fingRunning") == 0) {
			bin->addr.fing_running = addr;
		} else if ((strcmp(name, "goexit") == 0 || strcmp(name, "goexit.abi0") == 0) &&
			   GELF_ST_TYPE(sym.st_info) == STT_FUNC) {
			bin->addr.goexit_lo = addr;
			bin->addr.goexit_hi = addr + (sym.st_size ? sym.st_size : 1);
		}
	}
}

/* ---- DWARF: the layout of runtime.g -------------------------------------- */

/* The type a DIE refers to, typedefs peeled. */
static bool rp_go_die_type(Dwarf_Die *die, Dwarf_Die *type)
{
	Dwarf_Attribute attr;

	if (dwarf_attr_integrate(die, DW_AT_type, &attr) == NULL ||
	    dwarf_formref_die(&attr, type) == NULL)
		return false;
	return dwarf_peel_type(type, type) == 0;
}

static bool rp_go_member_find(Dwarf_Die *st, const char *name, Dwarf_Die *member)
{
	if (dwarf_child(st, member) != 0)
		return false;
	do {
		const char *n;

		if (dwarf_tag(member) != DW_TAG_member)
			continue;
		n = dwarf_diename(member);
		if (n != NULL && strcmp(n, name) == 0)
			return true;
	} while (dwarf_siblingof(member, member) == 0);
	return false;
}

/*
 * Offset and size of member name of struct st (and of its member sub when
 * sub is not NULL, offsets added). A field whose size is not that of an
 * integer the reader can take apart (1, 2, 4, 8 bytes) is not found: an
 * atomic wrapper such as later Go's atomic.Uint32 still qualifies.
 */
static bool rp_go_member_layout(Dwarf_Die *st, const char *name, const char *sub,
				struct rp_go_field *out)
{
	Dwarf_Die member, type;
	Dwarf_Word off, size;
	Dwarf_Attribute attr;

	if (!rp_go_member_find(st, name, &member))
		return false;
	if (dwarf_attr(&member, DW_AT_data_member_location, &attr) == NULL ||
	    dwarf_formudata(&attr, &off) != 0 || !rp_go_die_type(&member, &type))
		return false;
	if (sub != NULL) {
		struct rp_go_field inner;

		if (!rp_go_member_layout(&type, sub, NULL, &inner))
			return false;
		off += inner.offset;
		size = inner.size;
	} else if (dwarf_aggregate_size(&type, &size) != 0) {
		return false;
	}
	if ((size != 1 && size != 2 && size != 4 && size != 8) || off > UINT32_MAX - 8)
		return false;
	*out = (struct rp_go_field){.offset = (uint32_t)off, .size = (uint32_t)size};
	return true;
}

struct rp_go_types {
	Dwarf_Die g, string;
	bool have_g, have_string;
};

/*
 * Find the struct types named runtime.g and string among the top-level DIEs
 * of the CUs named "runtime" (where Go's linker puts the types) or, with
 * runtime_only false, of every CU.
 */
static void rp_go_types_find(Dwarf *dw, struct rp_go_types *t, bool runtime_only)
{
	Dwarf_Off off = 0, next;
	size_t hsize;

	for (; !(t->have_g && t->have_string) &&
	       dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0;
	     off = next) {
		const char *cuname;
		Dwarf_Die cu, die;

		if (dwarf_offdie(dw, off + hsize, &cu) == NULL)
			continue;
		cuname = dwarf_diename(&cu);
		if (runtime_only && (cuname == NULL || strcmp(cuname, "runtime") != 0))
			continue;
		if (dwarf_child(&cu, &die) != 0)
			continue;
		do {
			const char *name;

			if (dwarf_tag(&die) != DW_TAG_structure_type ||
			    (name = dwarf_diename(&die)) == NULL)
				continue;
			if (!t->have_g && strcmp(name, "runtime.g") == 0) {
				t->g = die;
				t->have_g = true;
			} else if (!t->have_string && strcmp(name, "string") == 0) {
				t->string = die;
				t->have_string = true;
			}
		} while (!(t->have_g && t->have_string) && dwarf_siblingof(&die, &die) == 0);
	}
}

static int rp_go_layout_read(Dwarf *dw, struct rp_go_layout *lay, char *why, size_t len)
{
	static const struct {
		const char *member, *sub;
		bool required;
	} fields[RP_GO_G__COUNT] = {
#define RP_GO_G_DESC(name, member, sub, required) [RP_GO_G_##name] = {member, sub, required},
		RP_GO_G_FIELDS(RP_GO_G_DESC)
#undef RP_GO_G_DESC
	};
	struct rp_go_types t = {0};
	Dwarf_Word size;

	rp_go_types_find(dw, &t, true);
	if (!t.have_g || !t.have_string)
		rp_go_types_find(dw, &t, false);
	if (!t.have_g)
		return rp_go_why(why, len, -ENOTSUP,
				 "unsupported Go runtime: no type runtime.g in the binary's DWARF");
	if (dwarf_aggregate_size(&t.g, &size) != 0 || size == 0 || size > 65536)
		return rp_go_why(why, len, -ENOTSUP,
				 "unsupported Go runtime: runtime.g has no sensible size in DWARF");
	memset(lay, 0, sizeof(*lay));
	lay->g_size = (uint32_t)size;
	for (int i = 0; i < RP_GO_G__COUNT; i++) {
		struct rp_go_field *f = &lay->g[i];

		if (!rp_go_member_layout(&t.g, fields[i].member, fields[i].sub, f)) {
			*f = (struct rp_go_field){0};
			if (fields[i].required)
				return rp_go_why(why, len, -ENOTSUP,
						 "unsupported Go runtime: runtime.g has no integer "
						 "field %s%s%s in DWARF",
						 fields[i].member, fields[i].sub ? "." : "",
						 fields[i].sub ? fields[i].sub : "");
			continue;
		}
		if (f->offset + f->size > lay->g_size)
			return rp_go_why(
				why, len, -ENOTSUP,
				"unsupported Go runtime: runtime.g.%s lies outside runtime.g",
				fields[i].member);
		if (f->offset + f->size > lay->g_span)
			lay->g_span = f->offset + f->size;
	}
	if (!t.have_string || dwarf_aggregate_size(&t.string, &size) != 0 || size > 64 ||
	    !rp_go_member_layout(&t.string, "str", NULL, &lay->string_str) ||
	    !rp_go_member_layout(&t.string, "len", NULL, &lay->string_len) ||
	    lay->string_str.size != 8 || lay->string_len.size != 8)
		return rp_go_why(why, len, -ENOTSUP,
				 "unsupported Go runtime: no 64-bit Go string type (str, len) in "
				 "DWARF");
	lay->string_size = (uint32_t)size;
	return 0;
}

/* ---- call frame information ------------------------------------------------ */

/* DWARF's number of the stack pointer, rsp, on x86-64. */
#define RP_GO_DWARF_RSP 7

int rp_go_binary_cfa_offset(struct rp_go_binary *bin, uint64_t pc, int64_t *off)
{
	Dwarf_Frame *frame = NULL;
	Dwarf_Op *ops;
	size_t nops;

	if (bin->cfa_pc == pc && pc != 0) {
		*off = bin->cfa_off;
		return bin->cfa_rc;
	}
	bin->cfa_pc = pc;
	bin->cfa_rc = -ENOENT;
	/* libdw gives a rule "register + offset" as the one operation DW_OP_bregx. */
	if (bin->cfi != NULL && pc >= bin->cfi_bias &&
	    dwarf_cfi_addrframe(bin->cfi, pc - bin->cfi_bias, &frame) == 0 &&
	    dwarf_frame_cfa(frame, &ops, &nops) == 0 && nops == 1 && ops[0].atom == DW_OP_bregx &&
	    ops[0].number == RP_GO_DWARF_RSP) {
		bin->cfa_off = (int64_t)ops[0].number2;
		bin->cfa_rc = 0;
	}
	free(frame);
	*off = bin->cfa_off;
	return bin->cfa_rc;
}

/* ---- open, close ---------------------------------------------------------- */

/*
 * Open /proc/PID/exe (which takes the ptrace read check, so a missing
 * permission shows here) and tell what kind of file it is. The descriptor
 * is left in *fd on success.
 */
static int rp_go_exe_inspect(pid_t pid, int *fd, struct stat *st, struct rp_go_elf_facts *facts,
			     char *why, size_t len)
{
	char path[64];
	Elf *elf;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	/* O_NONBLOCK: whatever the link names, opening it must not hang. */
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (*fd < 0)
		return rp_go_access_error(pid, -errno, path, why, len);
	if (fstat(*fd, st) != 0 || !S_ISREG(st->st_mode))
		return rp_go_why(why, len, -ENOEXEC,
				 "process %d is not a Go program (its executable is not a regular "
				 "file)",
				 (int)pid);
	elf = elf_begin(*fd, ELF_C_READ_MMAP, NULL);
	if (elf == NULL || elf_kind(elf) != ELF_K_ELF) {
		elf_end(elf);
		return rp_go_why(why, len, -ENOEXEC,
				 "process %d is not a Go program (its executable is not ELF)",
				 (int)pid);
	}
	rp_go_elf_inspect(elf, facts);
	elf_end(elf);
	if (!facts->is_go)
		return rp_go_why(why, len, -ENOEXEC,
				 "process %d is not a Go program (no .gopclntab, .go.buildinfo or "
				 "Go build id)",
				 (int)pid);
	if (!facts->le64)
		return rp_go_why(why, len, -ENOTSUP,
				 "process %d: only 64-bit little-endian Go binaries are supported",
				 (int)pid);
	if (!facts->has_symtab || !facts->has_dwarf)
		return rp_go_why(why, len, -ENODATA,
				 "process %d is a stripped Go binary (no %s): rebuild without "
				 "-ldflags='-s -w' to read its goroutines",
				 (int)pid,
				 !facts->has_symtab && !facts->has_dwarf ? ".symtab, no DWARF"
				 : !facts->has_symtab                    ? ".symtab"
									 : "DWARF");
	return 0;
}

/* Hand the file to libdwfl, which consumes fd, and read its symbols and layout. */
static int rp_go_dwarf_load(struct rp_go_binary *bin, int fd, char *why, size_t len)
{
	Dwarf_Addr dwbias = 0;
	int pid = (int)bin->pid;

	bin->dwfl = dwfl_begin(&rp_go_dwfl_callbacks);
	if (bin->dwfl == NULL) {
		close(fd);
		return rp_go_why(why, len, -ENOMEM, "libdwfl: %s", dwfl_errmsg(-1));
	}
	dwfl_report_begin(bin->dwfl);
	/* ET_DYN: base is the bias (added to p_vaddr); ET_EXEC: base is ignored. */
	bin->mod = dwfl_report_elf(bin->dwfl, "exe", "exe", fd, bin->bias, true);
	dwfl_report_end(bin->dwfl, NULL, NULL);
	if (bin->mod == NULL) {
		close(fd); /* consumed on success only */
		return rp_go_why(why, len, -ENOEXEC,
				 "process %d: libdwfl cannot load its executable: %s", pid,
				 dwfl_errmsg(-1));
	}
	bin->dwarf = dwfl_module_getdwarf(bin->mod, &dwbias);
	if (bin->dwarf == NULL)
		return rp_go_why(why, len, -ENODATA, "process %d: its DWARF cannot be read: %s",
				 pid, dwfl_errmsg(-1));
	bin->cfi = dwfl_module_dwarf_cfi(bin->mod, &bin->cfi_bias);
	rp_go_addrs_find(bin);
	if (bin->addr.allglen == 0 || (bin->addr.allgptr == 0 && bin->addr.allgs == 0))
		return rp_go_why(why, len, -ENOTSUP,
				 "unsupported Go runtime: no runtime.allglen and runtime.allgptr "
				 "or allgs in .symtab");
	return rp_go_layout_read(bin->dwarf, &bin->layout, why, len);
}

int rp_go_binary_open(pid_t pid, struct rp_go_binary **out, char *why, size_t len)
{
	struct rp_go_elf_facts facts;
	struct rp_go_binary *bin;
	struct stat st;
	int fd = -1, rc;

	*out = NULL;
	elf_version(EV_CURRENT);
	rc = rp_go_exe_inspect(pid, &fd, &st, &facts, why, len);
	if (rc < 0) {
		if (fd >= 0)
			close(fd);
		return rc;
	}
	bin = calloc(1, sizeof(*bin));
	if (bin == NULL) {
		close(fd);
		return rp_go_why(why, len, -ENOMEM, "out of memory");
	}
	bin->pid = pid;
	bin->pie = facts.pie;
	bin->amd64 = facts.amd64;
	if (facts.pie && (rc = rp_go_pie_bias(pid, &st, &facts, &bin->bias)) < 0) {
		close(fd);
		free(bin);
		if (rc == -ENOENT)
			return rp_go_why(why, len, -ENOTSUP,
					 "process %d: its executable is not in /proc/%d/maps",
					 (int)pid, (int)pid);
		return rp_go_access_error(pid, rc, "maps", why, len);
	}
	rc = rp_go_dwarf_load(bin, fd, why, len);
	if (rc < 0) {
		rp_go_binary_close(bin);
		return rc;
	}
	*out = bin;
	return 0;
}

void rp_go_binary_close(struct rp_go_binary *bin)
{
	if (bin == NULL)
		return;
	if (bin->dwfl != NULL)
		dwfl_end(bin->dwfl);
	free(bin);
}
