/*
 * test_go_child.h - the target of the goroutine reader's unit tests: a child
 * that holds the memory the test prepared (a copy, or the same pages when
 * they are shared) and waits, doing nothing else, until the test lets it go.
 */
#ifndef TEST_GO_CHILD_H
#define TEST_GO_CHILD_H

#include <sys/wait.h>
#include <unistd.h>

#include "rf_test.h"

/* Fork the child; *hold is the pipe whose closing ends it. */
static inline pid_t test_child_start(int *hold)
{
	int pipefd[2];
	pid_t pid;
	char c;

	RF_CHECK(pipe(pipefd) == 0);
	pid = fork();
	RF_CHECK(pid >= 0);
	if (pid == 0) {
		close(pipefd[1]);
		while (read(pipefd[0], &c, 1) > 0)
			;
		_exit(0);
	}
	close(pipefd[0]);
	*hold = pipefd[1];
	return pid;
}

/* Let the child go and reap it: its pid then names no process. */
static inline void test_child_end(pid_t pid, int hold)
{
	close(hold);
	RF_CHECK(waitpid(pid, NULL, 0) == pid);
}

#endif /* TEST_GO_CHILD_H */
