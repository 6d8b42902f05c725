/*
 * rf-budget-app: producers in the budget's corner cases, run under the shim
 * by test-apps/e2e/budget_cancel_*.sh and budget_fork.sh (docs/budget.md).
 * Each mode prints JSON lines on stdout; a test reads the process's figures
 * with `ringfence stat --json PID` in between.
 *
 *   new --times N       N threads, each cancelled inside rd_kafka_new (the
 *                       cancel is pending when it is called; an interceptor
 *                       slows librdkafka's threads down at their start, so
 *                       that rd_kafka_new waits for them: a cancellation
 *                       point); then the tracked handle below
 *   destroy --times N   N producer handles, each with messages still queued,
 *                       destroyed by a thread cancelled inside
 *                       rd_kafka_destroy (librdkafka joins its main thread
 *                       there); then the tracked handle below
 *   block --entry E --payload P
 *                       a thread whose produce call with RD_KAFKA_MSG_F_BLOCK
 *                       waits inside librdkafka (queue.buffering.max.messages
 *                       reached: a first message's delivery report is never
 *                       served) is cancelled there; then a message larger
 *                       than what that call was charged, on another handle
 *   fork --count N      a producer handle is made, used and destroyed, the
 *                       process forks, and the child produces N messages
 *                       from one thread while its main thread polls; the
 *                       parent reports how the child ended
 *
 * The tracked handle (new, destroy): client.id "rf-after", 20 messages of
 * 1000 bytes with F_COPY whose delivery reports wait until the test says go.
 * new, destroy and block print {"ready": ...} and wait for a line on stdin
 * (the test reads the segment meanwhile), then finish; every mode exits 0
 * when all went as it expects.
 *
 * E: produce, producev, produceva, batch. P: copy, free, none.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#define AFTER_COUNT 20
#define AFTER_SIZE 1000
/* What the blocked call asks; the budget in the tests is 1 MiB. */
#define BLOCKED_SIZE 600000
/* On another handle after the cancel: fits only if the blocked call's charge came back. */
#define LATER_SIZE 700000

static struct {
	const char *bootstrap;
	long times;
	long count;
	const char *entry;
	const char *payload;
} opt = {.times = 70, .count = 2000, .entry = "produce", .payload = "copy"};

static long delivered, dr_failed; /* atomic */

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("rf-budget-app: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	(void)opaque;
	__atomic_add_fetch(m->err ? &dr_failed : &delivered, 1, __ATOMIC_RELAXED);
}

/* Quiet: nothing written, so logging is no cancellation point inside librdkafka. */
static void log_quiet(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)rk;
	(void)level;
	(void)fac;
	(void)buf;
}

static void conf_set(rd_kafka_conf_t *conf, const char *name, const char *value)
{
	char err[256];

	if (rd_kafka_conf_set(conf, name, value, err, sizeof(err)) != RD_KAFKA_CONF_OK)
		die("%s", err);
}

static rd_kafka_conf_t *conf_producer(const char *client_id)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();

	if (opt.bootstrap != NULL)
		conf_set(conf, "bootstrap.servers", opt.bootstrap);
	conf_set(conf, "client.id", client_id);
	conf_set(conf, "linger.ms", "0");
	rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
	return conf;
}

static rd_kafka_t *producer_new(rd_kafka_conf_t *conf)
{
	char err[256];
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));

	if (rk == NULL)
		die("rd_kafka_new: %s", err);
	return rk;
}

/* Wait for a line on stdin (or its end): the test reads the segment meanwhile. */
static void wait_for_go(void)
{
	char line[64];

	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL && ferror(stdin))
		die("stdin");
}

/* ---- The tracked handle made last (new, destroy) ------------------------------------- */

static int after_run(long cancelled, long attempts)
{
	static char buf[AFTER_SIZE];
	rd_kafka_t *rk = producer_new(conf_producer("rf-after"));
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, "rf-budget-after", NULL);
	long produced = 0;

	memset(buf, 'a', sizeof(buf));
	for (int i = 0; i < AFTER_COUNT; i++)
		produced += rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, buf,
					     sizeof(buf), NULL, 0, NULL) == 0;
	/* Not polled yet: the copies stay charged to the handle until the test has looked. */
	printf("{\"ready\": true, \"pid\": %d, \"cancelled\": %ld, \"attempts\": %ld, "
	       "\"produced\": %ld}\n",
	       (int)getpid(), cancelled, attempts, produced);
	wait_for_go();
	rd_kafka_flush(rk, 30000);
	printf("{\"delivered\": %ld, \"failed\": %ld}\n", delivered, dr_failed);
	rd_kafka_topic_destroy(rkt);
	rd_kafka_destroy(rk);
	return produced == AFTER_COUNT && delivered == AFTER_COUNT ? 0 : 1;
}

/* ---- new: cancelled inside rd_kafka_new ------------------------------------------------ */

/* librdkafka's threads start slowly, so that rd_kafka_new waits for its main thread. */
static rd_kafka_resp_err_t slow_start(rd_kafka_t *rk, rd_kafka_thread_type_t type, const char *name,
				      void *ic_opaque)
{
	(void)rk;
	(void)type;
	(void)name;
	(void)ic_opaque;
	sleep_ms(20);
	return RD_KAFKA_RESP_ERR_NO_ERROR;
}

static rd_kafka_resp_err_t slow_on_new(rd_kafka_t *rk, const rd_kafka_conf_t *conf, void *ic_opaque,
				       char *errstr, size_t errstr_size)
{
	(void)conf;
	(void)ic_opaque;
	(void)errstr;
	(void)errstr_size;
	return rd_kafka_interceptor_add_on_thread_start(rk, "rf-budget-app", slow_start, NULL);
}

/*
 * The thread's cancel is pending when it calls rd_kafka_new: it is cancelled
 * at the first cancellation point inside, or returns a handle (then it is
 * destroyed and the attempt does not count).
 */
static void *new_victim(void *arg)
{
	rd_kafka_conf_t *conf = arg;
	char err[256];
	rd_kafka_t *rk;

	pthread_cancel(pthread_self());
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	if (rk != NULL)
		rd_kafka_destroy(rk);
	else
		rd_kafka_conf_destroy(conf);
	return NULL;
}

static int run_new(void)
{
	long cancelled = 0, attempts = 0;
	/* librdkafka's global start-up (TLS libraries read their files) is done on the first
	 * handle, under a global lock: done here, not in a cancelled thread. A consumer is not a
	 * producer handle of the shim's. */
	char err[256];
	rd_kafka_t *keeper = rd_kafka_new(RD_KAFKA_CONSUMER, rd_kafka_conf_new(), err, sizeof(err));

	if (keeper == NULL)
		die("rd_kafka_new (consumer): %s", err);
	while (cancelled < opt.times && attempts < 3 * opt.times) {
		/* No brokers: the half-made handles, whose threads never finish starting, stay
		 * quiet. A cancelled rd_kafka_new leaves its conf to nobody: leaked here. */
		rd_kafka_conf_t *conf = rd_kafka_conf_new();
		pthread_t t;
		void *ret;

		conf_set(conf, "client.id", "rf-cancelled-new");
		rd_kafka_conf_set_log_cb(conf, log_quiet);
		if (rd_kafka_conf_interceptor_add_on_new(conf, "rf-budget-app", slow_on_new, NULL))
			die("rd_kafka_conf_interceptor_add_on_new");
		attempts++;
		if (pthread_create(&t, NULL, new_victim, conf) != 0 || pthread_join(t, &ret) != 0)
			die("pthread_create");
		cancelled += ret == PTHREAD_CANCELED;
	}
	return after_run(cancelled, attempts);
}

/* ---- destroy: cancelled inside rd_kafka_destroy ---------------------------------------- */

static void *destroy_victim(void *arg)
{
	pthread_cancel(pthread_self());
	rd_kafka_destroy(arg);
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	return NULL;
}

static int run_destroy(void)
{
	static char buf[AFTER_SIZE];
	long cancelled = 0, attempts = 0;

	memset(buf, 'd', sizeof(buf));
	while (cancelled < opt.times && attempts < 3 * opt.times) {
		rd_kafka_conf_t *conf = conf_producer("rf-cancelled-destroy");
		rd_kafka_t *rk;
		rd_kafka_topic_t *rkt;
		pthread_t t;
		void *ret;

		/* Its warning about messages still queued is written nowhere: the join of the main
		 * thread is the cancellation point, with librdkafka's teardown under way. */
		rd_kafka_conf_set_log_cb(conf, log_quiet);
		rk = producer_new(conf);
		rkt = rd_kafka_topic_new(rk, "rf-budget-destroy", NULL);
		for (int i = 0; i < 3; i++)
			rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, buf,
					 sizeof(buf), NULL, 0, NULL);
		rd_kafka_topic_destroy(rkt);
		attempts++;
		if (pthread_create(&t, NULL, destroy_victim, rk) != 0 || pthread_join(t, &ret) != 0)
			die("pthread_create");
		cancelled += ret == PTHREAD_CANCELED;
	}
	return after_run(cancelled, attempts);
}

/* ---- block: cancelled while librdkafka blocks in a produce call ------------------------- */

static int payload_flags(void)
{
	if (strcmp(opt.payload, "copy") == 0)
		return RD_KAFKA_MSG_F_COPY;
	if (strcmp(opt.payload, "free") == 0)
		return RD_KAFKA_MSG_F_FREE;
	if (strcmp(opt.payload, "none") == 0)
		return 0;
	die("--payload %s: copy, free or none", opt.payload);
}

struct blocked {
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt;
	char *small, *big; /* the batch's first message, and the one that blocks */
	int entering;      /* atomic: the produce call comes next */
	rd_kafka_resp_err_t err;
};

/* The call that blocks: RD_KAFKA_MSG_F_BLOCK, queue full. Returns only if it did not. */
static void *blocked_producer(void *arg)
{
	struct blocked *b = arg;
	int flags = payload_flags() | RD_KAFKA_MSG_F_BLOCK;
	rd_kafka_error_t *error;

	/* Nothing after this store is a cancellation point before librdkafka's wait. */
	__atomic_store_n(&b->entering, 1, __ATOMIC_RELEASE);
	if (strcmp(opt.entry, "produce") == 0) {
		if (rd_kafka_produce(b->rkt, RD_KAFKA_PARTITION_UA, flags, b->big, BLOCKED_SIZE,
				     NULL, 0, NULL) != 0)
			b->err = rd_kafka_last_error();
	} else if (strcmp(opt.entry, "producev") == 0) {
		/* With a header: the headers list the shim makes for it is its own to destroy. */
		b->err = rd_kafka_producev(b->rk, RD_KAFKA_V_TOPIC("rf-budget-block"),
					   RD_KAFKA_V_VALUE(b->big, BLOCKED_SIZE),
					   RD_KAFKA_V_HEADER("rf", "block", 5),
					   RD_KAFKA_V_MSGFLAGS(flags), RD_KAFKA_V_END);
	} else if (strcmp(opt.entry, "produceva") == 0) {
		rd_kafka_vu_t vus[3] = {
			{.vtype = RD_KAFKA_VTYPE_RKT, .u.rkt = b->rkt},
			{.vtype = RD_KAFKA_VTYPE_VALUE, .u.mem = {b->big, BLOCKED_SIZE}},
			{.vtype = RD_KAFKA_VTYPE_MSGFLAGS, .u.i = flags},
		};

		error = rd_kafka_produceva(b->rk, vus, 3);
		if (error != NULL) {
			b->err = rd_kafka_error_code(error);
			rd_kafka_error_destroy(error);
		}
	} else {
		/* The first is taken (the queue holds two), the second blocks. */
		rd_kafka_message_t msgs[2] = {
			{.payload = b->small, .len = 100},
			{.payload = b->big, .len = BLOCKED_SIZE},
		};

		if (rd_kafka_produce_batch(b->rkt, RD_KAFKA_PARTITION_UA, flags, msgs, 2) != 2)
			b->err = msgs[0].err ? msgs[0].err : msgs[1].err;
	}
	return NULL;
}

static int run_block(void)
{
	static char first[] = "first", fixed_small[100], fixed_big[BLOCKED_SIZE];
	static char later[LATER_SIZE];
	int batch = strcmp(opt.entry, "batch") == 0;
	int free_flag = payload_flags() == RD_KAFKA_MSG_F_FREE;
	rd_kafka_conf_t *conf = conf_producer("rf-blocked");
	struct blocked b = {0};
	rd_kafka_t *rk_later;
	rd_kafka_topic_t *rkt_later;
	pthread_t t;
	void *ret;
	int later_rc;

	if (strcmp(opt.entry, "produce") != 0 && strcmp(opt.entry, "producev") != 0 &&
	    strcmp(opt.entry, "produceva") != 0 && !batch)
		die("--entry %s: produce, producev, produceva or batch", opt.entry);
	/* Room for the first message (and the batch's first): the next one blocks. */
	conf_set(conf, "queue.buffering.max.messages", batch ? "2" : "1");
	b.rk = producer_new(conf);
	b.rkt = rd_kafka_topic_new(b.rk, "rf-budget-block", NULL);
	/* F_FREE payloads are the application's again when the call did not take them. */
	b.small = free_flag ? malloc(100) : fixed_small;
	b.big = free_flag ? malloc(BLOCKED_SIZE) : fixed_big;
	if (b.small == NULL || b.big == NULL)
		die("malloc");
	memset(b.small, 's', 100);
	memset(b.big, 'b', BLOCKED_SIZE);
	/* Uncopied: its charge comes back when delivered; its report is never served, so it
	 * counts against queue.buffering.max.messages for good. */
	if (rd_kafka_produce(b.rkt, RD_KAFKA_PARTITION_UA, 0, first, sizeof(first), NULL, 0,
			     NULL) != 0)
		die("first produce: %s", rd_kafka_err2str(rd_kafka_last_error()));
	if (pthread_create(&t, NULL, blocked_producer, &b) != 0)
		die("pthread_create");
	while (!__atomic_load_n(&b.entering, __ATOMIC_ACQUIRE))
		sleep_ms(1);
	sleep_ms(300); /* well inside librdkafka's wait by now; the cancel acts there anyway */
	pthread_cancel(t);
	pthread_join(t, &ret);
	if (ret != PTHREAD_CANCELED) {
		printf("{\"ready\": false, \"cancelled\": false, \"err\": \"%s\"}\n",
		       rd_kafka_err2str(b.err));
		return 1;
	}
	/* Never taken by librdkafka: still the application's (a double free aborts). */
	if (free_flag) {
		free(b.big);
		if (!batch)
			free(b.small);
	}
	/* As large as what the cancelled call was charged, or more: it fits only if that charge
	 * came back (the tests run with policy fail and a 1 MiB budget). */
	rk_later = producer_new(conf_producer("rf-later"));
	rkt_later = rd_kafka_topic_new(rk_later, "rf-budget-later", NULL);
	memset(later, 'l', sizeof(later));
	later_rc = rd_kafka_produce(rkt_later, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, later,
				    sizeof(later), NULL, 0, NULL);
	rd_kafka_flush(rk_later, 30000);
	printf("{\"ready\": true, \"pid\": %d, \"cancelled\": true, \"later\": \"%s\", "
	       "\"later_delivered\": %ld}\n",
	       (int)getpid(), later_rc == 0 ? "admitted" : rd_kafka_err2str(rd_kafka_last_error()),
	       delivered);
	wait_for_go();
	rd_kafka_topic_destroy(rkt_later);
	rd_kafka_destroy(rk_later);
	/* The blocked handle is left as it is: the cancelled wait left librdkafka's lock of its
	 * message count held, and destroying it would wait for that lock forever. */
	return later_rc == 0 && delivered == 1 ? 0 : 1;
}

/* ---- fork: a child's producer and its poller ------------------------------------------- */

struct child_producer {
	rd_kafka_topic_t *rkt;
	long produced, retries; /* atomic */
	int done;               /* atomic */
};

/* Produces only; the main thread polls. A refusal is retried after a pause. */
static void *child_produce(void *arg)
{
	struct child_producer *p = arg;
	char buf[1000];

	memset(buf, 'f', sizeof(buf));
	for (long i = 0; i < opt.count; i++) {
		while (rd_kafka_produce(p->rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, buf,
					sizeof(buf), NULL, 0, NULL) != 0) {
			__atomic_add_fetch(&p->retries, 1, __ATOMIC_RELAXED);
			sleep_ms(1);
		}
		__atomic_add_fetch(&p->produced, 1, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&p->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int child_run(void)
{
	rd_kafka_t *rk;
	struct child_producer p;
	time_t deadline = time(NULL) + 60;
	pthread_t t;

	/* The parent's reports are the parent's. */
	delivered = dr_failed = 0;
	rk = producer_new(conf_producer("rf-fork-child"));
	p = (struct child_producer){.rkt = rd_kafka_topic_new(rk, "rf-budget-fork", NULL)};
	if (pthread_create(&t, NULL, child_produce, &p) != 0)
		die("pthread_create");
	/* The main thread, which forked, serves the delivery reports: the budget's waits
	 * count on its polls. */
	while ((!__atomic_load_n(&p.done, __ATOMIC_ACQUIRE) ||
		__atomic_load_n(&delivered, __ATOMIC_RELAXED) +
				__atomic_load_n(&dr_failed, __ATOMIC_RELAXED) <
			p.produced) &&
	       time(NULL) < deadline)
		rd_kafka_poll(rk, 50);
	pthread_join(t, NULL);
	rd_kafka_flush(rk, 10000);
	printf("{\"child\": %d, \"produced\": %ld, \"retries\": %ld, \"delivered\": %ld, "
	       "\"failed\": %ld}\n",
	       (int)getpid(), p.produced, p.retries, delivered, dr_failed);
	rd_kafka_topic_destroy(p.rkt);
	rd_kafka_destroy(rk);
	return p.produced == opt.count && delivered == opt.count ? 0 : 1;
}

static int run_fork(void)
{
	rd_kafka_t *rk = producer_new(conf_producer("rf-fork-parent"));
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, "rf-budget-fork", NULL);
	int status;
	pid_t pid;

	/* The parent's main thread creates, produces and polls before it forks. */
	rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, "parent", 6, NULL, 0,
			 NULL);
	rd_kafka_flush(rk, 10000);
	rd_kafka_topic_destroy(rkt);
	rd_kafka_destroy(rk);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		exit(child_run());
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	printf("{\"parent\": %d, \"child_status\": %d}\n", (int)getpid(),
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{"bootstrap", required_argument, NULL, 'b'},
		{"times", required_argument, NULL, 't'},
		{"count", required_argument, NULL, 'c'},
		{"entry", required_argument, NULL, 'e'},
		{"payload", required_argument, NULL, 'p'},
		{0},
	};
	const char *mode = argc > 1 ? argv[1] : "";
	int c;

	optind = 2;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 'b':
			opt.bootstrap = optarg;
			break;
		case 't':
			opt.times = strtol(optarg, NULL, 10);
			break;
		case 'c':
			opt.count = strtol(optarg, NULL, 10);
			break;
		case 'e':
			opt.entry = optarg;
			break;
		case 'p':
			opt.payload = optarg;
			break;
		default:
			return 2;
		}
	}
	if (opt.bootstrap == NULL)
		die("%s: --bootstrap is required", mode);
	if (strcmp(mode, "new") == 0)
		return run_new();
	if (strcmp(mode, "destroy") == 0)
		return run_destroy();
	if (strcmp(mode, "block") == 0)
		return run_block();
	if (strcmp(mode, "fork") == 0)
		return run_fork();
	fprintf(stderr, "usage: rf-budget-app new|destroy|block|fork [options]\n");
	return 2;
}
