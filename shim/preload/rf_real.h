/*
 * rf_real.h - the real functions behind the interposed ones.
 *
 * One table, declared once: each entry is resolved with dlsym(RTLD_NEXT)
 * on first use and cached. REQUIRED entries come from libc and are resolved
 * by the constructor; OPTIONAL ones (librdkafka) may appear later through
 * dlopen, or never, so they are looked up again until found.
 */
#ifndef RF_REAL_H
#define RF_REAL_H

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <threads.h>
#include <time.h>

/* X(kind, return type, name, parameter list) */
#define RF_REAL_SYMBOLS(X)                                                                         \
	X(REQUIRED, int, pthread_create,                                                           \
	  (pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))                        \
	X(REQUIRED, void, exit, (int))                                                             \
	RF_REAL_SYMBOLS_THREADS(X)                                                                 \
	X(REQUIRED, void, _exit, (int))                                                            \
	X(REQUIRED, void, _Exit, (int))                                                            \
	X(REQUIRED, void, quick_exit, (int))                                                       \
	RF_REAL_SYMBOLS_CRED(X)                                                                    \
	X(REQUIRED, int, __libc_start_main,                                                        \
	  (int (*)(int, char **, char **), int, char **, void (*)(void), void (*)(void),           \
	   void (*)(void), void *))                                                                \
	X(OPTIONAL, int, rd_kafka_produce,                                                         \
	  (rd_kafka_topic_t *, int32_t, int, void *, size_t, const void *, size_t, void *))        \
	X(OPTIONAL, rd_kafka_error_t *, rd_kafka_produceva,                                        \
	  (rd_kafka_t *, const rd_kafka_vu_t *, size_t))                                           \
	X(OPTIONAL, int, rd_kafka_produce_batch,                                                   \
	  (rd_kafka_topic_t *, int32_t, int, rd_kafka_message_t *, int))                           \
	X(OPTIONAL, rd_kafka_resp_err_t, rd_kafka_error_code, (const rd_kafka_error_t *))          \
	X(OPTIONAL, void, rd_kafka_error_destroy, (rd_kafka_error_t *))                            \
	X(OPTIONAL, rd_kafka_headers_t *, rd_kafka_headers_new, (size_t))                          \
	X(OPTIONAL, void, rd_kafka_headers_destroy, (rd_kafka_headers_t *))                        \
	X(OPTIONAL, rd_kafka_resp_err_t, rd_kafka_header_add,                                      \
	  (rd_kafka_headers_t *, const char *, ssize_t, const void *, ssize_t))                    \
	X(OPTIONAL, int, cnd_wait, (cnd_t *, mtx_t *))                                             \
	RF_REAL_SYMBOLS_KAFKA(X)                                                                   \
	RF_REAL_SYMBOLS_ALLOC(X)

/* Handle lifecycle, polling and interceptors (hook_kafka.c). */
#define RF_REAL_SYMBOLS_KAFKA(X)                                                                   \
	X(OPTIONAL, rd_kafka_t *, rd_kafka_new,                                                    \
	  (rd_kafka_type_t, rd_kafka_conf_t *, char *, size_t))                                    \
	X(OPTIONAL, void, rd_kafka_destroy, (rd_kafka_t *))                                        \
	X(OPTIONAL, rd_kafka_topic_t *, rd_kafka_topic_new,                                        \
	  (rd_kafka_t *, const char *, rd_kafka_topic_conf_t *))                                   \
	X(OPTIONAL, int, rd_kafka_poll, (rd_kafka_t *, int))                                       \
	X(OPTIONAL, rd_kafka_resp_err_t, rd_kafka_flush, (rd_kafka_t *, int))                      \
	X(OPTIONAL, rd_kafka_queue_t *, rd_kafka_queue_get_main, (rd_kafka_t *))                   \
	X(OPTIONAL, rd_kafka_event_t *, rd_kafka_queue_poll, (rd_kafka_queue_t *, int))            \
	X(OPTIONAL, rd_kafka_resp_err_t, rd_kafka_last_error, (void))                              \
	X(OPTIONAL, rd_kafka_conf_t *, rd_kafka_conf_new, (void))                                  \
	X(OPTIONAL, void, rd_kafka_conf_destroy, (rd_kafka_conf_t *))                              \
	X(OPTIONAL, rd_kafka_conf_res_t, rd_kafka_conf_set,                                        \
	  (rd_kafka_conf_t *, const char *, const char *, char *, size_t))                         \
	X(OPTIONAL, rd_kafka_conf_res_t, rd_kafka_conf_get,                                        \
	  (const rd_kafka_conf_t *, const char *, char *, size_t *))                               \
	X(OPTIONAL, rd_kafka_resp_err_t, rd_kafka_conf_interceptor_add_on_new,                     \
	  (rd_kafka_conf_t *, const char *, rd_kafka_interceptor_f_on_new_t *, void *))            \
	X(OPTIONAL, rd_kafka_resp_err_t, rd_kafka_interceptor_add_on_acknowledgement,              \
	  (rd_kafka_t *, const char *, rd_kafka_interceptor_f_on_acknowledgement_t *, void *))     \
	X(OPTIONAL, const char *, rd_kafka_name, (const rd_kafka_t *))                             \
	X(OPTIONAL, rd_kafka_resp_err_t, rd_kafka_purge, (rd_kafka_t *, int))                      \
	X(OPTIONAL, rd_kafka_error_t *, rd_kafka_error_new,                                        \
	  (rd_kafka_resp_err_t, const char *, ...))                                                \
	X(OPTIONAL, rd_kafka_resp_err_t, rd_kafka_message_headers,                                 \
	  (const rd_kafka_message_t *, rd_kafka_headers_t **))                                     \
	X(OPTIONAL, size_t, rd_kafka_header_cnt, (const rd_kafka_headers_t *))                     \
	X(OPTIONAL, rd_kafka_msg_status_t, rd_kafka_message_status, (const rd_kafka_message_t *))  \
	X(OPTIONAL, rd_kafka_resp_err_t, rd_kafka_header_get_all,                                  \
	  (const rd_kafka_headers_t *, size_t, const char **, const void **, size_t *))

/* The allocator (hook_alloc.c). */
#define RF_REAL_SYMBOLS_ALLOC(X)                                                                   \
	X(REQUIRED, void, free, (void *))                                                          \
	X(REQUIRED, void *, malloc, (size_t))                                                      \
	X(REQUIRED, void *, realloc, (void *, size_t))                                             \
	X(REQUIRED, size_t, malloc_usable_size, (void *))                                          \
	X(REQUIRED, void *, calloc, (size_t, size_t))                                              \
	X(REQUIRED, void *, reallocarray, (void *, size_t, size_t))                                \
	X(REQUIRED, int, posix_memalign, (void **, size_t, size_t))                                \
	X(REQUIRED, void *, aligned_alloc, (size_t, size_t))                                       \
	X(REQUIRED, void *, memalign, (size_t, size_t))                                            \
	X(REQUIRED, void *, valloc, (size_t))                                                      \
	X(REQUIRED, void *, pvalloc, (size_t))

/* The calls that change the process's user (hook_cred.c). */
#define RF_REAL_SYMBOLS_CRED(X)                                                                    \
	X(REQUIRED, int, setuid, (uid_t))                                                          \
	X(REQUIRED, int, seteuid, (uid_t))                                                         \
	X(REQUIRED, int, setreuid, (uid_t, uid_t))                                                 \
	X(REQUIRED, int, setresuid, (uid_t, uid_t, uid_t))                                         \
	X(REQUIRED, int, setgid, (gid_t))                                                          \
	X(REQUIRED, int, setegid, (gid_t))                                                         \
	X(REQUIRED, int, setregid, (gid_t, gid_t))                                                 \
	X(REQUIRED, int, setresgid, (gid_t, gid_t, gid_t))

/* Thread creation, end, join, detach and naming (hook_thread.c). */
#define RF_REAL_SYMBOLS_THREADS(X)                                                                 \
	X(REQUIRED, void, pthread_exit, (void *))                                                  \
	X(REQUIRED, int, pthread_join, (pthread_t, void **))                                       \
	X(REQUIRED, int, pthread_tryjoin_np, (pthread_t, void **))                                 \
	X(REQUIRED, int, pthread_timedjoin_np, (pthread_t, void **, const struct timespec *))      \
	X(REQUIRED, int, pthread_clockjoin_np,                                                     \
	  (pthread_t, void **, clockid_t, const struct timespec *))                                \
	X(REQUIRED, int, pthread_detach, (pthread_t))                                              \
	X(REQUIRED, int, pthread_setname_np, (pthread_t, const char *))                            \
	X(REQUIRED, int, thrd_create, (thrd_t *, thrd_start_t, void *))                            \
	X(REQUIRED, void, thrd_exit, (int))                                                        \
	X(REQUIRED, int, thrd_join, (thrd_t, int *))                                               \
	X(REQUIRED, int, thrd_detach, (thrd_t))

enum rf_real_id {
#define RF_REAL_ENUM(kind, ret, name, params) RF_REAL_##name,
	RF_REAL_SYMBOLS(RF_REAL_ENUM)
#undef RF_REAL_ENUM
	RF_REAL__COUNT
};

#define RF_REAL_TYPEDEF(kind, ret, name, params) typedef ret(*rf_real_##name##_fn) params;
RF_REAL_SYMBOLS(RF_REAL_TYPEDEF)
#undef RF_REAL_TYPEDEF

/* Any function pointer; converted to the entry's own type by RF_REAL. */
typedef void (*rf_real_fn)(void);

/* Resolved entries; NULL until found. Read through the functions below. */
extern rf_real_fn rf_real_cache[RF_REAL__COUNT];

/* Look id up with dlsym (and in RTLD_LOCAL objects for OPTIONAL entries). */
rf_real_fn rf_real_lookup(enum rf_real_id id);

/* The real function for id, or NULL when it is not (yet) loaded. */
static inline rf_real_fn rf_real_resolve(enum rf_real_id id)
{
	rf_real_fn fn = __atomic_load_n(&rf_real_cache[id], __ATOMIC_ACQUIRE);

	return __builtin_expect(fn != NULL, 1) ? fn : rf_real_lookup(id);
}

/*
 * symbol as an object already loaded (path as dl_iterate_phdr names it)
 * sees it: its own definition, or one of its dependencies'. NULL when the
 * object is not loaded or sees no such symbol. Never loads anything.
 */
void *rf_real_object_symbol(const char *path, const char *symbol);

/*
 * Whether the global scope finds name in the shim's own definition self, not
 * in an object before it (an allocator preloaded first, a program's own
 * malloc). A non-PIE executable that takes the function's address (Debian's
 * python3.11 takes malloc's and free's) holds a canonical PLT entry for it:
 * an undefined symbol with a value, which dlsym returns, and whose stub
 * jumps to the first definition after the executable. That is ours unless an
 * object loaded between the executable and the shim (a preload named before
 * it) defines the name.
 */
int rf_real_is_first(const char *name, rf_real_fn self);

/* Resolve every REQUIRED entry now; 0, or -ENOENT naming the first missing in *missing. */
int rf_real_resolve_required(const char **missing);

/* The cached entry for id, or NULL when not resolved yet: never calls dlsym. */
static inline rf_real_fn rf_real_cached(enum rf_real_id id)
{
	return __atomic_load_n(&rf_real_cache[id], __ATOMIC_ACQUIRE);
}

/* Typed access: RF_REAL(rd_kafka_produce)(args...) after a NULL check. */
#define RF_REAL(name) ((rf_real_##name##_fn)rf_real_resolve(RF_REAL_##name))
#define RF_REAL_CACHED(name) ((rf_real_##name##_fn)rf_real_cached(RF_REAL_##name))

#endif /* RF_REAL_H */
