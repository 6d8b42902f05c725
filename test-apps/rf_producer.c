/*
 * rf_producer.c - a librdkafka producer that accounts for every message.
 *
 * The C test-app run under the shim by the end-to-end tests and the demo.
 * It produces --count messages per thread through the chosen entry point and
 * payload ownership, counts delivery reports, and prints one JSON line:
 * what was produced, delivered and failed, with an order-independent
 * checksum of each set, so a test can prove that every message is
 * accounted for exactly once (against the broker's high-water marks too).
 *
 * Payload i of thread t is deterministic: "<t>:<i>:" followed by filler up to
 * --size bytes, so its checksum can be recomputed from what the broker holds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

enum rp_entry {
	ENTRY_PRODUCE,
	ENTRY_PRODUCEV,
	ENTRY_PRODUCEVA,
	ENTRY_BATCH
};
enum rp_payload {
	PAYLOAD_COPY,
	PAYLOAD_FREE,
	PAYLOAD_NONE
};

static struct {
	const char *bootstrap;
	const char *topic;
	long count;
	long warmup; /* messages per thread produced and delivered before the timed run */
	long size;
	enum rp_entry entry;
	enum rp_payload payload;
	int handles;
	int threads;
	int batch;
	int headers;
	long linger_ms;
	long flush_ms;
	const char *acks;
	int poll_thread; /* a thread per handle serves delivery reports; producers never poll */
	int no_dr;       /* no delivery callback: librdkafka frees payloads on its own threads */
	const char *copy_max;  /* message.copy.max.bytes, when given */
	const char *props[32]; /* -X name=value, passed to librdkafka */
	int nprops;
} opt = {
	.topic = "rf-test",
	.count = 1000,
	.size = 100,
	.entry = ENTRY_PRODUCE,
	.payload = PAYLOAD_COPY,
	.handles = 1,
	.threads = 1,
	.batch = 100,
	.linger_ms = 0,
	.flush_ms = 60000,
	.acks = "all",
};

/* Totals, updated with atomics from producer threads and delivery callbacks. */
static struct {
	uint64_t produced, produce_failed, retries, bytes;
	uint64_t delivered, dr_failed;
	uint64_t sum_produced, sum_delivered, sum_dr_failed;
} tot;

static void add(uint64_t *v, uint64_t n)
{
	__atomic_fetch_add(v, n, __ATOMIC_RELAXED);
}

/* FNV-1a; summed over messages the total does not depend on order. */
static uint64_t payload_hash(const void *p, size_t len)
{
	const unsigned char *b = p;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

static void payload_fill(char *buf, size_t size, int thread, long i)
{
	int n = snprintf(buf, size, "%d:%ld:", thread, i);

	for (size_t k = (size_t)(n < 0 ? 0 : n); k < size; k++)
		buf[k] = (char)('a' + (k + (size_t)i) % 26);
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	uint64_t h = payload_hash(m->payload, m->len);

	(void)rk;
	(void)opaque;
	if (m->err) {
		add(&tot.dr_failed, 1);
		add(&tot.sum_dr_failed, h);
	} else {
		add(&tot.delivered, 1);
		add(&tot.sum_delivered, h);
	}
	/* No ownership flag: the buffer is ours until now, found by its pointer. */
	if (opt.payload == PAYLOAD_NONE)
		free(m->payload);
}

static int msgflags(void)
{
	switch (opt.payload) {
	case PAYLOAD_COPY:
		return RD_KAFKA_MSG_F_COPY;
	case PAYLOAD_FREE:
		return RD_KAFKA_MSG_F_FREE;
	default:
		return 0;
	}
}

static rd_kafka_t *handle_new(int idx)
{
	char err[512], id[64];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();

	snprintf(id, sizeof(id), "rf-producer-%d", idx);
	if (rd_kafka_conf_set(conf, "bootstrap.servers", opt.bootstrap, err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "client.id", id, err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "acks", opt.acks, err, sizeof(err)) ||
	    rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof(err))) {
		fprintf(stderr, "rf-producer: %s\n", err);
		exit(2);
	}
	if (opt.copy_max != NULL &&
	    rd_kafka_conf_set(conf, "message.copy.max.bytes", opt.copy_max, err, sizeof(err))) {
		fprintf(stderr, "rf-producer: %s\n", err);
		exit(2);
	}
	for (int i = 0; i < opt.nprops; i++) {
		char name[128];
		const char *eq = strchr(opt.props[i], '=');
		size_t n = eq ? (size_t)(eq - opt.props[i]) : 0;

		if (eq == NULL || n >= sizeof(name)) {
			fprintf(stderr, "rf-producer: -X \"%s\": expected name=value\n",
				opt.props[i]);
			exit(2);
		}
		memcpy(name, opt.props[i], n);
		name[n] = '\0';
		if (rd_kafka_conf_set(conf, name, eq + 1, err, sizeof(err))) {
			fprintf(stderr, "rf-producer: -X %s: %s\n", opt.props[i], err);
			exit(2);
		}
	}
	if (!opt.no_dr)
		rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (rk == NULL) {
		fprintf(stderr, "rf-producer: rd_kafka_new: %s\n", err);
		exit(2);
	}
	return rk;
}

struct worker {
	int idx;
	rd_kafka_t *rk;
	rd_kafka_topic_t *rkt;
	pthread_t tid;
};

/* One message through the chosen entry point: 0, or the error it ended with. */
static rd_kafka_resp_err_t produce_one(struct worker *w, char *buf, size_t len)
{
	static const char key[] = "key";
	rd_kafka_error_t *error;
	rd_kafka_resp_err_t err;

	switch (opt.entry) {
	case ENTRY_PRODUCE:
		if (rd_kafka_produce(w->rkt, RD_KAFKA_PARTITION_UA, msgflags(), buf, len, key,
				     sizeof(key) - 1, NULL) == 0)
			return RD_KAFKA_RESP_ERR_NO_ERROR;
		return rd_kafka_last_error();
	case ENTRY_PRODUCEV:
		if (opt.headers)
			return rd_kafka_producev(
				w->rk, RD_KAFKA_V_RKT(w->rkt), RD_KAFKA_V_MSGFLAGS(msgflags()),
				RD_KAFKA_V_VALUE(buf, len), RD_KAFKA_V_KEY(key, sizeof(key) - 1),
				RD_KAFKA_V_HEADER("h1", "v1", 2), RD_KAFKA_V_HEADER("h2", "v2", -1),
				RD_KAFKA_V_END);
		return rd_kafka_producev(w->rk, RD_KAFKA_V_TOPIC(opt.topic),
					 RD_KAFKA_V_MSGFLAGS(msgflags()),
					 RD_KAFKA_V_VALUE(buf, len),
					 RD_KAFKA_V_KEY(key, sizeof(key) - 1), RD_KAFKA_V_END);
	case ENTRY_PRODUCEVA: {
		rd_kafka_vu_t vus[4] = {
			{.vtype = RD_KAFKA_VTYPE_TOPIC, .u.cstr = opt.topic},
			{.vtype = RD_KAFKA_VTYPE_MSGFLAGS, .u.i = msgflags()},
			{.vtype = RD_KAFKA_VTYPE_VALUE, .u.mem = {buf, len}},
			{.vtype = RD_KAFKA_VTYPE_KEY, .u.mem = {(void *)key, sizeof(key) - 1}},
		};
		error = rd_kafka_produceva(w->rk, vus, 4);
		if (error == NULL)
			return RD_KAFKA_RESP_ERR_NO_ERROR;
		err = rd_kafka_error_code(error);
		rd_kafka_error_destroy(error);
		return err;
	}
	default:
		return RD_KAFKA_RESP_ERR__INVALID_ARG;
	}
}

static char *payload_new(int thread, long i, char *scratch)
{
	char *buf = opt.payload == PAYLOAD_COPY ? scratch : malloc((size_t)opt.size);

	if (buf == NULL) {
		fprintf(stderr, "rf-producer: out of memory\n");
		exit(3);
	}
	payload_fill(buf, (size_t)opt.size, thread, i);
	return buf;
}

/* Produce with the retry every well-behaved producer does on a full queue. */
static void produce_single(struct worker *w, long first, long end)
{
	char *scratch = malloc((size_t)opt.size);

	for (long i = first; i < end; i++) {
		char *buf = payload_new(w->idx, i, scratch);
		uint64_t h = payload_hash(buf, (size_t)opt.size);
		rd_kafka_resp_err_t err;

		while ((err = produce_one(w, buf, (size_t)opt.size)) ==
		       RD_KAFKA_RESP_ERR__QUEUE_FULL) {
			add(&tot.retries, 1);
			if (opt.poll_thread) {
				struct timespec ms = {0, 1000000};
				nanosleep(&ms, NULL);
			} else {
				rd_kafka_poll(w->rk, 10);
			}
		}
		if (err) {
			add(&tot.produce_failed, 1);
			if (opt.payload != PAYLOAD_COPY)
				free(buf); /* a failed produce leaves the payload with us */
		} else {
			add(&tot.produced, 1);
			add(&tot.bytes, (uint64_t)opt.size);
			add(&tot.sum_produced, h);
		}
		if (!opt.poll_thread)
			rd_kafka_poll(w->rk, 0);
	}
	free(scratch);
}

static void produce_batches(struct worker *w, long first, long end)
{
	rd_kafka_message_t *msgs = calloc((size_t)opt.batch, sizeof(*msgs));
	char *scratch = malloc((size_t)opt.size * (size_t)opt.batch);

	for (long i = first; i < end;) {
		int n = (int)(end - i < opt.batch ? end - i : opt.batch);
		int ok;

		for (int k = 0; k < n; k++) {
			memset(&msgs[k], 0, sizeof(msgs[k]));
			msgs[k].payload =
				payload_new(w->idx, i + k, scratch + (size_t)k * (size_t)opt.size);
			msgs[k].len = (size_t)opt.size;
		}
		ok = rd_kafka_produce_batch(w->rkt, RD_KAFKA_PARTITION_UA, msgflags(), msgs, n);
		(void)ok;
		int next = n;
		for (int k = 0; k < n; k++) {
			if (msgs[k].err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
				/* Retry from the first refused message on. */
				add(&tot.retries, 1);
				if (opt.payload != PAYLOAD_COPY)
					for (int j = k; j < n; j++)
						free(msgs[j].payload);
				next = k;
				break;
			}
			if (msgs[k].err) {
				add(&tot.produce_failed, 1);
				if (opt.payload != PAYLOAD_COPY)
					free(msgs[k].payload);
			} else {
				add(&tot.produced, 1);
				add(&tot.bytes, (uint64_t)opt.size);
				/* The payload may already be freed (F_FREE): hash a fresh copy. */
				char *again = malloc((size_t)opt.size);
				payload_fill(again, (size_t)opt.size, w->idx, i + k);
				add(&tot.sum_produced, payload_hash(again, (size_t)opt.size));
				free(again);
			}
		}
		i += next;
		if (!opt.poll_thread)
			rd_kafka_poll(w->rk, next < n ? 10 : 0);
		else if (next < n)
			nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
	free(scratch);
	free(msgs);
}

/*
 * With --warmup: every producing thread's warm-up delivered, main starts the
 * clocks between the two waits.
 */
static pthread_barrier_t warm_done, timed_start;

static void produce_range(struct worker *w, long first, long end)
{
	if (opt.entry == ENTRY_BATCH)
		produce_batches(w, first, end);
	else
		produce_single(w, first, end);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	if (opt.warmup > 0) {
		produce_range(w, 0, opt.warmup);
		if (rd_kafka_flush(w->rk, (int)opt.flush_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
			fprintf(stderr, "rf-producer: thread %d: warm-up flush timed out\n",
				w->idx);
		pthread_barrier_wait(&warm_done);
		pthread_barrier_wait(&timed_start);
	}
	produce_range(w, opt.warmup, opt.warmup + opt.count);
	/* The thread that polls a handle serves its reports to the end: flush before leaving. */
	if (!opt.poll_thread &&
	    rd_kafka_flush(w->rk, (int)opt.flush_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
		fprintf(stderr, "rf-producer: thread %d: flush timed out\n", w->idx);
	return NULL;
}

/* A dedicated poller: serves one handle's delivery reports until told to stop. */
struct poller {
	rd_kafka_t *rk;
	pthread_t tid;
	int stop;
};

static void *poller_main(void *arg)
{
	struct poller *p = arg;

	while (!__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE))
		rd_kafka_poll(p->rk, 20);
	return NULL;
}

static int parse_long(const char *name, const char *v, long min, long max, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(v, &end, 10);
	if (errno || *end || end == v || *out < min || *out > max) {
		fprintf(stderr,
			"rf-producer: --%s \"%s\": expected a whole number from %ld to %ld\n", name,
			v, min, max);
		exit(2);
	}
	return 0;
}

/* A field of /proc/self/status in KiB (VmRSS, VmHWM), or 0. */
static long status_kib(const char *field)
{
	char line[256];
	long v = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, strlen(field)) == 0 && line[strlen(field)] == ':')
			v = strtol(line + strlen(field) + 1, NULL, 10);
	fclose(f);
	return v;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: rf-producer --bootstrap HOST:PORT [options]\n"
		"  --topic NAME           topic (default rf-test)\n"
		"  --count N              messages per thread (default 1000)\n"
		"  --warmup N             messages per thread produced and delivered before the\n"
		"                         timed run (default 0); msgs_per_s and timed count the\n"
		"                         timed run only\n"
		"  --size BYTES           payload size (default 100)\n"
		"  --entry E              produce | producev | produceva | batch (default "
		"produce)\n"
		"  --payload P            copy (F_COPY) | free (F_FREE) | none (no flag) (default "
		"copy)\n"
		"  --handles N            producer handles (default 1)\n"
		"  --threads N            producing threads, spread over the handles (default 1)\n"
		"  --batch N              messages per produce_batch call (default 100)\n"
		"  --headers              add two headers (producev only)\n"
		"  --linger-ms MS         stay alive this long after flushing, handles up (default 0)\n"
		"  --flush-ms MS          flush timeout (default 60000)\n"
		"  --poll-thread          one thread per handle polls; producers never do\n"
		"  --no-dr                no delivery callback (delivered counts stay 0)\n"
		"  --copy-max BYTES       set message.copy.max.bytes\n"
		"  -X NAME=VALUE          any librdkafka property (repeatable)\n"
		"Prints one JSON line: produced, produce_failed, delivered, dr_failed,\n"
		"retries, bytes and order-independent checksums.\n");
}

static void options_parse(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"bootstrap", required_argument, NULL, 'b'},
		{"topic", required_argument, NULL, 't'},
		{"count", required_argument, NULL, 'c'},
		{"warmup", required_argument, NULL, 'W'},
		{"size", required_argument, NULL, 's'},
		{"entry", required_argument, NULL, 'e'},
		{"payload", required_argument, NULL, 'p'},
		{"handles", required_argument, NULL, 'H'},
		{"threads", required_argument, NULL, 'T'},
		{"batch", required_argument, NULL, 'B'},
		{"headers", no_argument, NULL, 'h' + 256},
		{"linger-ms", required_argument, NULL, 'l'},
		{"flush-ms", required_argument, NULL, 'f'},
		{"poll-thread", no_argument, NULL, 'P'},
		{"no-dr", no_argument, NULL, 'N'},
		{"copy-max", required_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	long v;
	int c;

	while ((c = getopt_long(argc, argv, "hX:", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			opt.bootstrap = optarg;
			break;
		case 't':
			opt.topic = optarg;
			break;
		case 'c':
			parse_long("count", optarg, 0, 100000000, &opt.count);
			break;
		case 'W':
			parse_long("warmup", optarg, 0, 100000000, &opt.warmup);
			break;
		case 's':
			parse_long("size", optarg, 16, 64 << 20, &opt.size);
			break;
		case 'H':
			parse_long("handles", optarg, 1, 64, &v);
			opt.handles = (int)v;
			break;
		case 'T':
			parse_long("threads", optarg, 1, 256, &v);
			opt.threads = (int)v;
			break;
		case 'B':
			parse_long("batch", optarg, 1, 100000, &v);
			opt.batch = (int)v;
			break;
		case 'l':
			parse_long("linger-ms", optarg, 0, 3600000, &opt.linger_ms);
			break;
		case 'f':
			parse_long("flush-ms", optarg, 0, 3600000, &opt.flush_ms);
			break;
		case 'h' + 256:
			opt.headers = 1;
			break;
		case 'P':
			opt.poll_thread = 1;
			break;
		case 'N':
			opt.no_dr = 1;
			break;
		case 'C':
			opt.copy_max = optarg;
			break;
		case 'X':
			if (opt.nprops == (int)(sizeof(opt.props) / sizeof(opt.props[0]))) {
				fprintf(stderr, "rf-producer: too many -X\n");
				exit(2);
			}
			opt.props[opt.nprops++] = optarg;
			break;
		case 'e':
			if (!strcmp(optarg, "produce"))
				opt.entry = ENTRY_PRODUCE;
			else if (!strcmp(optarg, "producev"))
				opt.entry = ENTRY_PRODUCEV;
			else if (!strcmp(optarg, "produceva"))
				opt.entry = ENTRY_PRODUCEVA;
			else if (!strcmp(optarg, "batch"))
				opt.entry = ENTRY_BATCH;
			else {
				fprintf(stderr,
					"rf-producer: --entry \"%s\": expected produce, producev, "
					"produceva or batch\n",
					optarg);
				exit(2);
			}
			break;
		case 'p':
			if (!strcmp(optarg, "copy"))
				opt.payload = PAYLOAD_COPY;
			else if (!strcmp(optarg, "free"))
				opt.payload = PAYLOAD_FREE;
			else if (!strcmp(optarg, "none"))
				opt.payload = PAYLOAD_NONE;
			else {
				fprintf(stderr,
					"rf-producer: --payload \"%s\": expected copy, free or "
					"none\n",
					optarg);
				exit(2);
			}
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (opt.bootstrap == NULL || optind != argc) {
		usage(stderr);
		exit(2);
	}
}

int main(int argc, char **argv)
{
	rd_kafka_t **handles;
	struct worker *workers;
	struct poller *pollers;
	int unflushed = 0;

	options_parse(argc, argv);
	handles = calloc((size_t)opt.handles, sizeof(*handles));
	workers = calloc((size_t)opt.threads, sizeof(*workers));
	pollers = calloc((size_t)opt.handles, sizeof(*pollers));
	for (int h = 0; h < opt.handles; h++) {
		handles[h] = handle_new(h);
		if (opt.poll_thread) {
			pollers[h].rk = handles[h];
			pthread_create(&pollers[h].tid, NULL, poller_main, &pollers[h]);
		}
	}
	/* Idle: handles up and connected, nothing produced yet. */
	for (int h = 0; h < opt.handles; h++)
		rd_kafka_poll(handles[h], 100);
	long rss_idle = status_kib("VmRSS");
	struct timespec t0, t1, cpu0, cpu1;
	uint64_t warm_produced = 0;
	if (opt.warmup > 0) {
		pthread_barrier_init(&warm_done, NULL, (unsigned)opt.threads + 1);
		pthread_barrier_init(&timed_start, NULL, (unsigned)opt.threads + 1);
	} else {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu0);
	}
	for (int t = 0; t < opt.threads; t++) {
		workers[t].idx = t;
		workers[t].rk = handles[t % opt.handles];
		workers[t].rkt = rd_kafka_topic_new(workers[t].rk, opt.topic, NULL);
		pthread_create(&workers[t].tid, NULL, worker_main, &workers[t]);
	}
	if (opt.warmup > 0) {
		/* Every thread's warm-up delivered: the timed run starts from a steady state. */
		pthread_barrier_wait(&warm_done);
		warm_produced = __atomic_load_n(&tot.produced, __ATOMIC_RELAXED);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu0);
		pthread_barrier_wait(&timed_start);
	}
	for (int t = 0; t < opt.threads; t++)
		pthread_join(workers[t].tid, NULL);
	for (int h = 0; h < opt.handles && opt.poll_thread; h++) {
		__atomic_store_n(&pollers[h].stop, 1, __ATOMIC_RELEASE);
		pthread_join(pollers[h].tid, NULL);
	}
	for (int h = 0; h < opt.handles; h++)
		if (rd_kafka_flush(handles[h], (int)opt.flush_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
			unflushed += rd_kafka_outq_len(handles[h]);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu1);
	double elapsed = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	double cpu =
		(double)(cpu1.tv_sec - cpu0.tv_sec) + (double)(cpu1.tv_nsec - cpu0.tv_nsec) / 1e9;
	if (opt.linger_ms > 0) {
		struct timespec ts = {opt.linger_ms / 1000, (opt.linger_ms % 1000) * 1000000};
		nanosleep(&ts, NULL);
	}
	long rss_linger = status_kib("VmRSS"); /* handles still alive */
	for (int t = 0; t < opt.threads; t++)
		rd_kafka_topic_destroy(workers[t].rkt);
	/* The copy limit in force (a preloaded shim may have chosen it). */
	char copy_max[32] = "";
	size_t copy_max_len = sizeof(copy_max);
	if (rd_kafka_conf_get(rd_kafka_conf(handles[0]), "message.copy.max.bytes", copy_max,
			      &copy_max_len) != RD_KAFKA_CONF_OK)
		copy_max[0] = '\0';
	for (int h = 0; h < opt.handles; h++)
		rd_kafka_destroy(handles[h]);
	printf("{\"copy_max_bytes\":\"%s\",", copy_max);
	printf("\"produced\":%" PRIu64 ",\"produce_failed\":%" PRIu64 ",\"delivered\":%" PRIu64
	       ",\"dr_failed\":%" PRIu64 ",\"retries\":%" PRIu64 ",\"bytes\":%" PRIu64
	       ",\"unflushed\":%d,\"rss_idle_kib\":%ld,\"rss_peak_kib\":%ld,\"rss_linger_kib\":%ld,"
	       "\"elapsed_s\":%.3f,\"timed\":%" PRIu64 ","
	       "\"cpu_s\":%.3f,\"msgs_per_s\":%.0f,\"sum_produced\":\"%016" PRIx64
	       "\",\"sum_delivered\":\"%016" PRIx64 "\",\"sum_dr_failed\":\"%016" PRIx64 "\"}\n",
	       tot.produced, tot.produce_failed, tot.delivered, tot.dr_failed, tot.retries,
	       tot.bytes, unflushed, rss_idle, status_kib("VmHWM"), rss_linger, elapsed,
	       tot.produced - warm_produced, cpu,
	       elapsed > 0 ? (double)(tot.produced - warm_produced) / elapsed : 0.0,
	       tot.sum_produced, tot.sum_delivered, tot.sum_dr_failed);
	free(pollers);
	free(workers);
	free(handles);
	return unflushed ? 1 : 0;
}
