/*
 * rf-cancel-app: a thread with a cancel pending (deferred, enabled) calls
 * what is not a cancellation point, so that a test can tell whether the
 * shim made it one. Each mode prints what happened and exits 0 when the
 * thread was not cancelled there (exit: with status 3, from the thread).
 *
 *   create  pthread_create (the shim captures the creation stack)
 *   fork    fork; the child exits 7, the parent checks it (the shim's
 *           fork handlers make the child a segment of its own)
 *   exit    exit(3) (the shim's destructor publishes the final figures)
 *   sample  a critical section without cancellation points, 2 s long,
 *           holding a mutex; prints "ready" so that a test can ask for the
 *           current stacks (`ringfence threads PID`) meanwhile
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t app_lock = PTHREAD_MUTEX_INITIALIZER;

static void *noop(void *arg)
{
	return arg;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *victim(void *arg)
{
	const char *mode = arg;

	pthread_cancel(pthread_self()); /* pending until a cancellation point */
	if (strcmp(mode, "create") == 0) {
		pthread_t t;

		if (pthread_create(&t, NULL, noop, NULL) != 0)
			return (void *)"pthread_create failed";
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		pthread_join(t, NULL);
	} else if (strcmp(mode, "fork") == 0) {
		int status = 0;
		pid_t pid = fork();

		if (pid == 0)
			_exit(7);
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 7)
			return (void *)"the fork child did not exit 7";
	} else if (strcmp(mode, "exit") == 0) {
		exit(3);
	} else if (strcmp(mode, "sample") == 0) {
		long long end = now_ms() + 2000;

		pthread_mutex_lock(&app_lock);
		/* stdio may write: a cancellation point, kept from acting here. */
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		printf("ready\n");
		fflush(stdout);
		pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
		while (now_ms() < end)
			;
		pthread_mutex_unlock(&app_lock);
	}
	return (void *)"ok";
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	void *ret = NULL;
	pthread_t t;

	if (strcmp(mode, "create") != 0 && strcmp(mode, "fork") != 0 && strcmp(mode, "exit") != 0 &&
	    strcmp(mode, "sample") != 0) {
		fprintf(stderr, "usage: rf-cancel-app create|fork|exit|sample\n");
		return 2;
	}
	pthread_create(&t, NULL, victim, (void *)mode);
	pthread_join(t, &ret);
	if (ret == PTHREAD_CANCELED) {
		printf("%s: the thread was cancelled inside it\n", mode);
		return 1;
	}
	if (strcmp(mode, "exit") == 0) {
		printf("exit: exit(3) returned to the process\n");
		return 1;
	}
	if (pthread_mutex_trylock(&app_lock) != 0) {
		printf("%s: the application's lock is still held\n", mode);
		return 1;
	}
	printf("%s: %s\n", mode, (const char *)ret);
	return strcmp((const char *)ret, "ok") == 0 ? 0 : 1;
}
