/*
 * rp_go_symbols.c - program counters to function and file:line.
 */
#define _GNU_SOURCE
#include "rp_go_symbols.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <dwarf.h>
#include <elfutils/libdw.h>

/* Entries are allocated in blocks that never move, so returned pointers stay valid. */
#define RP_GO_SYMS_BLOCK 256
/* Scopes descended at most below a subprogram, whatever the DWARF says. */
#define RP_GO_SCOPE_DEPTH 64

/* An address range of a CU (ref: its index) or of a subprogram (ref: its DIE's offset). */
struct rp_go_range {
	Dwarf_Addr lo, hi; /* link-time addresses [lo, hi) */
	uint64_t ref;
};

/* One CU: its DIE, and an index of its subprograms built the first time it is needed. */
struct rp_go_cu {
	Dwarf_Off die;
	bool indexed;
	struct rp_go_range *fns; /* sorted by lo */
	size_t nfns;
};

struct rp_go_syms_block {
	struct rp_go_syms_block *next;
	uint32_t used;
	struct rp_go_pcinfo info[RP_GO_SYMS_BLOCK];
};

struct rp_go_symbols {
	struct rp_go_binary *bin;
	Dwarf_Addr dwbias;          /* process address - DWARF address */
	struct rp_go_range *ranges; /* sorted by lo */
	size_t nranges;
	struct rp_go_cu *cus;
	size_t ncus;
	/* Open addressing, keyed by (address, return_address), at most half full. */
	struct rp_go_pcinfo **slots;
	uint64_t *keys;
	size_t nslots, count;
	struct rp_go_syms_block *blocks;
};

/* The answer for an address that cannot be described (no memory to describe it in). */
static const struct rp_go_pcinfo rp_go_unknown = {.nlocs = 1, .locs = {{"", "", 0}}};

static int rp_go_range_cmp(const void *a, const void *b)
{
	const struct rp_go_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The range of sorted, disjoint ranges[0..n) that holds addr, or NULL. */
static const struct rp_go_range *rp_go_range_find(const struct rp_go_range *ranges, size_t n,
						  Dwarf_Addr addr)
{
	size_t lo = 0, hi = n;

	/* The last range starting at or below addr. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ranges[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && addr < ranges[lo - 1].hi ? &ranges[lo - 1] : NULL;
}

/* Make room for one more element of an array that doubles; 0 or -ENOMEM. */
static int rp_go_grow(void **array, size_t *cap, size_t used, size_t first, size_t size)
{
	size_t ncap;
	void *p;

	if (used < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : first;
	p = realloc(*array, ncap * size);
	if (p == NULL)
		return -ENOMEM;
	*array = p;
	*cap = ncap;
	return 0;
}

/* Index of every CU's address ranges, so an address finds its CU by binary search. */
static int rp_go_ranges_build(struct rp_go_symbols *s)
{
	Dwarf *dw = s->bin->dwarf;
	Dwarf_Off off = 0, next;
	size_t hsize, cap = 0, cucap = 0;

	for (; dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0; off = next) {
		Dwarf_Addr base, lo, hi;
		ptrdiff_t it = 0;
		Dwarf_Die cu;

		if (dwarf_offdie(dw, off + hsize, &cu) == NULL)
			continue;
		if (rp_go_grow((void **)&s->cus, &cucap, s->ncus, 64, sizeof(*s->cus)) < 0)
			return -ENOMEM;
		s->cus[s->ncus++] = (struct rp_go_cu){.die = off + hsize};
		while ((it = dwarf_ranges(&cu, it, &base, &lo, &hi)) > 0) {
			if (hi <= lo)
				continue;
			if (rp_go_grow((void **)&s->ranges, &cap, s->nranges, 256,
				       sizeof(*s->ranges)) < 0)
				return -ENOMEM;
			s->ranges[s->nranges++] =
				(struct rp_go_range){.lo = lo, .hi = hi, .ref = s->ncus - 1};
		}
	}
	if (s->nranges > 1)
		qsort(s->ranges, s->nranges, sizeof(*s->ranges), rp_go_range_cmp);
	return 0;
}

static struct rp_go_cu *rp_go_cu_find(struct rp_go_symbols *s, Dwarf_Addr addr, Dwarf_Die *cu)
{
	/* Ranges of different CUs do not overlap. */
	const struct rp_go_range *r = rp_go_range_find(s->ranges, s->nranges, addr);
	struct rp_go_cu *c = r != NULL ? &s->cus[r->ref] : NULL;

	return c != NULL && dwarf_offdie(s->bin->dwarf, c->die, cu) != NULL ? c : NULL;
}

/* The subprograms among the CU's top-level DIEs, by address (Go puts every function there). */
static void rp_go_cu_index(struct rp_go_cu *c, Dwarf_Die *cu)
{
	size_t cap = 0;
	Dwarf_Die die;

	c->indexed = true;
	if (dwarf_child(cu, &die) != 0)
		return;
	do {
		Dwarf_Addr lo, hi;

		if (dwarf_tag(&die) != DW_TAG_subprogram || dwarf_lowpc(&die, &lo) != 0 ||
		    dwarf_highpc(&die, &hi) != 0 || hi <= lo)
			continue;
		if (rp_go_grow((void **)&c->fns, &cap, c->nfns, 64, sizeof(*c->fns)) < 0)
			break; /* what is indexed so far still serves */
		c->fns[c->nfns++] = (struct rp_go_range){lo, hi, dwarf_dieoffset(&die)};
	} while (dwarf_siblingof(&die, &die) == 0);
	if (c->nfns > 1)
		qsort(c->fns, c->nfns, sizeof(*c->fns), rp_go_range_cmp);
}

static bool rp_go_fn_find(struct rp_go_symbols *s, struct rp_go_cu *c, Dwarf_Die *cu,
			  Dwarf_Addr addr, Dwarf_Die *fn)
{
	const struct rp_go_range *r;

	if (!c->indexed)
		rp_go_cu_index(c, cu);
	r = rp_go_range_find(c->fns, c->nfns, addr);
	return r != NULL && dwarf_offdie(s->bin->dwarf, r->ref, fn) != NULL;
}

/*
 * The scopes that are functions around addr, outermost first: the
 * subprogram, then each inlined subroutine inside it that contains addr
 * (through lexical blocks). Walked by hand: dwarf_getscopes misses inlined
 * subroutines whose abstract origin lies in another CU, which Go writes
 * (sync.(*Mutex).Lock inlined into a caller).
 */
static int rp_go_inline_chain(Dwarf_Die *fn, Dwarf_Addr addr, Dwarf_Die *chain, int max)
{
	Dwarf_Die cur = *fn, child;
	int n = 0;

	chain[n++] = *fn;
	for (int level = 0; level < RP_GO_SCOPE_DEPTH && n < max; level++) {
		bool found = false;

		if (dwarf_child(&cur, &child) != 0)
			break;
		do {
			int tag = dwarf_tag(&child);

			if ((tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block) &&
			    dwarf_haspc(&child, addr) == 1) {
				if (tag == DW_TAG_inlined_subroutine)
					chain[n++] = child;
				cur = child;
				found = true;
				break;
			}
		} while (dwarf_siblingof(&child, &child) == 0);
		if (!found)
			break;
	}
	return n;
}

int rp_go_symbols_open(struct rp_go_binary *bin, struct rp_go_symbols **out)
{
	struct rp_go_symbols *s = calloc(1, sizeof(*s));
	Dwarf_Addr dwbias = 0;

	*out = NULL;
	if (s == NULL)
		return -ENOMEM;
	s->bin = bin;
	if (dwfl_module_getdwarf(bin->mod, &dwbias) != NULL)
		s->dwbias = dwbias;
	s->nslots = 1024;
	s->slots = calloc(s->nslots, sizeof(*s->slots));
	s->keys = calloc(s->nslots, sizeof(*s->keys));
	if (s->slots == NULL || s->keys == NULL || rp_go_ranges_build(s) < 0) {
		rp_go_symbols_close(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

void rp_go_symbols_close(struct rp_go_symbols *s)
{
	if (s == NULL)
		return;
	while (s->blocks != NULL) {
		struct rp_go_syms_block *b = s->blocks;

		s->blocks = b->next;
		free(b);
	}
	for (size_t i = 0; i < s->ncus; i++)
		free(s->cus[i].fns);
	free(s->cus);
	free(s->slots);
	free(s->keys);
	free(s->ranges);
	free(s);
}

uint64_t rp_go_symbols_count(const struct rp_go_symbols *s)
{
	return s->count;
}

bool rp_go_function_is_runtime(const char *name)
{
	return name != NULL &&
	       (strncmp(name, "runtime.", 8) == 0 || strncmp(name, "runtime/internal/", 17) == 0);
}

static size_t rp_go_hash(uint64_t key)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return (size_t)key;
}

static int rp_go_slots_grow(struct rp_go_symbols *s)
{
	size_t n = s->nslots * 2;
	struct rp_go_pcinfo **slots = calloc(n, sizeof(*slots));
	uint64_t *keys = calloc(n, sizeof(*keys));

	if (slots == NULL || keys == NULL) {
		free(slots);
		free(keys);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->nslots; i++) {
		size_t j;

		if (s->slots[i] == NULL)
			continue;
		for (j = rp_go_hash(s->keys[i]) & (n - 1); slots[j] != NULL; j = (j + 1) & (n - 1))
			;
		slots[j] = s->slots[i];
		keys[j] = s->keys[i];
	}
	free(s->slots);
	free(s->keys);
	s->slots = slots;
	s->keys = keys;
	s->nslots = n;
	return 0;
}

static struct rp_go_pcinfo *rp_go_entry_new(struct rp_go_symbols *s)
{
	if (s->blocks == NULL || s->blocks->used == RP_GO_SYMS_BLOCK) {
		struct rp_go_syms_block *b = malloc(sizeof(*b));

		if (b == NULL)
			return NULL;
		b->used = 0;
		b->next = s->blocks;
		s->blocks = b;
	}
	return &s->blocks->info[s->blocks->used++];
}

/* The name of a subprogram or inlined subroutine, through DW_AT_abstract_origin. */
static const char *rp_go_scope_name(Dwarf_Die *die)
{
	Dwarf_Attribute attr;

	if (dwarf_attr_integrate(die, DW_AT_name, &attr) == NULL)
		return NULL;
	return dwarf_formstring(&attr);
}

/* The file of an inlined call (DW_AT_call_file), or "". */
static const char *rp_go_call_file(Dwarf_Die *cu, Dwarf_Die *scope, Dwarf_Files **files)
{
	Dwarf_Attribute attr;
	const char *f;
	Dwarf_Word w;

	if (dwarf_attr(scope, DW_AT_call_file, &attr) == NULL || dwarf_formudata(&attr, &w) != 0 ||
	    (*files == NULL && dwarf_getsrcfiles(cu, files, NULL) != 0))
		return "";
	f = dwarf_filesrc(*files, w, NULL, NULL);
	return f != NULL ? f : "";
}

/*
 * Fill info for the process address addr: the line table gives the
 * innermost file:line; each inlined subroutine around addr gives one more
 * location, at its call site (DW_AT_call_file, DW_AT_call_line), up to the
 * subprogram, which is named as .symtab names it.
 */
static void rp_go_describe(struct rp_go_symbols *s, uint64_t addr, struct rp_go_pcinfo *info)
{
	Dwarf_Addr dwaddr = addr - s->dwbias;
	Dwarf_Die cu, fn, chain[RP_GO_INLINE_MAX];
	const char *file = "", *symname;
	Dwarf_Files *files = NULL;
	struct rp_go_cu *c;
	GElf_Off off = 0;
	Dwarf_Line *l;
	int line = 0, n = 0;
	uint32_t k = 0;
	GElf_Sym sym;

	symname = dwfl_module_addrinfo(s->bin->mod, addr, &off, &sym, NULL, NULL, NULL);
	if (symname != NULL && sym.st_size > 0 && off >= sym.st_size)
		symname = NULL;
	if (symname == NULL)
		symname = "";
	c = rp_go_cu_find(s, dwaddr, &cu);
	if (c == NULL) {
		info->locs[0] = (struct rp_go_loc){symname, "", 0};
		info->nlocs = 1;
		return;
	}
	l = dwarf_getsrc_die(&cu, dwaddr);
	if (l != NULL) {
		const char *src = dwarf_linesrc(l, NULL, NULL);

		if (src != NULL)
			file = src;
		dwarf_lineno(l, &line);
	}
	if (rp_go_fn_find(s, c, &cu, dwaddr, &fn)) {
		n = rp_go_inline_chain(&fn, dwaddr, chain, RP_GO_INLINE_MAX);
		info->wrapper = dwarf_hasattr(&fn, DW_AT_trampoline) != 0;
	}
	/* Innermost first: each inlined subroutine at the current file:line, then
	 * its caller at the inlined call's site. */
	for (int i = n - 1; i >= 0; i--) {
		const char *name = i == 0 && symname[0] ? symname : rp_go_scope_name(&chain[i]);
		Dwarf_Attribute attr;
		Dwarf_Word w;

		info->locs[k++] = (struct rp_go_loc){name ? name : "", file, line};
		if (i == 0)
			break;
		line = 0;
		if (dwarf_attr(&chain[i], DW_AT_call_line, &attr) != NULL &&
		    dwarf_formudata(&attr, &w) == 0 && w <= INT32_MAX)
			line = (int)w;
		file = rp_go_call_file(&cu, &chain[i], &files);
	}
	if (k == 0)
		info->locs[k++] = (struct rp_go_loc){symname, file, line};
	info->nlocs = k;
}

/* The entry for (pc, return_address), described on first use; NULL without memory for it. */
static struct rp_go_pcinfo *rp_go_entry(struct rp_go_symbols *s, uint64_t pc, bool return_address)
{
	uint64_t addr = return_address && pc > 0 ? pc - 1 : pc;
	uint64_t key = (addr << 1) | (return_address ? 1 : 0);
	struct rp_go_pcinfo *info;
	size_t i;

	/* At most half full, so probes stay short; a table that cannot grow then
	 * answers what it knows and nothing new. */
	if (s->count * 2 >= s->nslots && rp_go_slots_grow(s) < 0 && s->count + 2 >= s->nslots)
		return NULL;
	for (i = rp_go_hash(key) & (s->nslots - 1); s->slots[i] != NULL;
	     i = (i + 1) & (s->nslots - 1))
		if (s->keys[i] == key)
			return s->slots[i];
	info = rp_go_entry_new(s);
	if (info == NULL)
		return NULL;
	memset(info, 0, sizeof(*info));
	info->pc = pc;
	rp_go_describe(s, addr, info);
	s->slots[i] = info;
	s->keys[i] = key;
	s->count++;
	return info;
}

const struct rp_go_pcinfo *rp_go_symbols_lookup(struct rp_go_symbols *s, uint64_t pc,
						bool return_address)
{
	const struct rp_go_pcinfo *info = rp_go_entry(s, pc, return_address);

	return info != NULL ? info : &rp_go_unknown;
}

const char *rp_go_symbols_start(struct rp_go_symbols *s, uint64_t startpc)
{
	const struct rp_go_pcinfo *st = rp_go_symbols_lookup(s, startpc, false);

	if (st->wrapper && st->wrapped != NULL)
		return st->wrapped;
	return st->locs[st->nlocs - 1].function;
}

void rp_go_symbols_wrapped_learn(struct rp_go_symbols *s, uint64_t startpc, const uint64_t *frames,
				 uint16_t nframes)
{
	struct rp_go_pcinfo *st = rp_go_entry(s, startpc, false);
	const struct rp_go_pcinfo *bottom, *above;
	const char *fn;

	if (st == NULL || !st->wrapper || st->wrapped != NULL || nframes < 2)
		return;
	bottom = rp_go_symbols_lookup(s, frames[nframes - 1], true);
	fn = st->locs[st->nlocs - 1].function;
	/* The bottom frame must be the wrapper itself, or the frames are not what they seem. */
	if (fn[0] == '\0' || strcmp(bottom->locs[bottom->nlocs - 1].function, fn) != 0)
		return;
	if (bottom->nlocs > 1) {
		/* The call was inlined into the wrapper: the callee is the next scope in. */
		fn = bottom->locs[bottom->nlocs - 2].function;
	} else {
		above = rp_go_symbols_lookup(s, frames[nframes - 2], true);
		fn = above->locs[above->nlocs - 1].function;
	}
	if (fn[0] != '\0')
		st->wrapped = fn;
}
