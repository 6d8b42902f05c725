/*
 * test_output.h - what the printers promise about their output whatever a
 * segment holds (docs/reporter.md), checked independently of the code that
 * keeps the promise: for the unit tests and the fuzz targets.
 *
 * Each check returns NULL when text keeps the promise, else a pointer to the
 * first byte that breaks it.
 */
#ifndef TEST_OUTPUT_H
#define TEST_OUTPUT_H

/*
 * Text for a terminal: newlines, printable ASCII, and well-formed UTF-8
 * (shortest form, no surrogate, at most U+10FFFF) without C1 controls
 * (U+0080 to U+009F). No escape, no other control character, no DEL.
 */
const char *rp_check_terminal(const char *text);

/* JSON as the printers write it: printable ASCII and newlines only. */
const char *rp_check_json(const char *text);

/*
 * The Prometheus text exposition format (0.0.4) as `stat --prometheus`
 * writes it: "# HELP" and "# TYPE" lines, and samples
 * name{label="value",...} number. Names follow the format's rule; label
 * values are well-formed UTF-8 without control characters (C0, DEL, C1),
 * with only the escapes \\, \" and \n.
 */
const char *rp_check_prometheus(const char *text);

#endif /* TEST_OUTPUT_H */
