/*
 * rp_cmd_serve.c - `ringfence serve`: one HTTP endpoint with the figures of
 * every process of the host in the Prometheus format (rs_http.h), read from
 * their segments for each scrape (rs_scrape.h).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "rp_cli.h"
#include "rp_help.h"
#include "rp_list.h"
#include "rs_http.h"
#include "rs_scrape.h"

#define RS_LISTEN_DEFAULT "127.0.0.1:9473"

enum {
	RS_OPT_LISTEN = 256,
	RS_OPT_PREFIX,
	RS_OPT_LEAK_GROUPS,
};

static const struct rp_opt rs_serve_opts[] = {
	{"listen", RS_OPT_LISTEN, "ADDR:PORT",
	 "address and port to listen on (default " RS_LISTEN_DEFAULT "): a numeric IPv4 "
	 "address, or IPv6 in brackets ([::1]:9473); port 0 picks a free one"},
	{"prefix", RS_OPT_PREFIX, "NAME", RP_HELP_PREFIX_OPT},
	{"leak-groups", RS_OPT_LEAK_GROUPS, "N",
	 "leak groups with series of their own per process, the largest (default 5, 0 to 256)"},
	{"help", 'h', NULL, "show this help"},
	{NULL, 0, NULL, NULL},
};

/* "ADDR:PORT" into *addr; 0, or -EINVAL. */
static int rs_listen_parse(const char *text, struct sockaddr_storage *addr)
{
	char host[64];
	const char *colon, *port_text;
	char *end;
	unsigned long port;
	size_t hlen;

	memset(addr, 0, sizeof(*addr));
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (close == NULL || close[1] != ':')
			return -EINVAL;
		hlen = (size_t)(close - text - 1);
		if (hlen == 0 || hlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, text + 1, hlen);
		port_text = close + 2;
	} else {
		colon = strrchr(text, ':');
		if (colon == NULL || (hlen = (size_t)(colon - text)) == 0 || hlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, text, hlen);
		port_text = colon + 1;
	}
	host[hlen] = '\0';
	if (port_text[0] < '0' || port_text[0] > '9')
		return -EINVAL;
	errno = 0;
	port = strtoul(port_text, &end, 10);
	if (errno != 0 || *end != '\0' || port > 65535)
		return -EINVAL;
	if (text[0] == '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)addr;

		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		return inet_pton(AF_INET6, host, &a6->sin6_addr) == 1 ? 0 : -EINVAL;
	}
	struct sockaddr_in *a4 = (struct sockaddr_in *)addr;

	a4->sin_family = AF_INET;
	a4->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &a4->sin_addr) == 1 ? 0 : -EINVAL;
}

/* "http://127.0.0.1:9473/" or "http://[::1]:9473/" for the port actually bound. */
static void rs_listen_url(const struct sockaddr_storage *addr, unsigned port, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (addr->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)addr)->sin6_addr, host,
			  sizeof(host));
		snprintf(buf, len, "http://[%s]:%u/", host, port);
	} else {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)addr)->sin_addr, host,
			  sizeof(host));
		snprintf(buf, len, "http://%s:%u/", host, port);
	}
}

static int rs_serve_run(const struct rp_command *cmd, int argc, char **argv)
{
	const char *listen_text = RS_LISTEN_DEFAULT, *prefix_opt = NULL;
	char prefix[RF_CONFIG_NAME_MAX], err[RP_MESSAGE_MAX], url[96];
	unsigned long leak_groups = RP_PROM_GROUPS_DEFAULT;
	struct sockaddr_storage addr;
	struct rp_getopt g = {0};
	struct rs_cache cache;
	struct rs_http *http;
	sigset_t stop;
	char *end;
	int c, sig;

	while ((c = rp_cli_getopt(cmd, &g, argc, argv, 0)) != -1) {
		switch (c) {
		case RS_OPT_LISTEN:
			listen_text = optarg;
			break;
		case RS_OPT_PREFIX:
			prefix_opt = optarg;
			break;
		case RS_OPT_LEAK_GROUPS:
			errno = 0;
			leak_groups = strtoul(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' || *end != '\0' || errno != 0 ||
			    leak_groups > RP_PROM_GROUPS_MAX)
				return rp_cli_usage(cmd,
						    "--leak-groups '%s': expected a whole number "
						    "from 0 to %d",
						    optarg, RP_PROM_GROUPS_MAX);
			break;
		case 'h':
			rp_help_command(stdout, cmd);
			return RP_EXIT_OK;
		default:
			return RP_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return rp_cli_usage(cmd, "unexpected operand '%s': serve takes options only",
				    argv[optind]);
	if (rp_prefix_resolve(prefix_opt, prefix, err, sizeof(err)) < 0)
		return rp_cli_usage(cmd, "%s", err);
	if (rs_listen_parse(listen_text, &addr) < 0)
		return rp_cli_usage(cmd,
				    "--listen '%s': expected ADDR:PORT, a numeric IPv4 address "
				    "(127.0.0.1:9473) or an IPv6 one in brackets ([::1]:9473), and "
				    "a port from 0 to 65535 (0: any free port)",
				    listen_text);

	/* The signals that stop it are taken by sigwait below, in no other thread. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	rs_cache_init(&cache, prefix, (unsigned)leak_groups);
	http = rs_http_start((const struct sockaddr *)&addr, &cache, err, sizeof(err));
	if (http == NULL) {
		rs_cache_destroy(&cache);
		return rp_cli_usage(cmd, "cannot listen on %s: %s; choose another with --listen",
				    listen_text, err);
	}
	rs_listen_url(&addr, rs_http_port(http), url, sizeof(url));
	printf("ringfence serve: listening on %s (metrics at %smetrics), segments " RP_SHM_DIR
	       "/%s.<pid>\n",
	       url, url, prefix);
	fflush(stdout);
	while (sigwait(&stop, &sig) != 0)
		;
	rs_http_stop(http);
	rs_cache_destroy(&cache);
	return RP_EXIT_OK;
}

const struct rp_command rp_cmd_serve = {
	.name = "serve",
	.synopsis = "[--listen ADDR:PORT] [--prefix NAME] [--leak-groups N]",
	.summary = "serve the figures of every process over HTTP, for Prometheus",
	.description = "Serves one HTTP endpoint for every process of the host running under the\n"
		       "shim: GET /metrics gives the figures of every segment the user can read\n"
		       "(alive processes, and ended ones until gc) in the Prometheus text format,\n"
		       "the families of 'stat --prometheus' followed by the reading's own\n"
		       "(ringfence_scrape_*); GET / a page saying what this is. Segments are read\n"
		       "for a scrape (scrapes within a second share one reading), never written;\n"
		       "one that cannot be read is skipped and counted in\n"
		       "ringfence_scrape_skipped_segments{kind}, never failing the scrape.\n"
		       "\n"
		       "It listens on 127.0.0.1:9473 unless told otherwise, and runs until\n"
		       "SIGINT, SIGTERM or SIGHUP (then exits 0). At most 64 connections, 8 from\n"
		       "one address, each closed after 10 s without progress; an address that\n"
		       "cannot be listened on (address in use, not this host's) is a usage error.",
	.opts = rs_serve_opts,
	.notes = "Prints one line once it listens: 'ringfence serve: listening on URL ...'.\n"
		 "Families, labels and the alert rules and dashboard built on them:\n"
		 "docs/fleet.md.",
	.env = RP_HELP_PREFIX_ENV,
	.run = rs_serve_run,
};
