/*
 * test_output.c - the printers' promises about their output, checked.
 */
#include "test_output.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Length of the well-formed UTF-8 sequence at s, with its code point; 0 for none. */
static size_t rp_check_utf8(const unsigned char *s, uint32_t *cp)
{
	uint32_t min;
	size_t n;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2, *cp = s[0] & 0x1fu, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3, *cp = s[0] & 0x0fu, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4, *cp = s[0] & 0x07u, min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
		*cp = *cp << 6 | (s[i] & 0x3fu);
	}
	if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return n;
}

/* No C0 control, no DEL, no C1 control. */
static bool rp_check_visible(uint32_t cp)
{
	return cp >= 0x20 && cp != 0x7f && !(cp >= 0x80 && cp <= 0x9f);
}

/*
 * Where [p, end) stops being visible UTF-8 (a backslash only before one of
 * escapes, when that is not NULL); end when it does not.
 */
static const char *rp_check_run(const char *p, const char *end, const char *escapes)
{
	while (p < end) {
		uint32_t cp;
		size_t n;

		if (escapes != NULL && *p == '\\') {
			if (p + 1 >= end || p[1] == '\0' || strchr(escapes, p[1]) == NULL)
				return p;
			p += 2;
			continue;
		}
		n = rp_check_utf8((const unsigned char *)p, &cp);
		if (n == 0 || !rp_check_visible(cp) || p + n > end)
			return p;
		p += n;
	}
	return end;
}

const char *rp_check_terminal(const char *text)
{
	const char *p = text, *end = text + strlen(text);

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl != NULL ? nl : end;
		const char *bad = rp_check_run(p, stop, NULL);

		if (bad != stop)
			return bad;
		p = stop + (nl != NULL);
	}
	return NULL;
}

const char *rp_check_json(const char *text)
{
	for (const char *p = text; *p; p++)
		if (*p != '\n' && (*p < 0x20 || *p > 0x7e))
			return p;
	return NULL;
}

/* ---- Prometheus -------------------------------------------------------- */

static bool rp_check_name_char(char c, bool first, bool colon)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (colon && c == ':') || (!first && c >= '0' && c <= '9');
}

/* Past the metric (colon) or label name at p; p itself when there is none. */
static const char *rp_check_name(const char *p, const char *end, bool colon)
{
	if (p >= end || !rp_check_name_char(*p, true, colon))
		return p;
	while (p < end && rp_check_name_char(*p, false, colon))
		p++;
	return p;
}

/* "# HELP name text", "# TYPE name type", or another comment: NULL, or the fault. */
static const char *rp_check_comment(const char *p, const char *end)
{
	static const char *const types[] = {"counter", "gauge", "histogram", "summary", "untyped"};
	bool help = strncmp(p, "# HELP ", 7) == 0, type = strncmp(p, "# TYPE ", 7) == 0;
	const char *q;

	if (!help && !type)
		return rp_check_run(p, end, NULL) == end ? NULL : p;
	q = rp_check_name(p + 7, end, true);
	if (q == p + 7 || q >= end || *q != ' ')
		return q;
	q++;
	if (help) {
		const char *bad = rp_check_run(q, end, "\\n");

		return bad == end ? NULL : bad;
	}
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if ((size_t)(end - q) == strlen(types[i]) &&
		    strncmp(q, types[i], strlen(types[i])) == 0)
			return NULL;
	return q;
}

/* name{label="value",...} number: NULL, or the fault. */
static const char *rp_check_sample(const char *p, const char *end)
{
	const char *q = rp_check_name(p, end, true);
	char *number_end;

	if (q == p)
		return p;
	if (q < end && *q == '{') {
		for (q++; q < end && *q != '}';) {
			const char *label = q, *close, *bad;

			q = rp_check_name(q, end, false);
			if (q == label || end - q < 2 || q[0] != '=' || q[1] != '"')
				return q;
			q += 2;
			close = q;
			while (close < end && *close != '"')
				close += *close == '\\' && close + 1 < end ? 2 : 1;
			if (close >= end)
				return end;
			bad = rp_check_run(q, close, "\\\"n");
			if (bad != close)
				return bad;
			q = close + 1;
			if (q < end && *q == ',')
				q++;
			else if (q >= end || *q != '}')
				return q;
		}
		if (q >= end)
			return q;
		q++;
	}
	if (q >= end || *q != ' ')
		return q;
	q++;
	strtod(q, &number_end);
	return number_end == q || number_end != end ? q : NULL;
}

const char *rp_check_prometheus(const char *text)
{
	const char *p = text, *end = text + strlen(text);

	if (p < end && end[-1] != '\n')
		return end - 1;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *bad = *p == '#' ? rp_check_comment(p, nl) : rp_check_sample(p, nl);

		if (bad != NULL)
			return bad;
		p = nl + 1;
	}
	return NULL;
}
