/*
 * hook_alloc.c - the allocator interposers.
 *
 * librdkafka frees a ring payload with free() (rd_free is an inline free(),
 * called through the PLT of librdkafka.so.1), so free() must recognise ring
 * addresses: one load and one compare, no lock and no shared atomic write on
 * this path; only ring payloads go on to take the budget's lock.
 * realloc() and malloc_usable_size() on a ring payload are answered too, so
 * that nothing the ring handed out can reach the real allocator.
 *
 * The real functions are resolved on first use. dlsym may itself free (or,
 * through dlerror, allocate) while resolving, so resolution is guarded per
 * thread: a free() re-entering during it leaks its pointer rather than recurse.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "rf_budget.h"
#include "rf_real.h"
#include "rf_shim.h"

static __thread int rf_tls_resolving __attribute__((tls_model("initial-exec")));

#define RF_ALLOC_REAL(name, fallback)                                                   \
	rf_real_##name##_fn name##_real = RF_REAL_CACHED(name);                         \
	if (name##_real == NULL) {                                                      \
		if (rf_tls_resolving)                                                   \
			fallback;                                                       \
		rf_tls_resolving = 1;                                                   \
		name##_real = RF_REAL(name);                                            \
		rf_tls_resolving = 0;                                                   \
	}

RF_EXPORT void free(void *p)
{
	if (rf_budget_owns(p)) {
		int saved = errno;
		rf_budget_free(p);
		errno = saved;
		return;
	}
	RF_ALLOC_REAL(free, return);
	if (free_real != NULL)
		free_real(p);
}

RF_EXPORT void *realloc(void *p, size_t size)
{
	if (rf_budget_owns(p)) {
		size_t old = rf_budget_payload_size(p);
		void *q = malloc(size);

		if (q == NULL)
			return NULL; /* p stays valid, as realloc promises */
		memcpy(q, p, old < size ? old : size);
		free(p);
		return q;
	}
	RF_ALLOC_REAL(realloc, return NULL);
	return realloc_real != NULL ? realloc_real(p, size) : NULL;
}

RF_EXPORT size_t malloc_usable_size(void *p)
{
	if (rf_budget_owns(p))
		return rf_budget_payload_size(p);
	RF_ALLOC_REAL(malloc_usable_size, return 0);
	return malloc_usable_size_real != NULL ? malloc_usable_size_real(p) : 0;
}
