// rf_threads_cxx.cpp - rf-threads-cxx: a C++ std::thread leak.
//
// app::Server::start_listeners starts --workers std::threads per call that
// wait on a condition nobody signals, and detaches them (so no
// std::terminate): they never end. Called --calls times, --interval-ms
// apart. With --fixed the condition is signalled and every thread joined.
// The start routine of every std::thread is libstdc++'s trampoline, so only
// the creation stack tells these threads apart. Prints "ready" when done,
// stays --linger-ms, returns 0.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace app
{

class Server
{
      public:
	void start_listeners(int n, bool keep);
	void stop_all();

      private:
	static void listen_forever(int id);
	// Never destroyed: glibc's pthread_cond_destroy at exit would wait for the
	// leaked waiters for ever.
	static std::mutex &mu_;
	static std::condition_variable &cv_;
	static bool stop_;
	std::vector<std::thread> kept_;
};

std::mutex &Server::mu_ = *new std::mutex;
std::condition_variable &Server::cv_ = *new std::condition_variable;
bool Server::stop_ = false;

void Server::listen_forever(int id)
{
	std::unique_lock<std::mutex> lock(mu_);
	cv_.wait(lock, [] { return stop_; });
	(void)id;
}

__attribute__((noinline)) void Server::start_listeners(int n, bool keep)
{
	for (int i = 0; i < n; i++) {
		std::thread t(listen_forever, i);
		if (keep)
			kept_.push_back(std::move(t));
		else
			t.detach(); // the bug: nobody will ever wake it
	}
}

void Server::stop_all()
{
	{
		std::lock_guard<std::mutex> lock(mu_);
		stop_ = true;
	}
	cv_.notify_all();
	for (auto &t : kept_)
		t.join();
	kept_.clear();
}

} // namespace app

int main(int argc, char **argv)
{
	int calls = 3, interval_ms = 200, workers = 4, linger_ms = 0;
	bool fixed = false;

	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		auto value = [&](int &out) {
			if (i + 1 >= argc) {
				std::fprintf(stderr, "rf-threads-cxx: %s needs a value\n",
					     a.c_str());
				std::exit(2);
			}
			out = std::atoi(argv[++i]);
		};
		if (a == "--fixed")
			fixed = true;
		else if (a == "--calls")
			value(calls);
		else if (a == "--interval-ms")
			value(interval_ms);
		else if (a == "--workers")
			value(workers);
		else if (a == "--linger-ms")
			value(linger_ms);
		else {
			std::fprintf(stderr, "usage: rf-threads-cxx [--fixed] [--calls N] "
					     "[--interval-ms MS] [--workers N] [--linger-ms MS]\n");
			return 2;
		}
	}
	app::Server server;
	for (int c = 0; c < calls; c++) {
		server.start_listeners(workers, fixed);
		if (c + 1 < calls)
			std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
	}
	if (fixed)
		server.stop_all();
	std::printf("ready\n");
	std::fflush(stdout);
	std::this_thread::sleep_for(std::chrono::milliseconds(linger_ms));
	return 0;
}
