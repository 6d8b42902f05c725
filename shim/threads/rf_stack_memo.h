/*
 * rf_stack_memo.h - a thread's memo of the last creation stack it unwound.
 *
 * Unwinding is most of what the shim adds to a thread's creation: libunwind
 * walks a frame cache that the kernel's work of starting and ending a thread
 * has evicted by the next creation. Programs start threads again and again
 * from the same place (a loop, a handler), where the stack under the hook is
 * the same each time, at the same address. A thread keeps the frames of its
 * last walk together with the stack words that walk read to find them: each
 * frame's return address (just below its caller's stack pointer) and the
 * saved frame pointer of each frame that uses one. When the hook's frame is
 * at the same address again and every one of those words holds what it held,
 * a walk would read the same words and find the same frames, so the memo is
 * the answer.
 *
 * Why that holds: going outwards from the hook's frame, a frame's extent
 * follows from its code (fixed by its return address) and the stack and frame
 * pointers it is entered with; with the first frame at the same address and
 * the same return address in each frame, and the same frame pointer in each
 * frame that places its caller by it, each next frame is where it was. Such
 * a frame points rbp into itself; one whose rbp points elsewhere places its
 * caller by its stack pointer alone: what rbp holds there (code built
 * without frame pointers keeps a counter or a pointer in it) is not checked,
 * or the memo would never hit in such code. Frames that realign the stack keep their caller's stack pointer
 * in memory (GCC's DRAP): that word is checked too. A walk that
 * crosses a signal frame, or does not end near the top of the thread's own
 * stack (a coroutine's stack, an alternate signal stack), is not memoised, so
 * every word the memo reads lies on the live stack of its own thread.
 *
 * A walk that learns the words costs more than a plain one (libunwind's
 * step-by-step cursor): it is taken only when the hook's frame
 * is where it was at the last walk, and no more than once per 32 captures
 * (RF_STACK_MEMO_RELEARN), so a thread whose stacks never repeat pays little.
 */
#ifndef RF_STACK_MEMO_H
#define RF_STACK_MEMO_H

#include <stdint.h>

/*
 * Capture the caller's stack: return addresses, innermost first, those in
 * [self_lo, self_hi) left out, into frames[RF_SHM_THREAD_FRAMES]; returns how
 * many. top_lo..top_hi: where the outermost word a walk reads lies when the
 * stack is the calling thread's own, near its top (top_hi 0: unknown, no
 * memo). noinline: its frame is where the memo's key is taken.
 */
int rf_stack_capture(uintptr_t *frames, uintptr_t self_lo, uintptr_t self_hi, uintptr_t top_lo,
		     uintptr_t top_hi) __attribute__((noinline));

/* Captures the calling thread served from its memo (tests, figures). */
uint64_t rf_stack_memo_hits(void);

/* Fork child: the calling thread's memo stays, the others' blocks are free. */
void rf_stack_memo_fork_child(void);

#endif /* RF_STACK_MEMO_H */
