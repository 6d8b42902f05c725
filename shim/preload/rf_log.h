/*
 * rf_log.h - what every file of the preloaded library needs and nothing
 * else provides: the one line the shim may write to the host's stderr, and
 * the mark of an interposed (exported) symbol. A leaf: includes nothing of
 * the shim.
 */
#ifndef RF_LOG_H
#define RF_LOG_H

/* An interposer: the only symbols the library exports (hidden by default). */
#define RF_EXPORT __attribute__((visibility("default")))

/*
 * One line on stderr, prefixed "ringfence: ": no allocation, errno kept, not
 * a cancellation point, and a closed or failing stderr is ignored.
 */
void rf_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* RF_LOG_H */
