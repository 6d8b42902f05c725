/*
 * rf_producer_cpp.cc - a librdkafka++ producer that accounts for every message.
 *
 * The C++ counterpart of rf_producer.c, run under the shim by the no-loss
 * end-to-end tests. It produces through one of the two produce paths of
 * RdKafka::Producer that reach different C entry points in librdkafka++:
 *
 *   --entry produce   produce(Topic *, ...)                -> rd_kafka_produce
 *   --entry producev  produce(topic name, ..., Headers *)  -> rd_kafka_producev
 *
 * counts delivery reports through a DeliveryReportCb, retries a message the
 * producer refuses with ERR__QUEUE_FULL after polling, and prints one JSON
 * line with the same fields and checksums as rf_producer.c (FNV-1a 64 of
 * each payload, summed mod 2^64; payload i of thread t is "<t>:<i>:" then
 * filler up to --size bytes), so one verifier serves both programs.
 */
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <getopt.h>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

namespace
{

enum class Entry {
	produce,
	producev
};
enum class Payload {
	copy,
	free_,
	none
};

struct Options {
	std::string bootstrap;
	std::string topic = "rf-test";
	long count = 1000;
	long size = 100;
	Entry entry = Entry::produce;
	Payload payload = Payload::copy;
	int threads = 1;
	bool poll_thread = false;
	long flush_ms = 60000;
	long rate = 0;      /* messages per second per thread; 0: as fast as accepted */
	std::string dr_log; /* one line per failed delivery report */
	std::vector<std::pair<std::string, std::string>> conf;
} opt;

/* Totals, updated from producer threads and the delivery callback. */
struct Totals {
	std::atomic<uint64_t> produced{0}, produce_failed{0}, retries{0}, bytes{0};
	std::atomic<uint64_t> delivered{0}, dr_failed{0};
	std::atomic<uint64_t> sum_produced{0}, sum_delivered{0}, sum_dr_failed{0};
	std::mutex lock;
	std::map<std::string, uint64_t> dr_errors; /* failed reports by error name */
	uint64_t dr_failed_possibly_persisted = 0;
	FILE *dr_log = nullptr;
} tot;

const char *status_name(RdKafka::Message::Status status)
{
	switch (status) {
	case RdKafka::Message::MSG_STATUS_NOT_PERSISTED:
		return "NOT_PERSISTED";
	case RdKafka::Message::MSG_STATUS_POSSIBLY_PERSISTED:
		return "POSSIBLY_PERSISTED";
	case RdKafka::Message::MSG_STATUS_PERSISTED:
		return "PERSISTED";
	default:
		return "UNKNOWN";
	}
}

/* "<thread>:<i>" of a generated payload, for the failed-report log. */
std::string payload_id(const void *p, size_t len)
{
	const char *b = static_cast<const char *>(p);
	size_t colons = 0, n = 0;

	while (n < len && (b[n] != ':' || ++colons < 2))
		n++;
	return std::string(b, n);
}

/* FNV-1a; summed over messages the total does not depend on order. */
uint64_t payload_hash(const void *p, size_t len)
{
	const unsigned char *b = static_cast<const unsigned char *>(p);
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

/* The same bytes as rf_producer.c's payload_fill. */
void payload_fill(char *buf, size_t size, int thread, long i)
{
	int n = snprintf(buf, size, "%d:%ld:", thread, i);

	for (size_t k = static_cast<size_t>(n < 0 ? 0 : n); k < size; k++)
		buf[k] = static_cast<char>('a' + (k + static_cast<size_t>(i)) % 26);
}

class DeliveryReport : public RdKafka::DeliveryReportCb
{
      public:
	void dr_cb(RdKafka::Message &m) override
	{
		uint64_t h = payload_hash(m.payload(), m.len());

		if (m.err() != RdKafka::ERR_NO_ERROR) {
			tot.dr_failed++;
			tot.sum_dr_failed += h;
			const char *name =
				rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(m.err()));
			std::lock_guard<std::mutex> g(tot.lock);
			tot.dr_errors[name]++;
			/* Sent, then put back in the queue after the connection dropped:
			 * the broker may hold it although the report is a failure. */
			if (m.status() == RdKafka::Message::MSG_STATUS_POSSIBLY_PERSISTED)
				tot.dr_failed_possibly_persisted++;
			if (tot.dr_log != nullptr)
				fprintf(tot.dr_log, "%s %s %s\n", name, status_name(m.status()),
					payload_id(m.payload(), m.len()).c_str());
		} else {
			tot.delivered++;
			tot.sum_delivered += h;
		}
		/* No ownership flag: the buffer stayed ours until this report. */
		if (opt.payload == Payload::none)
			std::free(m.payload());
	}
};

int msgflags()
{
	switch (opt.payload) {
	case Payload::copy:
		return RdKafka::Producer::RK_MSG_COPY;
	case Payload::free_:
		return RdKafka::Producer::RK_MSG_FREE;
	default:
		return 0;
	}
}

struct Worker {
	int idx;
	RdKafka::Producer *producer;
	RdKafka::Topic *topic;
};

/* One message through the chosen produce path. */
RdKafka::ErrorCode produce_one(Worker &w, char *buf, size_t len)
{
	static const char key[] = "key";

	if (opt.entry == Entry::produce)
		return w.producer->produce(w.topic, RdKafka::Topic::PARTITION_UA, msgflags(), buf,
					   len, key, sizeof(key) - 1, nullptr);

	RdKafka::Headers *headers = RdKafka::Headers::create();
	headers->add("h1", "v1");
	headers->add("h2", std::string("value-2"));
	RdKafka::ErrorCode err =
		w.producer->produce(opt.topic, RdKafka::Topic::PARTITION_UA, msgflags(), buf, len,
				    key, sizeof(key) - 1, 0, headers, nullptr);
	/* Taken (and deleted) by librdkafka++ on success only. */
	if (err != RdKafka::ERR_NO_ERROR)
		delete headers;
	return err;
}

void produce_all(Worker &w)
{
	std::vector<char> scratch(static_cast<size_t>(opt.size));
	size_t size = static_cast<size_t>(opt.size);
	auto start = std::chrono::steady_clock::now();

	for (long i = 0; i < opt.count; i++) {
		if (opt.rate > 0) /* message i is due at i / rate seconds */
			std::this_thread::sleep_until(
				start + std::chrono::microseconds(i * 1000000 / opt.rate));
		char *buf = opt.payload == Payload::copy ? scratch.data()
							 : static_cast<char *>(std::malloc(size));
		if (buf == nullptr) {
			fprintf(stderr, "rf-producer-cpp: out of memory\n");
			std::exit(3);
		}
		payload_fill(buf, size, w.idx, i);
		uint64_t h = payload_hash(buf, size);
		RdKafka::ErrorCode err;

		while ((err = produce_one(w, buf, size)) == RdKafka::ERR__QUEUE_FULL) {
			tot.retries++;
			if (opt.poll_thread)
				std::this_thread::sleep_for(std::chrono::milliseconds(1));
			else
				w.producer->poll(10);
		}
		if (err != RdKafka::ERR_NO_ERROR) {
			tot.produce_failed++;
			fprintf(stderr, "rf-producer-cpp: produce: %s\n",
				RdKafka::err2str(err).c_str());
			if (opt.payload != Payload::copy)
				std::free(buf); /* a failed produce leaves the payload with us */
		} else {
			tot.produced++;
			tot.bytes += size;
			tot.sum_produced += h;
		}
		if (!opt.poll_thread)
			w.producer->poll(0);
	}
}

long parse_long(const char *name, const char *v, long min, long max)
{
	char *end;

	errno = 0;
	long out = std::strtol(v, &end, 10);
	if (errno || *end || end == v || out < min || out > max) {
		fprintf(stderr,
			"rf-producer-cpp: --%s \"%s\": expected a whole number from %ld to %ld\n",
			name, v, min, max);
		std::exit(2);
	}
	return out;
}

void usage(FILE *f)
{
	fprintf(f,
		"usage: rf-producer-cpp --bootstrap HOST:PORT [options]\n"
		"  --topic NAME        topic (default rf-test)\n"
		"  --count N           messages per thread (default 1000)\n"
		"  --size BYTES        payload size (default 100)\n"
		"  --entry E           produce: Producer::produce(Topic *) (rd_kafka_produce);\n"
		"                      producev: Producer::produce(topic name, headers)\n"
		"                      (rd_kafka_producev) (default produce)\n"
		"  --payload P         copy (RK_MSG_COPY) | free (RK_MSG_FREE) | none (default "
		"copy)\n"
		"  --threads N         producing threads sharing one producer (default 1)\n"
		"  --poll-thread       one thread polls; producers never do\n"
		"  --flush-ms MS       flush timeout (default 60000)\n"
		"  --rate N            at most N messages per second per thread (default: no "
		"limit)\n"
		"  --dr-log FILE       write \"<error name> <message status> <thread>:<i>\" for\n"
		"                      each failed delivery report\n"
		"  -X KEY=VALUE        a librdkafka property (repeatable)\n"
		"Prints one JSON line like rf-producer: produced, produce_failed, delivered,\n"
		"dr_failed, retries, bytes and order-independent checksums.\n");
}

void options_parse(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"bootstrap", required_argument, nullptr, 'b'},
		{"topic", required_argument, nullptr, 't'},
		{"count", required_argument, nullptr, 'c'},
		{"size", required_argument, nullptr, 's'},
		{"entry", required_argument, nullptr, 'e'},
		{"payload", required_argument, nullptr, 'p'},
		{"threads", required_argument, nullptr, 'T'},
		{"poll-thread", no_argument, nullptr, 'P'},
		{"flush-ms", required_argument, nullptr, 'f'},
		{"rate", required_argument, nullptr, 'r'},
		{"dr-log", required_argument, nullptr, 'L'},
		{"help", no_argument, nullptr, 'h'},
		{nullptr, 0, nullptr, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "hX:", longopts, nullptr)) != -1) {
		switch (c) {
		case 'b':
			opt.bootstrap = optarg;
			break;
		case 't':
			opt.topic = optarg;
			break;
		case 'c':
			opt.count = parse_long("count", optarg, 0, 100000000);
			break;
		case 's':
			opt.size = parse_long("size", optarg, 16, 64 << 20);
			break;
		case 'T':
			opt.threads = static_cast<int>(parse_long("threads", optarg, 1, 256));
			break;
		case 'P':
			opt.poll_thread = true;
			break;
		case 'f':
			opt.flush_ms = parse_long("flush-ms", optarg, 0, 3600000);
			break;
		case 'r':
			opt.rate = parse_long("rate", optarg, 1, 10000000);
			break;
		case 'L':
			opt.dr_log = optarg;
			break;
		case 'e':
			if (!std::strcmp(optarg, "produce")) {
				opt.entry = Entry::produce;
			} else if (!std::strcmp(optarg, "producev")) {
				opt.entry = Entry::producev;
			} else {
				fprintf(stderr,
					"rf-producer-cpp: --entry \"%s\": expected produce or "
					"producev\n",
					optarg);
				std::exit(2);
			}
			break;
		case 'p':
			if (!std::strcmp(optarg, "copy")) {
				opt.payload = Payload::copy;
			} else if (!std::strcmp(optarg, "free")) {
				opt.payload = Payload::free_;
			} else if (!std::strcmp(optarg, "none")) {
				opt.payload = Payload::none;
			} else {
				fprintf(stderr,
					"rf-producer-cpp: --payload \"%s\": expected copy, free or "
					"none\n",
					optarg);
				std::exit(2);
			}
			break;
		case 'X': {
			const char *eq = std::strchr(optarg, '=');
			if (eq == nullptr || eq == optarg) {
				fprintf(stderr, "rf-producer-cpp: -X \"%s\": expected KEY=VALUE\n",
					optarg);
				std::exit(2);
			}
			opt.conf.emplace_back(std::string(optarg, static_cast<size_t>(eq - optarg)),
					      std::string(eq + 1));
			break;
		}
		case 'h':
			usage(stdout);
			std::exit(0);
		default:
			usage(stderr);
			std::exit(2);
		}
	}
	if (opt.bootstrap.empty() || optind != argc) {
		usage(stderr);
		std::exit(2);
	}
}

void conf_set(RdKafka::Conf *conf, const std::string &name, const std::string &value)
{
	std::string err;

	if (conf->set(name, value, err) != RdKafka::Conf::CONF_OK) {
		fprintf(stderr, "rf-producer-cpp: %s=%s: %s\n", name.c_str(), value.c_str(),
			err.c_str());
		std::exit(2);
	}
}

/* The failed reports as JSON members: "<error name>":count,... */
std::string dr_errors_json()
{
	std::string out;

	for (const auto &e : tot.dr_errors) {
		char n[32];
		snprintf(n, sizeof(n), "%" PRIu64, e.second);
		out += (out.empty() ? "\"" : ",\"") + e.first + "\":" + n;
	}
	return out;
}

} // namespace

int main(int argc, char **argv)
{
	DeliveryReport dr;
	std::string err;
	std::atomic<bool> stop{false};
	int unflushed = 0;

	options_parse(argc, argv);
	if (!opt.dr_log.empty() && (tot.dr_log = fopen(opt.dr_log.c_str(), "w")) == nullptr) {
		fprintf(stderr, "rf-producer-cpp: %s: %s\n", opt.dr_log.c_str(), strerror(errno));
		return 2;
	}

	std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
	conf_set(conf.get(), "bootstrap.servers", opt.bootstrap);
	conf_set(conf.get(), "client.id", "rf-producer-cpp");
	conf_set(conf.get(), "acks", "all");
	conf_set(conf.get(), "linger.ms", "5");
	for (const auto &kv : opt.conf)
		conf_set(conf.get(), kv.first, kv.second);
	if (conf->set("dr_cb", &dr, err) != RdKafka::Conf::CONF_OK) {
		fprintf(stderr, "rf-producer-cpp: dr_cb: %s\n", err.c_str());
		return 2;
	}
	std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), err));
	if (!producer) {
		fprintf(stderr, "rf-producer-cpp: Producer::create: %s\n", err.c_str());
		return 2;
	}
	std::unique_ptr<RdKafka::Topic> topic(
		RdKafka::Topic::create(producer.get(), opt.topic, nullptr, err));
	if (!topic) {
		fprintf(stderr, "rf-producer-cpp: Topic::create: %s\n", err.c_str());
		return 2;
	}

	std::thread poller;
	if (opt.poll_thread)
		poller = std::thread([&] {
			while (!stop.load(std::memory_order_acquire))
				producer->poll(20);
		});

	std::vector<Worker> workers;
	std::vector<std::thread> threads;
	for (int t = 0; t < opt.threads; t++)
		workers.push_back(Worker{t, producer.get(), topic.get()});
	for (auto &w : workers)
		threads.emplace_back(produce_all, std::ref(w));
	for (auto &t : threads)
		t.join();
	if (poller.joinable()) {
		stop.store(true, std::memory_order_release);
		poller.join();
	}
	if (producer->flush(static_cast<int>(opt.flush_ms)) != RdKafka::ERR_NO_ERROR)
		unflushed = producer->outq_len();
	topic.reset();
	producer.reset();

	printf("{\"produced\":%" PRIu64 ",\"produce_failed\":%" PRIu64 ",\"delivered\":%" PRIu64
	       ",\"dr_failed\":%" PRIu64 ",\"retries\":%" PRIu64 ",\"bytes\":%" PRIu64
	       ",\"unflushed\":%d,\"sum_produced\":\"%016" PRIx64
	       "\",\"sum_delivered\":\"%016" PRIx64 "\",\"sum_dr_failed\":\"%016" PRIx64
	       "\",\"dr_failed_possibly_persisted\":%" PRIu64 ",\"dr_errors\":{%s}}\n",
	       tot.produced.load(), tot.produce_failed.load(), tot.delivered.load(),
	       tot.dr_failed.load(), tot.retries.load(), tot.bytes.load(), unflushed,
	       tot.sum_produced.load(), tot.sum_delivered.load(), tot.sum_dr_failed.load(),
	       tot.dr_failed_possibly_persisted, dr_errors_json().c_str());
	if (tot.dr_log != nullptr)
		fclose(tot.dr_log);
	return unflushed ? 1 : 0;
}
