/*
 * librf-unwind-part.so: C++ code that a C program (rf-unwind-app) loads by
 * dlopen or links, the way Python loads a C++ extension. Each function
 * leaves a frame whose destructor must run while something unwinds through
 * it: a C++ exception, pthread_exit, or cancellation (the last two are
 * glibc's forced unwinding through libgcc_s).
 */
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>

namespace
{
std::atomic<int> destroyed{0};

struct Guard {
	~Guard()
	{
		destroyed++;
	}
};
} // namespace

extern "C" int part_destroyed(void)
{
	return destroyed.load();
}

extern "C" int part_throw(void)
{
	try {
		Guard g;
		throw std::runtime_error("thrown");
	} catch (const std::runtime_error &) {
		return 1;
	}
	return 0;
}

extern "C" void *part_exit(void *arg)
{
	Guard g;
	pthread_exit(arg);
}

extern "C" void *part_block(void *arg)
{
	Guard g;
	for (;;)
		pause(); // a cancellation point
	return arg;
}
