/*
 * rp_format.h - numbers, times and untrusted strings made into text, and the
 * clocks those times are measured against.
 *
 * A leaf: it knows nothing of segments, so every part of the reporter (the
 * thread analysis as much as the printers) may use it. Strings from a segment
 * are untrusted: text output makes them terminal-safe, JSON escapes them
 * completely. Times from a segment are untrusted numbers too: nothing here
 * overflows on any value.
 */
#ifndef RP_FORMAT_H
#define RP_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

/*
 * A JSON string literal for s, quotes included; pure ASCII output. The
 * segment promises no encoding, so each byte >= 0x80 is escaped as the code
 * point of the same value (U+00XX).
 */
void rp_json_string(FILE *out, const char *s);

/*
 * s made safe for a terminal into out (always NUL-terminated): printable
 * ASCII and well-formed UTF-8 pass, every other byte becomes \xNN. With
 * max_cols > 0 the result is cut to that many columns, ending in "...".
 */
void rp_text_sanitize(const char *s, size_t max_cols, char *out, size_t out_len);

/* Worst-case rp_text_sanitize output for an n-byte string. */
#define RP_SANITIZED_MAX(n) ((n)*4 + 4)

/*
 * What a file of this mode is, for a message that must say what was found
 * under a name: "a regular file", "a directory", "a FIFO", "a symbolic link",
 * "a socket", "a character device", "a block device".
 */
const char *rp_file_kind(mode_t mode);

/*
 * The "# HELP" and "# TYPE" lines that open the Prometheus family
 * ringfence_<name><suffix> (text exposition format 0.0.4): type is "counter"
 * or "gauge"; help has its backslashes and newlines escaped.
 */
void rp_prom_family(FILE *out, const char *name, const char *suffix, const char *type,
		    const char *help);

/*
 * s as a label value of the exposition format, which must be valid UTF-8:
 * the string as the text output shows it (rp_text_sanitize: printable ASCII
 * and well-formed UTF-8 pass, every other byte, control characters
 * included, becomes \xNN), then backslash and quote escaped, without the
 * quotes around it. At most RP_PROM_LABEL_MAX bytes of s are shown. One bad
 * byte in a client.id must not make a scraper reject every series.
 */
#define RP_PROM_LABEL_MAX 512
void rp_prom_label(FILE *out, const char *s);

/*
 * now_ns - then_ns as "850ms", "12.3s", "5m03s", "2h05m", "3d04h"; a time in
 * the future gets a "-". Any two values, no overflow.
 */
void rp_age_format(int64_t now_ns, int64_t then_ns, char *buf, size_t len);

/*
 * How long before now_ns then_ns lies: 0 when not before it, at most
 * INT64_MAX. Any two values (times from a segment are untrusted), no overflow.
 */
int64_t rp_ns_since(int64_t now_ns, int64_t then_ns);

/* Local time "2024-05-01 12:00:03.123 CEST", or "unknown" for 0. */
void rp_time_format(int64_t realtime_ns, char *buf, size_t len);

#endif /* RP_FORMAT_H */
