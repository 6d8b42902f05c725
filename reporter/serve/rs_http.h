/*
 * rs_http.h - `serve`'s HTTP side, on libmicrohttpd: GET /metrics streams
 * the exposition of a reading (rs_scrape.h), GET / is a plain landing page.
 *
 * A thread per connection (a slow client holds only its own), at most
 * RS_HTTP_CONNECTIONS connections and RS_HTTP_PER_IP from one address (more
 * are accepted and closed at once), each closed after RS_HTTP_TIMEOUT_S
 * seconds without progress; a response is written a piece at a time from
 * the reading into a buffer of RS_HTTP_BLOCK bytes, so that no connection
 * holds more than that of text.
 */
#ifndef RS_HTTP_H
#define RS_HTTP_H

#include <stddef.h>
#include <sys/socket.h>

#include "rs_scrape.h"

#define RS_HTTP_CONNECTIONS 64
#define RS_HTTP_PER_IP 8
#define RS_HTTP_TIMEOUT_S 10
#define RS_HTTP_BLOCK (32 * 1024)
/* Per connection: what libmicrohttpd keeps of a request and its headers. */
#define RS_HTTP_MEMORY (32 * 1024)
#define RS_HTTP_STACK (512 * 1024)

struct rs_http;

/*
 * Listens on addr (IPv4 or IPv6) and serves cache until
 * rs_http_stop. NULL, with err filled in, when it cannot (the address is in
 * use, say).
 */
struct rs_http *rs_http_start(const struct sockaddr *addr, struct rs_cache *cache, char *err,
			      size_t err_len);

/* The port it listens on (the one chosen when asked for port 0). */
unsigned rs_http_port(const struct rs_http *http);

/* Stops listening, closes every connection, frees it. */
void rs_http_stop(struct rs_http *http);

#endif /* RS_HTTP_H */
