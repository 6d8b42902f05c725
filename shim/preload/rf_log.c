/*
 * rf_log.c - the shim's one line on stderr.
 */
#include "rf_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void rf_log(const char *fmt, ...)
{
	char line[512];
	int saved = errno, cancel_state;
	va_list ap;
	int n;

	memcpy(line, "ringfence: ", 11);
	va_start(ap, fmt);
	n = vsnprintf(line + 11, sizeof(line) - 12, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	n += 11;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* Best effort: a closed stderr must not disturb the host. Not a
	 * cancellation point either: callers may hold a lock (the exit report). */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		errno = saved;
	pthread_setcancelstate(cancel_state, NULL);
	errno = saved;
}
