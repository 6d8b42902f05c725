/*
 * test_stack_memo.c - the creation-stack memo against plain walks: every
 * capture, served from the memo or not, must equal a plain libunwind walk of
 * the same stack, while repeated stacks are served from the memo; callers
 * that differ at the same depth, varying alloca depths, what rbp holds with
 * and without a frame pointer, a coroutine's stack and another thread's
 * stack.
 */
#define _GNU_SOURCE
#include <alloca.h>
#include <stdbool.h>
#include <pthread.h>
#include <string.h>
#include <ucontext.h>

#include "rf_shm.h"
#include "rf_stack_memo.h"
#include "rf_test.h"

extern void *__libc_stack_end;

struct capture {
	uintptr_t frames[RF_SHM_THREAD_FRAMES];
	int n;
};

/* The window of the calling thread's own stack top (the main thread's, or one set below). */
static __thread uintptr_t top_lo, top_hi;

static void window_main(void)
{
	top_hi = (uintptr_t)__libc_stack_end;
	top_lo = top_hi - 4096;
}

/* One call site for both kinds, so that both see the same frames. */
static __attribute__((noinline)) void capture(struct capture *c, int memo)
{
	c->n = rf_stack_capture(c->frames, 0, 0, memo ? top_lo : 0, memo ? top_hi : 0);
	__asm__ volatile("" ::: "memory"); /* not a tail call: keep this frame */
}

/* Stored to by several threads at once (threads_keep_their_own_memo): atomic. */
static int sink;

/* Two callers alike in frame size, unlike in code (so they are not merged). */
static __attribute__((noinline)) void via_a(struct capture *c, int memo)
{
	capture(c, memo);
	__atomic_store_n(&sink, 1, __ATOMIC_RELAXED);
}

static __attribute__((noinline)) void via_b(struct capture *c, int memo)
{
	capture(c, memo);
	__atomic_store_n(&sink, 2, __ATOMIC_RELAXED);
}

static __attribute__((noinline)) void via_alloca(struct capture *c, int memo, size_t n)
{
	char *p = alloca(n);

	memset(p, 0, n);
	capture(c, memo);
	__asm__ volatile("" : : "r"(p) : "memory");
}

static bool same_frames(const struct capture *a, const struct capture *b)
{
	return a->n == b->n && memcmp(a->frames, b->frames, (size_t)b->n * sizeof(uintptr_t)) == 0;
}

static void check_equal(const struct capture *memo, const struct capture *plain)
{
	RF_CHECK_INT(memo->n, plain->n);
	RF_CHECK(same_frames(memo, plain));
}

static void check_same(const struct capture *memo, const struct capture *plain)
{
	RF_CHECK(plain->n > 3);
	check_equal(memo, plain);
}

static __attribute__((noinline)) void via(char path, size_t depth, struct capture *c, int memo)
{
	if (path == 'a')
		via_a(c, memo);
	else if (path == 'b')
		via_b(c, memo);
	else
		via_alloca(c, memo, depth);
	__asm__ volatile("" ::: "memory");
}

/* Each path run with the memo, then plainly, from one call site; results must agree. */
static void run_path(char path, size_t depth)
{
	struct capture c[2];

	/* volatile: one loop, not unrolled into two call sites */
	for (volatile int memo = 1; memo >= 0; memo--)
		via(path, depth, &c[memo], memo);
	check_same(&c[1], &c[0]);
}

RF_TEST(repeated_stack_is_served_from_the_memo)
{
	uint64_t hits;

	window_main();
	hits = rf_stack_memo_hits();
	for (int i = 0; i < 100; i++)
		run_path('a', 0);
	/* Two plain walks to learn it, then the memo. */
	RF_CHECK(rf_stack_memo_hits() - hits >= 90);
}

RF_TEST(callers_at_the_same_depth_are_told_apart)
{
	static const char *patterns[] = {"aaaab", "abab", "aabb", "aaaaaaaabbbbbbbbab"};

	window_main();
	for (int round = 0; round < 20; round++)
		for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++)
			for (const char *s = patterns[i]; *s; s++)
				run_path(*s, 0);
}

RF_TEST(alloca_depths_never_mislead)
{
	static const size_t depths[] = {16, 16, 16, 48, 16, 32, 32, 32, 16, 4096, 16, 4096, 4096};

	window_main();
	for (int round = 0; round < 20; round++)
		for (size_t i = 0; i < sizeof(depths) / sizeof(depths[0]); i++)
			run_path('x', depths[i]);
}

/*
 * Frames written in assembly, so that what rbp holds is certain:
 * - rbp_stub(c, memo, fn in rax): saves rbp on the stack and calls fn(c,
 *   memo), as a function built without frame pointers saves a register it
 *   uses;
 * - call_with_rbp(c, memo, fn, value): calls fn through rbp_stub with rbp =
 *   value, in a frame without a frame pointer (CFA = rsp + 16), as such code
 *   keeps a counter or a pointer in rbp;
 * - call_in_frame(c, memo, fn, shift): a frame that places its caller by
 *   rbp (CFA = rbp + 24: rbx is pushed before rbp is set, as in libffi's
 *   ffi_call_unix64) and calls fn through rbp_stub with rbp lowered by shift
 *   onto a copy of its saved registers whose return address is 0, so that a
 *   walk through the copy ends there.
 */
void call_with_rbp(struct capture *c, int memo, void (*fn)(struct capture *, int), uintptr_t value);
void call_in_frame(struct capture *c, int memo, void (*fn)(struct capture *, int), uintptr_t shift);
__asm__(".text\n"
	".type rbp_stub, @function\n"
	"rbp_stub:\n"
	"	.cfi_startproc\n"
	"	push %rbp\n"
	"	.cfi_def_cfa_offset 16\n"
	"	.cfi_offset %rbp, -16\n"
	"	call *%rax\n"
	"	pop %rbp\n"
	"	.cfi_restore %rbp\n"
	"	.cfi_def_cfa_offset 8\n"
	"	ret\n"
	"	.cfi_endproc\n"
	".size rbp_stub, .-rbp_stub\n"
	".type call_with_rbp, @function\n"
	"call_with_rbp:\n"
	"	.cfi_startproc\n"
	"	push %rbp\n"
	"	.cfi_def_cfa_offset 16\n"
	"	.cfi_offset %rbp, -16\n"
	"	mov %rcx, %rbp\n"
	"	mov %rdx, %rax\n"
	"	call rbp_stub\n"
	"	pop %rbp\n"
	"	.cfi_restore %rbp\n"
	"	.cfi_def_cfa_offset 8\n"
	"	ret\n"
	"	.cfi_endproc\n"
	".size call_with_rbp, .-call_with_rbp\n"
	".type call_in_frame, @function\n"
	"call_in_frame:\n"
	"	.cfi_startproc\n"
	"	push %rbp\n"
	"	.cfi_def_cfa_offset 16\n"
	"	.cfi_offset %rbp, -16\n"
	"	push %rbx\n"
	"	.cfi_def_cfa_offset 24\n"
	"	.cfi_offset %rbx, -24\n"
	"	mov %rsp, %rbp\n"
	"	.cfi_def_cfa_register %rbp\n"
	/* The copy 32 bytes lower: saved rbx, saved rbp, and a return address
	 * of 0, which ends a walk through it at once. */
	"	sub $32, %rsp\n"
	"	mov 0(%rbp), %rax\n"
	"	mov %rax, -32(%rbp)\n"
	"	mov 8(%rbp), %rax\n"
	"	mov %rax, -24(%rbp)\n"
	"	movq $0, -16(%rbp)\n"
	"	mov %rdx, %rax\n"
	"	push %rbp\n"
	"	sub %rcx, %rbp\n"
	"	call rbp_stub\n"
	"	pop %rbp\n"
	"	add $32, %rsp\n"
	"	pop %rbx\n"
	"	.cfi_restore %rbx\n"
	"	pop %rbp\n"
	"	.cfi_restore %rbp\n"
	"	.cfi_def_cfa %rsp, 8\n"
	"	ret\n"
	"	.cfi_endproc\n"
	".size call_in_frame, .-call_in_frame\n");

static __attribute__((noinline)) void rbp_path(struct capture *c, int memo, int kind,
					       uintptr_t value)
{
	if (kind == 'v')
		call_with_rbp(c, memo, capture, value);
	else
		call_in_frame(c, memo, capture, value);
	__asm__ volatile("" ::: "memory");
}

/* With the memo, then plainly, from one call site, as run_path. */
static void run_rbp_path(int kind, uintptr_t value, struct capture *plain)
{
	struct capture c[2];

	for (volatile int memo = 1; memo >= 0; memo--)
		rbp_path(&c[memo], memo, kind, value);
	RF_CHECK(c[0].n > 0);
	check_equal(&c[1], &c[0]);
	*plain = c[0];
}

/* Code without frame pointers: what rbp holds says nothing about the stack. */
RF_TEST(a_varying_rbp_is_served_from_the_memo)
{
	struct capture plain;
	uint64_t hits;

	window_main();
	hits = rf_stack_memo_hits();
	for (uintptr_t i = 0; i < 100; i++)
		run_rbp_path('v', 0x5a5a0000 + i * 4096, &plain);
	RF_CHECK(plain.n > 3);
	RF_CHECK(rf_stack_memo_hits() - hits >= 90);
}

/* A frame that places its caller by rbp: a moved rbp is a new stack. */
RF_TEST(a_frame_placed_by_rbp_keeps_its_rbp)
{
	static const char pattern[] = "0000100110111000010";
	struct capture first[2] = {{.n = -1}, {.n = -1}}, plain;
	uint64_t hits;

	window_main();
	hits = rf_stack_memo_hits();
	for (int round = 0; round < 10; round++) {
		for (const char *p = pattern; *p; p++) {
			int moved = *p == '1';

			run_rbp_path('f', moved ? 32 : 0, &plain);
			if (first[moved].n < 0)
				first[moved] = plain;
			/* Each layout walks the same way every time. */
			check_equal(&plain, &first[moved]);
		}
	}
	/* The moved rbp really leads a walk elsewhere, and the memo served the rest. */
	RF_CHECK(first[0].n > 3);
	RF_CHECK(!same_frames(&first[0], &first[1]));
	RF_CHECK(rf_stack_memo_hits() - hits >= 50);
}

/* A coroutine's stack does not reach the thread's top: never memoised. */
static ucontext_t main_ctx, co_ctx;
static uint64_t co_hits;

static void coroutine(void)
{
	uint64_t hits = rf_stack_memo_hits();

	for (int i = 0; i < 50; i++)
		run_path('a', 0);
	co_hits = rf_stack_memo_hits() - hits;
}

RF_TEST(coroutine_stack_is_not_memoised)
{
	static char stack[256 * 1024];

	window_main();
	RF_CHECK(getcontext(&co_ctx) == 0);
	co_ctx.uc_stack.ss_sp = stack;
	co_ctx.uc_stack.ss_size = sizeof(stack);
	co_ctx.uc_link = &main_ctx;
	makecontext(&co_ctx, coroutine, 0);
	RF_CHECK(swapcontext(&main_ctx, &co_ctx) == 0);
	RF_CHECK_INT(co_hits, 0);
}

/* A thread whose top is known (as the trampoline records it) gets a memo of its own. */
static void *thread_main(void *arg)
{
	uint64_t *hits = arg;

	top_lo = (uintptr_t)__builtin_frame_address(0);
	top_hi = top_lo + 1024;
	for (int i = 0; i < 60; i++)
		run_path(i % 7 == 6 ? 'b' : 'a', 0);
	*hits = rf_stack_memo_hits();
	return NULL;
}

RF_TEST(threads_keep_their_own_memo)
{
	pthread_t t[4];
	uint64_t hits[4];

	for (int i = 0; i < 4; i++)
		RF_CHECK(pthread_create(&t[i], NULL, thread_main, &hits[i]) == 0);
	for (int i = 0; i < 4; i++) {
		RF_CHECK(pthread_join(t[i], NULL) == 0);
		RF_CHECK(hits[i] >= 20);
	}
}

RF_TEST_MAIN(RF_TEST_ENTRY(repeated_stack_is_served_from_the_memo),
	     RF_TEST_ENTRY(callers_at_the_same_depth_are_told_apart),
	     RF_TEST_ENTRY(alloca_depths_never_mislead),
	     RF_TEST_ENTRY(a_varying_rbp_is_served_from_the_memo),
	     RF_TEST_ENTRY(a_frame_placed_by_rbp_keeps_its_rbp),
	     RF_TEST_ENTRY(coroutine_stack_is_not_memoised),
	     RF_TEST_ENTRY(threads_keep_their_own_memo))
