/*
 * rf_real.c - the real functions behind the interposed ones.
 */
#define _GNU_SOURCE
#include "rf_real.h"

#include <dlfcn.h>
#include <errno.h>
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

static rf_real_fn rf_real_cache[RF_REAL__COUNT];

rf_real_fn rf_real_cached(enum rf_real_id id)
{
	return __atomic_load_n(&rf_real_cache[id], __ATOMIC_ACQUIRE);
}

rf_real_fn rf_real_resolve(enum rf_real_id id)
{
	rf_real_fn fn = __atomic_load_n(&rf_real_cache[id], __ATOMIC_ACQUIRE);

	if (fn == NULL) {
		/* Racing threads get the same answer; the last store wins harmlessly. */
		void *sym = dlsym(RTLD_NEXT, rf_real_symbols[id].name);

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
