/*
 * rf_real.c - the real functions behind the interposed ones.
 */
#define _GNU_SOURCE
#include "rf_real.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdbool.h>
#include <string.h>

struct rf_real_symbol {
	const char *name;
	bool required;
};

#define RF_REAL_KIND_REQUIRED true
#define RF_REAL_KIND_OPTIONAL false

static const struct rf_real_symbol rf_real_symbols[RF_REAL__COUNT] = {
#define RF_REAL_ENTRY(kind, ret, name, params) [RF_REAL_##name] = {#name, RF_REAL_KIND_##kind},
	RF_REAL_SYMBOLS(RF_REAL_ENTRY)
#undef RF_REAL_ENTRY
};

rf_real_fn rf_real_cache[RF_REAL__COUNT];

struct rf_real_search {
	const char *symbol;
	const char *self; /* our own object's path: its definitions are the interposers */
	void *found;
};

void *rf_real_object_symbol(const char *path, const char *symbol)
{
	/* NOLOAD: a handle on what is already there, never a new load. */
	void *handle = dlopen(path, RTLD_LAZY | RTLD_NOLOAD), *sym;

	if (handle == NULL)
		return NULL;
	sym = dlsym(handle, symbol);
	dlclose(handle);
	return sym;
}

static int rf_real_search_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct rf_real_search *search = arg;
	Dl_info where;
	void *sym;

	(void)size;
	if (info->dlpi_name == NULL || info->dlpi_name[0] == '\0' ||
	    strcmp(info->dlpi_name, search->self) == 0)
		return 0;
	sym = rf_real_object_symbol(info->dlpi_name, search->symbol);
	if (sym != NULL && dladdr(sym, &where) != 0 && where.dli_fname != NULL &&
	    strcmp(where.dli_fname, search->self) != 0) {
		search->found = sym;
		return 1;
	}
	return 0;
}

/*
 * A library loaded with dlopen(RTLD_LOCAL) (Python's confluent_kafka loads
 * librdkafka so) is outside the global scope RTLD_NEXT searches, yet its
 * callers reach our interposers through their own PLT. Look for the symbol
 * in every loaded object but ours.
 */
static void *rf_real_search_loaded(const char *symbol)
{
	struct rf_real_search search = {.symbol = symbol};
	Dl_info self;

	if (dladdr((void *)&rf_real_symbols, &self) == 0 || self.dli_fname == NULL)
		return NULL;
	search.self = self.dli_fname;
	dl_iterate_phdr(rf_real_search_object, &search);
	return search.found;
}

rf_real_fn rf_real_lookup(enum rf_real_id id)
{
	rf_real_fn fn = __atomic_load_n(&rf_real_cache[id], __ATOMIC_ACQUIRE);

	if (fn == NULL) {
		/* Racing threads get the same answer; the last store wins harmlessly. */
		void *sym = dlsym(RTLD_NEXT, rf_real_symbols[id].name);

		if (sym == NULL && !rf_real_symbols[id].required)
			sym = rf_real_search_loaded(rf_real_symbols[id].name);
		/* dlsym's object pointer is a function address on every ELF target. */
		memcpy(&fn, &sym, sizeof(fn));
		if (fn != NULL)
			__atomic_store_n(&rf_real_cache[id], fn, __ATOMIC_RELEASE);
	}
	return fn;
}

int rf_real_resolve_required(const char **missing)
{
	for (int id = 0; id < RF_REAL__COUNT; id++) {
		if (rf_real_symbols[id].required && rf_real_resolve((enum rf_real_id)id) == NULL) {
			*missing = rf_real_symbols[id].name;
			return -ENOENT;
		}
	}
	return 0;
}

/* ---- which definition the global scope finds ---------------------------------- */

struct rf_real_before {
	const char *name, *self; /* the symbol; the shim's path */
	int defined;
};

static int rf_real_defined_in(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct rf_real_before *b = arg;
	const ElfW(Sym) *ent = NULL;
	Dl_info where;
	void *sym;

	(void)size;
	if (info->dlpi_name == NULL || info->dlpi_name[0] == '\0') /* the executable */
		return 0;
	if (strcmp(info->dlpi_name, b->self) == 0)
		return 1; /* the shim comes first */
	sym = rf_real_object_symbol(info->dlpi_name, b->name);
	if (sym != NULL && dladdr1(sym, &where, (void **)&ent, RTLD_DL_SYMENT) != 0 &&
	    where.dli_fname != NULL && strcmp(where.dli_fname, info->dlpi_name) == 0 &&
	    ent != NULL && ent->st_shndx != SHN_UNDEF) { /* its own, not a dependency's */
		b->defined = 1;
		return 1;
	}
	return 0;
}

int rf_real_is_first(const char *name, rf_real_fn self)
{
	struct rf_real_before before = {.name = name};
	void *sym = dlsym(RTLD_DEFAULT, name);
	const ElfW(Sym) *ent = NULL;
	Dl_info where, me;
	rf_real_fn fn;

	memcpy(&fn, &sym, sizeof(fn));
	if (fn == self)
		return 1;
	/* A non-PIE executable that takes the function's address holds a canonical
	 * PLT entry for it: an undefined symbol with a value. Anything else found
	 * is a definition in an object before the shim. */
	if (sym == NULL || dladdr1(sym, &where, (void **)&ent, RTLD_DL_SYMENT) == 0 ||
	    ent == NULL || ent->st_shndx != SHN_UNDEF)
		return 0;
	if (dladdr((void *)&rf_real_symbols, &me) == 0 || me.dli_fname == NULL)
		return 0;
	before.self = me.dli_fname;
	dl_iterate_phdr(rf_real_defined_in, &before);
	return !before.defined;
}
