/*
 * hook_exit.c - interposers that see how the process ends.
 *
 * Return from main() reaches exit() inside libc, past any PLT, so main is
 * wrapped through __libc_start_main to see its return value. exit() called
 * by the program is seen directly; _exit(), _Exit() and quick_exit() skip
 * atexit handlers and destructors, so they mark the segment themselves
 * (quick_exit's own handlers then run, and it ends in libc's _exit, past any
 * PLT).
 */
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rf_real.h"
#include "rf_log.h"
#include "rf_shim.h"

/* glibc's start-up entry point: declared by no header. */
int __libc_start_main(int (*main)(int, char **, char **), int argc, char **argv, void (*init)(void),
		      void (*fini)(void), void (*rtld_fini)(void), void *stack_end);

static int (*rf_main_real)(int, char **, char **);

static int rf_main_wrapper(int argc, char **argv, char **envp)
{
	int status = rf_main_real(argc, argv, envp);

	rf_shim_exit_record(status);
	return status;
}

RF_EXPORT int __libc_start_main(int (*main)(int, char **, char **), int argc, char **argv,
				void (*init)(void), void (*fini)(void), void (*rtld_fini)(void),
				void *stack_end)
{
	rf_real___libc_start_main_fn real = RF_REAL(__libc_start_main);

	rf_main_real = main;
	return real(rf_main_wrapper, argc, argv, init, fini, rtld_fini, stack_end);
}

/* When libc's own symbol cannot be found the process still has to end. */
__attribute__((noreturn)) static void rf_exit_fallback(int status)
{
	syscall(SYS_exit_group, status);
	__builtin_unreachable();
}

RF_EXPORT void exit(int status)
{
	rf_real_exit_fn real = RF_REAL(exit);

	rf_shim_exit_record(status);
	if (real != NULL)
		real(status);
	rf_exit_fallback(status);
}

RF_EXPORT void _exit(int status)
{
	rf_real__exit_fn real = RF_REAL(_exit);

	rf_shim_exit_now(status);
	if (real != NULL)
		real(status);
	rf_exit_fallback(status);
}

RF_EXPORT void quick_exit(int status)
{
	rf_real_quick_exit_fn real = RF_REAL(quick_exit);

	rf_shim_exit_now(status);
	if (real != NULL)
		real(status);
	rf_exit_fallback(status);
}

RF_EXPORT void _Exit(int status)
{
	rf_real__Exit_fn real = RF_REAL(_Exit);

	rf_shim_exit_now(status);
	if (real != NULL)
		real(status);
	rf_exit_fallback(status);
}
