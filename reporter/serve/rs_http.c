/*
 * rs_http.c - `serve`'s HTTP side on libmicrohttpd.
 */
#define _GNU_SOURCE
#include "rs_http.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "rf_build_config.h"
#include "rf_time.h"
#include "rp_list.h"

struct rs_http {
	struct MHD_Daemon *daemon;
	struct rs_cache *cache;
};

#define RS_HTTP_METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* ---- /metrics: the exposition of a reading, a block at a time ----------- */

struct rs_stream {
	struct rs_cache *cache;
	struct rs_scrape *scrape;
	struct rp_prom_cursor cursor;
	bool tail_done;  /* the reading's own families written */
	FILE *f;         /* over buf */
	size_t len, off; /* text in buf, and how much of it was handed out */
	char buf[RS_HTTP_BLOCK];
};

/* The next block of text into buf; false once everything was written. */
static bool rs_stream_fill(struct rs_stream *st)
{
	st->off = 0;
	if (fseek(st->f, 0, SEEK_SET) != 0)
		return false;
	/* A piece is at most RP_PROM_PIECE_MAX bytes: it always fits. */
	while (ftell(st->f) <= (long)(sizeof(st->buf) - RP_PROM_PIECE_MAX)) {
		if (rp_prom_next(st->f, st->scrape->procs, st->scrape->count, &st->cursor))
			continue;
		if (!st->tail_done)
			rs_scrape_print_prometheus(st->f, st->scrape);
		st->tail_done = true;
		break;
	}
	fflush(st->f);
	st->len = (size_t)ftell(st->f);
	return st->len > 0;
}

static ssize_t rs_stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct rs_stream *st = cls;
	size_t n;

	if (st->off == st->len && !rs_stream_fill(st))
		return MHD_CONTENT_READER_END_OF_STREAM;
	n = st->len - st->off < max ? st->len - st->off : max;
	memcpy(out, st->buf + st->off, n);
	st->off += n;
	return (ssize_t)n;
}

static void rs_stream_free(void *cls)
{
	struct rs_stream *st = cls;

	if (st->f != NULL)
		fclose(st->f);
	rs_cache_put(st->cache, st->scrape);
	free(st);
}

/* ---- answers ------------------------------------------------------------ */

static enum MHD_Result rs_http_queue(struct MHD_Connection *conn, unsigned status,
				     struct MHD_Response *resp, const char *type)
{
	enum MHD_Result rc;

	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	rc = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return rc;
}

static enum MHD_Result rs_http_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);

	return rs_http_queue(conn, status, resp, "text/plain; charset=utf-8");
}

static enum MHD_Result rs_http_metrics(struct rs_http *http, struct MHD_Connection *conn)
{
	struct MHD_Response *resp;
	struct rs_stream *st = calloc(1, sizeof(*st));
	char text[RP_MESSAGE_MAX + 64];

	if (st == NULL)
		return rs_http_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
	st->cache = http->cache;
	st->f = fmemopen(st->buf, sizeof(st->buf), "w");
	st->scrape = st->f != NULL ? rs_cache_get(http->cache) : NULL;
	if (st->scrape == NULL || st->scrape->list_error != 0) {
		snprintf(text, sizeof(text), "cannot list " RP_SHM_DIR ": %s\n",
			 st->scrape ? strerror(-st->scrape->list_error) : strerror(ENOMEM));
		rs_stream_free(st);
		return rs_http_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, text);
	}
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, RS_HTTP_BLOCK, rs_stream_read,
						 st, rs_stream_free);
	if (resp == NULL) {
		rs_stream_free(st);
		return MHD_NO;
	}
	return rs_http_queue(conn, MHD_HTTP_OK, resp, RS_HTTP_METRICS_TYPE);
}

/* s with &, <, >, " escaped (s is already terminal-safe: a reader message). */
static void rs_html_escaped(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		default:
			fputc(*s, out);
		}
	}
}

/* The landing page: what this is, where the figures are, how the last reading went. */
static enum MHD_Result rs_http_landing(struct rs_http *http, struct MHD_Connection *conn)
{
	struct rs_cache *cache = http->cache;
	struct MHD_Response *resp;
	char *page = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&page, &len);

	if (out == NULL)
		return rs_http_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
	fprintf(out,
		"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
		"<title>ringfence serve</title></head>\n<body>\n<h1>ringfence serve</h1>\n"
		"<p>The figures of every process running under libringfence.so on this host "
		"(segments <code>" RP_SHM_DIR "/%s.&lt;pid&gt;</code>), in the Prometheus text "
		"format: <a href=\"/metrics\">/metrics</a>.</p>\n",
		cache->prefix);
	pthread_mutex_lock(&cache->lock);
	if (cache->current != NULL) {
		const struct rs_scrape *s = cache->current;
		int64_t age = rf_clock_ns(CLOCK_MONOTONIC) - s->taken_ns;

		fprintf(out,
			"<p>Last reading, %.1f s ago: %zu segments exported, %" PRIu64
			" skipped, in %.1f ms.</p>\n",
			(double)age / 1e9, s->count, s->skipped, (double)s->duration_ns / 1e6);
		if (s->nmessages > 0)
			fputs("<p>Skipped (the first few):</p>\n<ul>\n", out);
		for (unsigned i = 0; i < s->nmessages; i++) {
			fputs("<li>", out);
			rs_html_escaped(out, s->messages[i]);
			fputs("</li>\n", out);
		}
		if (s->nmessages > 0)
			fputs("</ul>\n", out);
	}
	pthread_mutex_unlock(&cache->lock);
	fprintf(out, "<p>ringfence %s, segment layout version %d.</p>\n</body></html>\n",
		RF_VERSION, RF_SHM_VERSION);
	fclose(out);
	if (page == NULL)
		return rs_http_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
	resp = MHD_create_response_from_buffer(len, page, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL)
		free(page);
	return rs_http_queue(conn, MHD_HTTP_OK, resp, "text/html; charset=utf-8");
}

static enum MHD_Result rs_http_answer(void *cls, struct MHD_Connection *conn, const char *url,
				      const char *method, const char *version,
				      const char *upload_data, size_t *upload_data_size,
				      void **req_cls)
{
	static int seen;
	struct rs_http *http = cls;
	bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
	bool head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;

	/* Another method is refused on the first call, with the headers only:
	 * a body is never read (libmicrohttpd answers and closes). */
	if (!get && !head) {
		struct MHD_Response *resp = MHD_create_response_from_buffer(
			strlen("only GET and HEAD are served\n"),
			(void *)"only GET and HEAD are served\n", MHD_RESPMEM_PERSISTENT);

		if (resp != NULL)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
		return rs_http_queue(conn, MHD_HTTP_METHOD_NOT_ALLOWED, resp,
				     "text/plain; charset=utf-8");
	}
	/* The first call has the headers only: answer on the second. */
	if (*req_cls == NULL) {
		*req_cls = &seen;
		return MHD_YES;
	}
	*upload_data_size = 0; /* a GET's body, if any, is not wanted */
	if (strcmp(url, "/metrics") == 0)
		return rs_http_metrics(http, conn);
	if (strcmp(url, "/") == 0)
		return rs_http_landing(http, conn);
	return rs_http_text(conn, MHD_HTTP_NOT_FOUND,
			    "not found: the figures are at /metrics, a description at /\n");
}

/* ---- the daemon --------------------------------------------------------- */

/*
 * libmicrohttpd's messages, one a second at most: a flood of connections
 * over the limits, each refused with a message, must not flood stderr too.
 */
static void rs_http_log(void *cls, const char *fmt, va_list ap)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static int64_t last;
	static uint64_t dropped;
	int64_t now = rf_clock_ns(CLOCK_MONOTONIC);

	pthread_mutex_lock(&lock);
	if (last != 0 && now - last < 1000000000) {
		dropped++;
		pthread_mutex_unlock(&lock);
		return;
	}
	last = now;
	fputs("ringfence serve: libmicrohttpd: ", stderr);
	vfprintf(stderr, fmt, ap);
	if (dropped > 0)
		fprintf(stderr, "ringfence serve: (%" PRIu64 " such messages left out)\n", dropped);
	dropped = 0;
	pthread_mutex_unlock(&lock);
}

struct rs_http *rs_http_start(const struct sockaddr *addr, struct rs_cache *cache, char *err,
			      size_t err_len)
{
	struct rs_http *http = calloc(1, sizeof(*http));
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			 MHD_USE_POLL | MHD_USE_ERROR_LOG;

	if (http == NULL) {
		snprintf(err, err_len, "%s", strerror(ENOMEM));
		return NULL;
	}
	if (addr->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	http->cache = cache;
	errno = 0;
	http->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, rs_http_answer, http,
		/* First, so that every message goes through it. */
		MHD_OPTION_EXTERNAL_LOGGER, rs_http_log, NULL, MHD_OPTION_SOCK_ADDR, addr,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)RS_HTTP_CONNECTIONS,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)RS_HTTP_PER_IP,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)RS_HTTP_TIMEOUT_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)RS_HTTP_MEMORY,
		MHD_OPTION_THREAD_STACK_SIZE, (size_t)RS_HTTP_STACK, MHD_OPTION_END);
	if (http->daemon == NULL) {
		snprintf(err, err_len, "%s", errno ? strerror(errno) : "libmicrohttpd refused");
		free(http);
		return NULL;
	}
	return http;
}

unsigned rs_http_port(const struct rs_http *http)
{
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(http->daemon, MHD_DAEMON_INFO_BIND_PORT);

	return info != NULL ? info->port : 0;
}

void rs_http_stop(struct rs_http *http)
{
	MHD_stop_daemon(http->daemon);
	free(http);
}
