/*
 * rp_format.c - numbers, times and untrusted strings made into text.
 */
#include "rp_format.h"

#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

/* ---- strings ---------------------------------------------------------- */

void rp_json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\b':
			fputs("\\b", out);
			break;
		case '\f':
			fputs("\\f", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		default:
			/* Bytes, not characters: the segment promises no encoding,
			 * so each byte >= 0x80 stands for itself as U+00XX. */
			if (*p < 0x20 || *p >= 0x7f)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

/* Length of a well-formed UTF-8 sequence at s that is safe to show, or 0. */
static size_t rp_utf8_len(const unsigned char *s)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	n = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	cp = s[0] & (0x7fu >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	/* C1 controls: some terminals take U+009B as CSI. */
	if (cp >= 0x80 && cp <= 0x9f)
		return 0;
	return n;
}

/* Writes at most max_cols columns of sanitized s into out (if not NULL); returns the columns
 * it would take, and sets *end to where in s it stopped. */
static size_t rp_sanitize_part(const char *s, size_t max_cols, char *out, size_t out_len,
			       const char **end)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t cols = 0, used = 0;

	while (*p) {
		char piece[8];
		size_t plen, pcols = 1, adv;

		if (*p >= 0x20 && *p < 0x7f) {
			piece[0] = (char)*p;
			plen = adv = 1;
		} else if ((adv = rp_utf8_len(p)) > 0) {
			memcpy(piece, p, adv);
			plen = adv;
		} else {
			snprintf(piece, sizeof(piece), "\\x%02x", *p);
			plen = pcols = 4;
			adv = 1;
		}
		if (cols + pcols > max_cols || (out != NULL && used + plen >= out_len))
			break;
		if (out != NULL)
			memcpy(out + used, piece, plen);
		used += plen;
		cols += pcols;
		p += adv;
	}
	if (out != NULL && out_len > 0)
		out[used < out_len ? used : out_len - 1] = '\0';
	*end = (const char *)p;
	return cols;
}

void rp_text_sanitize(const char *s, size_t max_cols, char *out, size_t out_len)
{
	const char *end;
	size_t used;

	if (out_len == 0)
		return;
	if (max_cols == 0)
		max_cols = SIZE_MAX;
	/* Whole string if it fits, else room for "..." at the end. */
	rp_sanitize_part(s, max_cols, NULL, 0, &end);
	if (*end == '\0') {
		rp_sanitize_part(s, max_cols, out, out_len, &end);
		return;
	}
	rp_sanitize_part(s, max_cols > 3 ? max_cols - 3 : 0, out, out_len, &end);
	used = strlen(out);
	if (used + 4 <= out_len)
		memcpy(out + used, "...", 4);
}

const char *rp_file_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "a regular file";
	case S_IFDIR:
		return "a directory";
	case S_IFIFO:
		return "a FIFO";
	case S_IFLNK:
		return "a symbolic link";
	case S_IFSOCK:
		return "a socket";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	}
	return "a file of unknown type";
}

void rp_prom_family(FILE *out, const char *name, const char *suffix, const char *type,
		    const char *help)
{
	fprintf(out, "# HELP ringfence_%s%s ", name, suffix);
	for (const char *p = help; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", out);
		else if (*p == '\n')
			fputs("\\n", out);
		else
			fputc(*p, out);
	}
	fprintf(out, "\n# TYPE ringfence_%s%s %s\n", name, suffix, type);
}

void rp_prom_label(FILE *out, const char *s)
{
	char shown[RP_SANITIZED_MAX(RP_PROM_LABEL_MAX)];

	rp_text_sanitize(s, 0, shown, sizeof(shown));
	for (const char *p = shown; *p; p++) {
		if (*p == '\\' || *p == '"')
			fputc('\\', out);
		fputc(*p, out);
	}
}

/* ---- numbers and times ------------------------------------------------ */

void rp_age_format(int64_t now_ns, int64_t then_ns, char *buf, size_t len)
{
	/* Unsigned arithmetic: a time from the segment may be anything, and a
	 * signed difference could overflow. */
	const char *sign = now_ns < then_ns ? "-" : "";
	uint64_t a = now_ns >= then_ns ? (uint64_t)now_ns - (uint64_t)then_ns
				       : (uint64_t)then_ns - (uint64_t)now_ns;
	uint64_t ms = a / 1000000, s = a / 1000000000;

	if (ms < 1000)
		snprintf(buf, len, "%s%" PRIu64 "ms", sign, ms);
	else if (s < 60)
		snprintf(buf, len, "%s%" PRIu64 ".%" PRIu64 "s", sign, s, ms % 1000 / 100);
	else if (s < 3600)
		snprintf(buf, len, "%s%" PRIu64 "m%02" PRIu64 "s", sign, s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%s%" PRIu64 "h%02" PRIu64 "m", sign, s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%s%" PRIu64 "d%02" PRIu64 "h", sign, s / 86400,
			 s % 86400 / 3600);
}

int64_t rp_ns_since(int64_t now_ns, int64_t then_ns)
{
	uint64_t d;

	if (now_ns <= then_ns)
		return 0;
	d = (uint64_t)now_ns - (uint64_t)then_ns;
	return d > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)d;
}

void rp_time_format(int64_t realtime_ns, char *buf, size_t len)
{
	int64_t sec = realtime_ns / 1000000000, msec = realtime_ns % 1000000000 / 1000000;
	time_t t = (time_t)sec;
	char date[64];
	struct tm tm;

	if (realtime_ns <= 0 || localtime_r(&t, &tm) == NULL ||
	    strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm) == 0) {
		snprintf(buf, len, "unknown");
		return;
	}
	char zone[16];
	if (strftime(zone, sizeof(zone), "%Z", &tm) == 0)
		zone[0] = '\0';
	snprintf(buf, len, "%s.%03d%s%s", date, (int)msec, zone[0] ? " " : "", zone);
}
