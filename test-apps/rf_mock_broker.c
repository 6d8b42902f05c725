/*
 * rf_mock_broker.c - rf-mock-broker: an embedded Kafka cluster for tests.
 *
 * Runs librdkafka's mock cluster on 127.0.0.1 (ephemeral ports), prints its
 * bootstrap string on stdout, and lets a test inject faults while it runs:
 * line commands on stdin ("down ID|all", "up ID|all", "rtt ID|all MS",
 * "quit") and signals (SIGUSR1 = all brokers down, SIGUSR2 = all up).
 * SIGTERM, SIGINT, "quit" and the --lifetime limit all end it with status 0
 * after tearing the cluster down, so tests can assert on a clean exit.
 *
 * Everything the test harness reacts to happens in one poll() loop in the
 * main thread: signals arrive through a signalfd, so no work is ever done in
 * signal context and no librdkafka call races with a handler.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define MB_NAME "rf-mock-broker"

#define MB_BROKERS_MIN 1
#define MB_BROKERS_MAX 16
#define MB_BROKERS_DEFAULT 3
/* One hour: far beyond any client timeout a test would want to provoke. */
#define MB_RTT_MAX_MS 3600000
/* A forgotten broker (test killed hard, harness bug) must not live forever. */
#define MB_LIFETIME_DEFAULT_S 600
#define MB_LIFETIME_MAX_S 604800
/* Same count the mock cluster gives auto-created topics. */
#define MB_PARTITIONS_DEFAULT 4
#define MB_PARTITIONS_MAX 1024
/* Kafka's own limit on topic name length. */
#define MB_TOPIC_NAME_MAX 249
#define MB_CMD_LINE_MAX 256
/* Upper bound on poll() sleeps, so the dummy handle's queue gets served. */
#define MB_POLL_MAX_MS 1000
#define MB_DESTROY_WAIT_MS 5000
/* rd_kafka_mock_*() take -1 to mean every broker. */
#define MB_BROKER_ALL (-1)

struct mb_opts {
	int broker_cnt;
	int rtt_ms;
	int lifetime_s;
	const char *bootstrap_path;
	const char *topic;
	int partition_cnt; /* 0 = not given on the command line */
	int verbose;
	bool help;
};

struct mb_ctx {
	const struct mb_opts *opts;
	rd_kafka_t *rk;
	rd_kafka_mock_cluster_t *mcluster;
	int sig_fd;
	bool stdin_open;
	char line[MB_CMD_LINE_MAX];
	size_t line_len;
	bool line_too_long;
	bool quit;
	bool stdout_failed;
};

static const char mb_usage[] =
	"Usage: " MB_NAME " [OPTION]...\n"
	"Run librdkafka's mock Kafka cluster on 127.0.0.1 for tests.\n"
	"\n"
	"Prints the bootstrap servers (host:port,...) on stdout as one line once\n"
	"the cluster is listening, then serves until told to stop.\n"
	"\n"
	"Options:\n"
	"  --brokers N            number of brokers, 1..16 (default 3); broker\n"
	"                         ids are 1..N\n"
	"  --rtt MS               round-trip delay in milliseconds added to every\n"
	"                         broker's responses, 0..3600000 (default 0)\n"
	"  --lifetime SECONDS     exit by itself (status 0) after this long,\n"
	"                         0..604800; 0 = no limit (default 600)\n"
	"  --bootstrap-file PATH  also write the bootstrap string and a newline to\n"
	"                         PATH, atomically (write + rename), once ready\n"
	"  --topic NAME           pre-create topic NAME (characters a-z A-Z 0-9\n"
	"                         . _ -, at most 249) instead of relying on\n"
	"                         auto-creation\n"
	"  --partitions N         partitions for --topic, 1..1024 (default 4,\n"
	"                         as for auto-created topics)\n"
	"  -v, --verbose          forward librdkafka's log to stderr; twice also\n"
	"                         enables its mock-cluster debug log\n"
	"  -h, --help             show this help and exit\n"
	"\n"
	"Commands, one per line on stdin; each success is acknowledged on stdout\n"
	"with \"ok <command>\", each failure reported on stderr with \"error: ...\":\n"
	"  down ID|all            close the broker's listener and connections\n"
	"                         (partition leadership does not move)\n"
	"  up ID|all              accept connections again, on the same port\n"
	"  rtt ID|all MS          set the round-trip delay, 0..3600000 ms\n"
	"  quit                   exit with status 0\n"
	"End of file on stdin only stops command reading; it does not quit.\n"
	"\n"
	"Signals:\n"
	"  SIGUSR1                all brokers down\n"
	"  SIGUSR2                all brokers up\n"
	"  SIGTERM, SIGINT        exit with status 0\n"
	"\n"
	"Exit status: 0 on a clean stop, 1 on a runtime failure, 2 on a usage\n"
	"error.\n";

__attribute__((format(printf, 1, 2))) static void mb_diag(const char *fmt, ...)
{
	va_list ap;

	/* librdkafka's log callback runs on its own threads: keep each
	 * diagnostic a single, uninterleaved line. */
	flockfile(stderr);
	fputs(MB_NAME ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

static void mb_log_forward(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	mb_diag("rdkafka: %d|%s: %s", level, fac, buf);
}

/* Without a callback the dummy handle would print its notices (for instance
 * that it has no bootstrap.servers) straight to stderr. */
static void mb_log_discard(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	(void)level;
	(void)fac;
	(void)buf;
}

static int64_t mb_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Strict decimal: no sign, blanks or trailing characters, within min..max. */
static int mb_int_parse(const char *text, long min, long max, int *value)
{
	char *end;
	long v;

	if (text[0] < '0' || text[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtol(text, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*value = (int)v;
	return 0;
}

static int mb_opt_int_parse(const char *opt, const char *text, long min, long max, int *value)
{
	if (mb_int_parse(text, min, max, value) < 0) {
		mb_diag("%s: invalid value '%s': expected an integer from %ld "
			"to %ld",
			opt, text, min, max);
		return -EINVAL;
	}
	return 0;
}

/* Kafka rejects other names; better to fail here than in a test later. */
static int mb_topic_name_check(const char *name)
{
	size_t len = strlen(name);
	size_t i;

	if (len == 0 || len > MB_TOPIC_NAME_MAX || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return -EINVAL;
	}
	return 0;
}

enum {
	MB_OPT_BROKERS = 256,
	MB_OPT_RTT,
	MB_OPT_LIFETIME,
	MB_OPT_BOOTSTRAP_FILE,
	MB_OPT_TOPIC,
	MB_OPT_PARTITIONS,
};

static int mb_opts_parse(int argc, char **argv, struct mb_opts *opts)
{
	static const struct option longopts[] = {
		{"brokers", required_argument, NULL, MB_OPT_BROKERS},
		{"rtt", required_argument, NULL, MB_OPT_RTT},
		{"lifetime", required_argument, NULL, MB_OPT_LIFETIME},
		{"bootstrap-file", required_argument, NULL, MB_OPT_BOOTSTRAP_FILE},
		{"topic", required_argument, NULL, MB_OPT_TOPIC},
		{"partitions", required_argument, NULL, MB_OPT_PARTITIONS},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	*opts = (struct mb_opts){
		.broker_cnt = MB_BROKERS_DEFAULT,
		.lifetime_s = MB_LIFETIME_DEFAULT_S,
	};

	/* Own messages instead of getopt's, which are prefixed with argv[0]
	 * (often a long build path) rather than the program name. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hv", longopts, NULL)) != -1) {
		int rc = 0;

		switch (c) {
		case MB_OPT_BROKERS:
			rc = mb_opt_int_parse("--brokers", optarg, MB_BROKERS_MIN, MB_BROKERS_MAX,
					      &opts->broker_cnt);
			break;
		case MB_OPT_RTT:
			rc = mb_opt_int_parse("--rtt", optarg, 0, MB_RTT_MAX_MS, &opts->rtt_ms);
			break;
		case MB_OPT_LIFETIME:
			rc = mb_opt_int_parse("--lifetime", optarg, 0, MB_LIFETIME_MAX_S,
					      &opts->lifetime_s);
			break;
		case MB_OPT_BOOTSTRAP_FILE:
			if (optarg[0] == '\0') {
				mb_diag("--bootstrap-file: invalid value '': "
					"expected a file path");
				rc = -EINVAL;
			}
			opts->bootstrap_path = optarg;
			break;
		case MB_OPT_TOPIC:
			if (mb_topic_name_check(optarg) < 0) {
				mb_diag("--topic: invalid value '%s': expected "
					"1 to %d characters from a-z A-Z 0-9 "
					". _ - (and not '.' or '..')",
					optarg, MB_TOPIC_NAME_MAX);
				rc = -EINVAL;
			}
			opts->topic = optarg;
			break;
		case MB_OPT_PARTITIONS:
			rc = mb_opt_int_parse("--partitions", optarg, 1, MB_PARTITIONS_MAX,
					      &opts->partition_cnt);
			break;
		case 'v':
			opts->verbose++;
			break;
		case 'h':
			opts->help = true;
			break;
		case ':':
			mb_diag("option '%s' requires an argument; see --help", argv[optind - 1]);
			rc = -EINVAL;
			break;
		default: {
			const char *arg = argv[optind - 1];

			if (strncmp(arg, "--", 2) != 0)
				mb_diag("unknown option '-%c'; see --help", optopt);
			else if (optopt != 0)
				mb_diag("option '%s' takes no argument; see "
					"--help",
					arg);
			else
				mb_diag("unknown option '%s'; see --help", arg);
			rc = -EINVAL;
			break;
		}
		}
		if (rc < 0)
			return rc;
	}
	if (opts->help)
		return 0;
	if (optind < argc) {
		mb_diag("unexpected argument '%s': " MB_NAME " takes options only; see --help",
			argv[optind]);
		return -EINVAL;
	}
	if (opts->partition_cnt != 0 && opts->topic == NULL) {
		mb_diag("--partitions: only meaningful with --topic NAME");
		return -EINVAL;
	}
	if (opts->topic != NULL && opts->partition_cnt == 0)
		opts->partition_cnt = MB_PARTITIONS_DEFAULT;
	return 0;
}

/* Point closed standard descriptors at /dev/null: otherwise the signalfd
 * could become fd 0 and be read as commands, or diagnostics could land in
 * some unrelated file opened as fd 2. */
static int mb_stdfds_ensure(void)
{
	int fd;

	for (fd = 0; fd <= 2; fd++) {
		int nfd;

		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		nfd = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
		if (nfd < 0)
			return -errno;
		if (nfd != fd) {
			/* Lower descriptors are open, so open() returns the
			 * lowest free one, which is fd itself. */
			close(nfd);
			return -EBADF;
		}
	}
	return 0;
}

/* Must run before any thread exists so that every librdkafka thread inherits
 * the mask and the signals can only be taken through the signalfd. */
static int mb_signals_setup(int *sig_fd)
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGUSR1, SIGUSR2};
	sigset_t set;
	size_t i;
	int rc;
	int fd;

	sigemptyset(&set);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		/* A shell starts background jobs with SIGINT ignored, and an
		 * ignored signal is discarded before the signalfd sees it. */
		signal(sigs[i], SIG_DFL);
		sigaddset(&set, sigs[i]);
	}
	/* A test that stops reading our stdout must not kill us; the write
	 * error is reported instead. */
	signal(SIGPIPE, SIG_IGN);

	rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (rc != 0)
		return -rc;
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	*sig_fd = fd;
	return 0;
}

static int mb_err_to_errno(rd_kafka_resp_err_t err)
{
	switch (err) {
	case RD_KAFKA_RESP_ERR_NO_ERROR:
		return 0;
	case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
	case RD_KAFKA_RESP_ERR__UNKNOWN_BROKER:
		return -ENOENT;
	case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
		return -EEXIST;
	case RD_KAFKA_RESP_ERR__INVALID_ARG:
		return -EINVAL;
	default:
		return -EIO;
	}
}

static int mb_handle_create(int verbose, rd_kafka_t **rkp)
{
	char errstr[512];
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;

	conf = rd_kafka_conf_new();
	if (conf == NULL)
		return -ENOMEM;
	rd_kafka_conf_set_log_cb(conf, verbose > 0 ? mb_log_forward : mb_log_discard);
	if (verbose > 1 &&
	    rd_kafka_conf_set(conf, "debug", "mock", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
		mb_diag("cannot enable mock debug log: %s", errstr);
		rd_kafka_conf_destroy(conf);
		return -EINVAL;
	}

	/* The handle only owns the cluster; it never connects anywhere
	 * itself, so it needs no bootstrap.servers. */
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (rk == NULL) {
		mb_diag("cannot create the librdkafka handle: %s", errstr);
		/* On failure the configuration is still ours to free. */
		rd_kafka_conf_destroy(conf);
		return -EIO;
	}
	*rkp = rk;
	return 0;
}

static int mb_cluster_start(struct mb_ctx *ctx)
{
	const struct mb_opts *opts = ctx->opts;
	rd_kafka_resp_err_t err;

	ctx->mcluster = rd_kafka_mock_cluster_new(ctx->rk, opts->broker_cnt);
	if (ctx->mcluster == NULL) {
		mb_diag("cannot create a mock cluster of %d broker(s) "
			"(run with --verbose for librdkafka's reason)",
			opts->broker_cnt);
		return -EIO;
	}

	if (opts->rtt_ms > 0) {
		err = rd_kafka_mock_broker_set_rtt(ctx->mcluster, MB_BROKER_ALL, opts->rtt_ms);
		if (err) {
			mb_diag("cannot set the round-trip delay to %d ms: %s", opts->rtt_ms,
				rd_kafka_err2str(err));
			return mb_err_to_errno(err);
		}
	}

	if (opts->topic != NULL) {
		/* The mock cluster ignores the replication factor beyond its
		 * debug log (it always uses min(3, brokers)); pass the same
		 * value so that log does not mislead. */
		int replication = opts->broker_cnt < 3 ? opts->broker_cnt : 3;

		err = rd_kafka_mock_topic_create(ctx->mcluster, opts->topic, opts->partition_cnt,
						 replication);
		if (err) {
			mb_diag("cannot create topic '%s' with %d "
				"partition(s): %s",
				opts->topic, opts->partition_cnt, rd_kafka_err2str(err));
			return mb_err_to_errno(err);
		}
	}
	return 0;
}

static int mb_fd_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Write to a temporary name beside PATH and rename it into place, so a test
 * polling for PATH never reads a partial line. */
static int mb_bootstrap_file_write(const char *path, const char *bootstraps)
{
	char tmp[PATH_MAX];
	int n;
	int fd;
	int rc;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	rc = mb_fd_write_all(fd, bootstraps, strlen(bootstraps));
	if (rc == 0)
		rc = mb_fd_write_all(fd, "\n", 1);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

__attribute__((format(printf, 2, 3))) static int mb_stdout_print(struct mb_ctx *ctx,
								 const char *fmt, ...)
{
	va_list ap;
	int rc = 0;

	errno = 0;
	va_start(ap, fmt);
	if (vprintf(fmt, ap) < 0)
		rc = errno ? -errno : -EIO;
	va_end(ap);
	/* Tests wait on each line, so it must leave the process now. */
	if (rc == 0 && fflush(stdout) != 0)
		rc = errno ? -errno : -EIO;
	if (rc < 0) {
		/* Once is enough: a reader that went away stays away. */
		if (!ctx->stdout_failed)
			mb_diag("cannot write to stdout: %s", strerror(-rc));
		ctx->stdout_failed = true;
		/* Drop the unwritten rest, or every later line would be
		 * glued onto it should stdout become writable again. */
		__fpurge(stdout);
		clearerr(stdout);
	}
	return rc;
}

static int mb_brokers_set_up(struct mb_ctx *ctx, int32_t broker_id, bool up)
{
	rd_kafka_resp_err_t err;

	if (up)
		err = rd_kafka_mock_broker_set_up(ctx->mcluster, broker_id);
	else
		err = rd_kafka_mock_broker_set_down(ctx->mcluster, broker_id);
	if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
		return 0;
	if (broker_id == MB_BROKER_ALL)
		mb_diag("error: cannot set all brokers %s: %s", up ? "up" : "down",
			rd_kafka_err2str(err));
	else
		mb_diag("error: cannot set broker %d %s: %s", (int)broker_id, up ? "up" : "down",
			rd_kafka_err2str(err));
	return mb_err_to_errno(err);
}

/* "all" or a broker id of this cluster. */
static int mb_broker_target_parse(const struct mb_ctx *ctx, const char *text, int32_t *broker_id)
{
	int id;

	if (strcmp(text, "all") == 0) {
		*broker_id = MB_BROKER_ALL;
		return 0;
	}
	if (mb_int_parse(text, 1, ctx->opts->broker_cnt, &id) < 0) {
		mb_diag("error: invalid broker '%s': expected 'all' or a "
			"broker id from 1 to %d",
			text, ctx->opts->broker_cnt);
		return -EINVAL;
	}
	*broker_id = id;
	return 0;
}

static const char mb_commands_accepted[] = "accepted: down ID|all, up ID|all, rtt ID|all MS, quit";

/* Runs one stdin command; a bad command is reported and otherwise ignored,
 * it never stops the broker. */
static int mb_command_run(struct mb_ctx *ctx, char *line)
{
	char *argv[4];
	char *save = NULL;
	char *tok;
	int argc = 0;
	int32_t broker_id;
	int rtt_ms;
	int rc;

	for (tok = strtok_r(line, " \t\r", &save); tok != NULL;
	     tok = strtok_r(NULL, " \t\r", &save)) {
		if (argc == (int)(sizeof(argv) / sizeof(argv[0]))) {
			mb_diag("error: too many arguments to '%s'; %s", argv[0],
				mb_commands_accepted);
			return -EINVAL;
		}
		argv[argc++] = tok;
	}
	if (argc == 0)
		return 0; /* blank lines are harmless */

	if (strcmp(argv[0], "quit") == 0 && argc == 1) {
		ctx->quit = true;
		mb_stdout_print(ctx, "ok quit\n");
		return 0;
	}
	if ((strcmp(argv[0], "down") == 0 || strcmp(argv[0], "up") == 0) && argc == 2) {
		bool up = argv[0][0] == 'u';

		rc = mb_broker_target_parse(ctx, argv[1], &broker_id);
		if (rc == 0)
			rc = mb_brokers_set_up(ctx, broker_id, up);
		if (rc == 0)
			mb_stdout_print(ctx, "ok %s %s\n", argv[0], argv[1]);
		return rc;
	}
	if (strcmp(argv[0], "rtt") == 0 && argc == 3) {
		rd_kafka_resp_err_t err;

		rc = mb_broker_target_parse(ctx, argv[1], &broker_id);
		if (rc < 0)
			return rc;
		if (mb_int_parse(argv[2], 0, MB_RTT_MAX_MS, &rtt_ms) < 0) {
			mb_diag("error: invalid round-trip delay '%s': "
				"expected milliseconds from 0 to %d",
				argv[2], MB_RTT_MAX_MS);
			return -EINVAL;
		}
		err = rd_kafka_mock_broker_set_rtt(ctx->mcluster, broker_id, rtt_ms);
		if (err) {
			mb_diag("error: cannot set the round-trip delay: %s",
				rd_kafka_err2str(err));
			return mb_err_to_errno(err);
		}
		mb_stdout_print(ctx, "ok rtt %s %s\n", argv[1], argv[2]);
		return 0;
	}

	if (strcmp(argv[0], "quit") == 0 || strcmp(argv[0], "down") == 0 ||
	    strcmp(argv[0], "up") == 0 || strcmp(argv[0], "rtt") == 0)
		mb_diag("error: wrong number of arguments to '%s'; %s", argv[0],
			mb_commands_accepted);
	else
		mb_diag("error: unknown command '%s'; %s", argv[0], mb_commands_accepted);
	return -EINVAL;
}

static void mb_line_finish(struct mb_ctx *ctx)
{
	if (ctx->line_too_long)
		mb_diag("error: command line longer than %d bytes ignored", MB_CMD_LINE_MAX - 1);
	else if (ctx->line_len > 0) {
		ctx->line[ctx->line_len] = '\0';
		mb_command_run(ctx, ctx->line);
	}
	ctx->line_len = 0;
	ctx->line_too_long = false;
}

static int mb_stdin_read(struct mb_ctx *ctx)
{
	char buf[512];
	ssize_t n;
	ssize_t i;

	n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		mb_diag("cannot read stdin: %s; no longer reading commands", strerror(errno));
		ctx->stdin_open = false;
		return -errno;
	}
	if (n == 0) {
		/* Tests often run us with </dev/null: end of input is not a
		 * request to stop. An unterminated last line still counts. */
		if (ctx->line_len > 0 || ctx->line_too_long)
			mb_line_finish(ctx);
		ctx->stdin_open = false;
		if (ctx->opts->verbose > 0)
			mb_diag("end of stdin; no longer reading commands");
		return 0;
	}
	for (i = 0; i < n && !ctx->quit; i++) {
		if (buf[i] == '\n')
			mb_line_finish(ctx);
		else if (ctx->line_len < sizeof(ctx->line) - 1)
			ctx->line[ctx->line_len++] = buf[i];
		else
			ctx->line_too_long = true;
	}
	return 0;
}

static int mb_signal_read(struct mb_ctx *ctx)
{
	struct signalfd_siginfo si;
	ssize_t n;

	n = read(ctx->sig_fd, &si, sizeof(si));
	if (n < 0)
		return (errno == EAGAIN || errno == EINTR) ? 0 : -errno;
	if (n != (ssize_t)sizeof(si))
		return -EIO;

	switch (si.ssi_signo) {
	case SIGTERM:
	case SIGINT:
		if (ctx->opts->verbose > 0)
			mb_diag("SIG%s received, exiting", sigabbrev_np((int)si.ssi_signo));
		ctx->quit = true;
		return 0;
	case SIGUSR1:
		/* There is no stdout acknowledgement for signals: it could be
		 * mistaken for the answer to a concurrent stdin command. A
		 * failure has been reported and must not stop the broker. */
		mb_diag("SIGUSR1: setting all brokers down");
		mb_brokers_set_up(ctx, MB_BROKER_ALL, false);
		return 0;
	case SIGUSR2:
		mb_diag("SIGUSR2: setting all brokers up");
		mb_brokers_set_up(ctx, MB_BROKER_ALL, true);
		return 0;
	default:
		return 0;
	}
}

static int mb_loop_run(struct mb_ctx *ctx)
{
	int64_t deadline = -1;
	int rc;

	if (ctx->opts->lifetime_s > 0)
		deadline = mb_now_ms() + (int64_t)ctx->opts->lifetime_s * 1000;

	while (!ctx->quit) {
		struct pollfd pfd[2] = {
			{.fd = ctx->sig_fd, .events = POLLIN},
			/* poll() skips negative descriptors. */
			{.fd = ctx->stdin_open ? STDIN_FILENO : -1, .events = POLLIN},
		};
		int timeout = MB_POLL_MAX_MS;

		if (deadline >= 0) {
			int64_t left = deadline - mb_now_ms();

			if (left <= 0) {
				mb_diag("lifetime of %d s is over, exiting", ctx->opts->lifetime_s);
				break;
			}
			if (left < timeout)
				timeout = (int)left;
		}

		rc = poll(pfd, 2, timeout);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			mb_diag("poll: %s", strerror(-rc));
			return rc;
		}

		/* Nothing should be queued for the dummy handle, but serve
		 * its queue anyway so nothing can pile up over a long run. */
		rd_kafka_poll(ctx->rk, 0);

		if (pfd[0].revents & POLLIN) {
			rc = mb_signal_read(ctx);
			if (rc < 0) {
				mb_diag("cannot read signals: %s", strerror(-rc));
				return rc;
			}
		}
		if (ctx->quit)
			break;
		if (pfd[1].revents & POLLNVAL)
			ctx->stdin_open = false;
		else if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))
			mb_stdin_read(ctx);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct mb_opts opts;
	struct mb_ctx ctx = {.opts = &opts, .sig_fd = -1, .stdin_open = true};
	const char *bootstraps;
	int status = 1;
	int rc;

	if (mb_stdfds_ensure() < 0)
		return 1;
	if (mb_opts_parse(argc, argv, &opts) < 0)
		return 2;
	if (opts.help) {
		fputs(mb_usage, stdout);
		return fflush(stdout) == 0 ? 0 : 1;
	}

	rc = mb_signals_setup(&ctx.sig_fd);
	if (rc < 0) {
		mb_diag("cannot set up signal handling: %s", strerror(-rc));
		return 1;
	}
	rc = mb_handle_create(opts.verbose, &ctx.rk);
	if (rc < 0)
		goto out;
	rc = mb_cluster_start(&ctx);
	if (rc < 0)
		goto out;

	bootstraps = rd_kafka_mock_cluster_bootstraps(ctx.mcluster);
	if (opts.bootstrap_path != NULL) {
		rc = mb_bootstrap_file_write(opts.bootstrap_path, bootstraps);
		if (rc < 0) {
			mb_diag("--bootstrap-file: cannot write '%s': %s", opts.bootstrap_path,
				strerror(-rc));
			goto out;
		}
	}
	/* The bootstrap line is how a test learns where we listen: if it
	 * cannot be delivered, nobody can use this cluster. */
	rc = mb_stdout_print(&ctx, "%s\n", bootstraps);
	if (rc < 0)
		goto out;
	if (opts.verbose > 0)
		mb_diag("%d broker(s) listening on %s", opts.broker_cnt, bootstraps);

	rc = mb_loop_run(&ctx);
	if (rc == 0)
		status = 0;
out:
	if (ctx.mcluster != NULL)
		rd_kafka_mock_cluster_destroy(ctx.mcluster);
	if (ctx.rk != NULL) {
		rd_kafka_destroy(ctx.rk);
		/* Let librdkafka's threads finish so nothing is reported as
		 * leaked and no thread outlives main(). */
		if (rd_kafka_wait_destroyed(MB_DESTROY_WAIT_MS) != 0)
			mb_diag("librdkafka did not finish within %d ms", MB_DESTROY_WAIT_MS);
	}
	if (ctx.sig_fd >= 0)
		close(ctx.sig_fd);
	return status;
}
