/*
 * rf-unwind-app: a C program that runs C++ code (librf-unwind-part.so) and
 * unwinds through its frames three ways: a C++ exception caught in C++, a
 * thread that calls pthread_exit from a C++ frame, a thread cancelled while
 * blocked in a C++ frame. Prints each outcome and how many C++ destructors
 * ran; exits 0 when all three ran and the values came through.
 *
 *   rf-unwind-app PATH_OF_THE_PART   loads the part by dlopen, as Python
 *                                    loads a C++ extension
 *   rf-unwind-app-linked             the same program linked to the part
 *
 * Neither links libstdc++ or libgcc_s itself: they come with the part.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

struct part {
	int (*destroyed)(void);
	int (*throw_)(void);
	void *(*exit_)(void *);
	void *(*block)(void *);
};

#ifdef RF_UNWIND_LINKED
int part_destroyed(void);
int part_throw(void);
void *part_exit(void *);
void *part_block(void *);

static int part_load(int argc, char **argv, struct part *p)
{
	(void)argv;
	*p = (struct part){part_destroyed, part_throw, part_exit, part_block};
	return argc == 1 ? 0 : -1;
}
#else
static int part_load(int argc, char **argv, struct part *p)
{
	void *h;

	if (argc != 2)
		return -1;
	h = dlopen(argv[1], RTLD_NOW);
	if (h == NULL) {
		fprintf(stderr, "rf-unwind-app: %s\n", dlerror());
		return -1;
	}
	*(void **)&p->destroyed = dlsym(h, "part_destroyed");
	*(void **)&p->throw_ = dlsym(h, "part_throw");
	*(void **)&p->exit_ = dlsym(h, "part_exit");
	*(void **)&p->block = dlsym(h, "part_block");
	return p->destroyed && p->throw_ && p->exit_ && p->block ? 0 : -1;
}
#endif

int main(int argc, char **argv)
{
	static char token;
	struct part p;
	pthread_t th;
	void *ret = NULL;

	if (part_load(argc, argv, &p) != 0) {
		fprintf(stderr, "usage: rf-unwind-app PATH_OF_THE_PART | rf-unwind-app-linked\n");
		return 2;
	}
	printf("throw caught %d\n", p.throw_());
	fflush(stdout);
	if (pthread_create(&th, NULL, p.exit_, &token) != 0 || pthread_join(th, &ret) != 0)
		return 1;
	printf("pthread_exit %s\n", ret == &token ? "returned its value" : "lost its value");
	fflush(stdout);
	if (pthread_create(&th, NULL, p.block, NULL) != 0 || pthread_cancel(th) != 0 ||
	    pthread_join(th, &ret) != 0)
		return 1;
	printf("cancel %s\n", ret == PTHREAD_CANCELED ? "cancelled" : "not cancelled");
	printf("destructors %d\n", p.destroyed());
	return p.destroyed() == 3 && ret == PTHREAD_CANCELED ? 0 : 1;
}
