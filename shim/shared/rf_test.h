/*
 * rf_test.h - a minimal TAP harness for the unit tests.
 *
 * RF_TEST(name) defines a test; RF_TEST_MAIN(list...) runs each in its own
 * forked process (a crash fails one test, not the run) and prints TAP, which
 * meson counts per test.
 */
#ifndef RF_TEST_H
#define RF_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define RF_TEST(name) static void rf_test_##name(void)

#define RF_CHECK(cond)                                                                             \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("# %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);          \
			fflush(stdout);                                                            \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

#define RF_CHECK_INT(a, b)                                                                         \
	do {                                                                                       \
		long long rf_a_ = (long long)(a), rf_b_ = (long long)(b);                          \
		if (rf_a_ != rf_b_) {                                                              \
			printf("# %s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__,   \
			       #a, rf_a_, #b, rf_b_);                                              \
			fflush(stdout);                                                            \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

#define RF_CHECK_STR(a, b)                                                                         \
	do {                                                                                       \
		const char *rf_a_ = (a), *rf_b_ = (b);                                             \
		if (strcmp(rf_a_, rf_b_) != 0) {                                                   \
			printf("# %s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a, \
			       rf_a_, rf_b_);                                                      \
			fflush(stdout);                                                            \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

/*
 * Under ThreadSanitizer every byte a test copies is also recorded in shadow
 * memory: a loop over large copies runs about twenty times slower than in a
 * plain build. A long loop of one thread, there to meet many inputs rather
 * than threads, runs RF_TEST_ROUNDS(n) rounds: n, or a tenth of n under TSan,
 * which is there for what threads do to each other. Assertions on a count of
 * rounds are written in terms of the rounds run.
 */
#if defined(__SANITIZE_THREAD__)
#define RF_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RF_TEST_TSAN 1
#endif
#endif
#ifndef RF_TEST_TSAN
#define RF_TEST_TSAN 0
#endif
#define RF_TEST_ROUNDS(n) (RF_TEST_TSAN ? (n) / 10 : (n))

/* A sanitizer's allocator stands in for glibc's (tests of glibc's own behaviour skip). */
#if defined(__SANITIZE_ADDRESS__)
#define RF_TEST_SANITIZED_HEAP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RF_TEST_SANITIZED_HEAP 1
#endif
#endif
#ifndef RF_TEST_SANITIZED_HEAP
#define RF_TEST_SANITIZED_HEAP RF_TEST_TSAN
#endif

/* End the test as skipped (TAP "# SKIP"), saying why. */
#define RF_TEST_SKIP_STATUS 77
#define RF_SKIP(why)                                                                               \
	do {                                                                                       \
		printf("# skipped: %s\n", why);                                                    \
		fflush(stdout);                                                                    \
		exit(RF_TEST_SKIP_STATUS);                                                         \
	} while (0)

struct rf_test_case {
	const char *name;
	void (*fn)(void);
};

#define RF_TEST_ENTRY(name)                                                                        \
	{                                                                                          \
#name, rf_test_##name                                                              \
	}

static inline int rf_test_run(const struct rf_test_case *cases, int n)
{
	int failed = 0;

	printf("1..%d\n", n);
	fflush(stdout);
	for (int i = 0; i < n; i++) {
		int status = 0;
		pid_t pid = fork();

		if (pid == 0) {
			cases[i].fn();
			fflush(stdout);
			_exit(0);
		}
		waitpid(pid, &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			printf("ok %d - %s\n", i + 1, cases[i].name);
		} else if (WIFEXITED(status) && WEXITSTATUS(status) == RF_TEST_SKIP_STATUS) {
			printf("ok %d - %s # SKIP\n", i + 1, cases[i].name);
		} else {
			failed++;
			if (WIFSIGNALED(status))
				printf("# killed by signal %d\n", WTERMSIG(status));
			printf("not ok %d - %s\n", i + 1, cases[i].name);
		}
		fflush(stdout);
	}
	return failed ? 1 : 0;
}

#define RF_TEST_MAIN(...)                                                                          \
	int main(void)                                                                             \
	{                                                                                          \
		static const struct rf_test_case cases[] = {__VA_ARGS__};                          \
		return rf_test_run(cases, (int)(sizeof(cases) / sizeof(cases[0])));                \
	}

#endif /* RF_TEST_H */
