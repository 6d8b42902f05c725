/*
 * rf_stack_memo.c - a thread's memo of the last creation stack it unwound
 * (see rf_stack_memo.h for why a memo hit is the walk's answer).
 */
#define _GNU_SOURCE
#include "rf_stack_memo.h"

#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "rf_perthread.h"
#include "rf_shm.h"

/* Frames a learning walk may take: a capture's, plus the memo's own two. */
#define RF_STACK_MEMO_STEPS (RF_SHM_THREAD_FRAMES + 10)
/* Per frame: its return address, its saved frame pointer, a realigning frame's saved stack pointer. */
#define RF_STACK_MEMO_WORDS (3 * RF_STACK_MEMO_STEPS)
/* A learning walk costs this many captures; a new thread may learn at once. */
#define RF_STACK_MEMO_RELEARN 32
#define RF_STACK_MEMO_TOKENS_MAX (2 * RF_STACK_MEMO_RELEARN)

struct rf_stack_word {
	uintptr_t addr, value;
};

struct rf_stack_memo {
	struct rf_perthread_hdr hdr;
	uint64_t hits;
	uintptr_t sp;      /* the capture's frame the memo holds for; 0: none */
	uintptr_t last_sp; /* the capture's frame at the last plain walk */
	unsigned tokens;
	int nframes, nwords;
	uintptr_t frames[RF_SHM_THREAD_FRAMES];
	struct rf_stack_word words[RF_STACK_MEMO_WORDS];
};

static struct rf_perthread rf_stack_memos = RF_PERTHREAD_INIT(struct rf_stack_memo, NULL);

static __thread struct rf_stack_memo *rf_stack_memo_tls __attribute__((tls_model("initial-exec")));
/* Set while the thread uses its memo: a capture in a signal handler then walks plainly. */
static __thread int rf_stack_memo_busy __attribute__((tls_model("initial-exec")));

static void rf_stack_memo_reset(struct rf_stack_memo *m)
{
	m->sp = 0;
	m->last_sp = 0;
	m->tokens = RF_STACK_MEMO_RELEARN;
	m->nframes = 0;
	m->nwords = 0;
	m->hits = 0;
}

static void rf_stack_memo_leave(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	rf_stack_memo_busy = 0;
}

static struct rf_stack_memo *rf_stack_memo_enter(void)
{
	struct rf_stack_memo *m;

	if (rf_stack_memo_busy)
		return NULL;
	rf_stack_memo_busy = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	m = rf_stack_memo_tls;
	if (m == NULL) {
		/* A block a thread left keeps its memo: of a stack that is gone. */
		m = rf_perthread_take(&rf_stack_memos);
		if (m != NULL)
			rf_stack_memo_reset(m);
		rf_stack_memo_tls = m;
	}
	if (m == NULL)
		rf_stack_memo_leave();
	return m;
}

static uintptr_t rf_stack_word_read(uintptr_t addr)
{
	uintptr_t v;

	memcpy(&v, (const void *)addr, sizeof(v));
	return v;
}

static int rf_stack_memo_lookup(struct rf_stack_memo *m, uintptr_t sp, uintptr_t *frames)
{
	if (m->sp != sp)
		return -1;
	for (int i = 0; i < m->nwords; i++)
		if (rf_stack_word_read(m->words[i].addr) != m->words[i].value)
			return -1;
	memcpy(frames, m->frames, (size_t)m->nframes * sizeof(frames[0]));
	m->hits++;
	return m->nframes;
}

static int rf_stack_word_add(struct rf_stack_word *words, int *n, uintptr_t addr, uintptr_t value)
{
	if (*n == RF_STACK_MEMO_WORDS || addr % sizeof(uintptr_t) != 0)
		return -1;
	words[(*n)++] = (struct rf_stack_word){addr, value};
	return 0;
}

/* Whether every page of [lo, hi) is mapped: the words lie on one stack. */
static int rf_stack_mapped(uintptr_t lo, uintptr_t hi)
{
	unsigned char vec[64];
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = lo & ~(page - 1);

	if ((hi - start + page - 1) / page > sizeof(vec))
		return 0;
	return mincore((void *)start, hi - start, vec) == 0;
}

/*
 * Whether a frame's own rbp may have decided where its caller's frame lies.
 * Compiled code that computes its CFA from rbp points rbp into its own
 * frame, [sp, cfa): a frame pointer (CFA rbp + 16, or more where registers
 * are pushed before rbp is set, as libffi's ffi_call_unix64 does: rbp + 32),
 * or a realigned frame (GCC's DRAP, the caller's stack pointer kept next to
 * rbp). Elsewhere the CFA is the stack pointer plus a constant, and rbp is
 * one more callee-saved register: code built without frame pointers (most
 * of Debian) keeps a counter or a pointer in it, and a memo that checked its
 * saved copy would never hit there.
 */
static int rf_stack_frame_uses_rbp(uintptr_t sp, uintptr_t fp, uintptr_t cfa)
{
	return sp <= fp && fp < cfa;
}

/*
 * Walk again with libunwind's cursor, which tells where each register was
 * read from, and keep the words behind frames[n] when it finds the same
 * frames. noinline: its frame, like note's, lies below the capture's (sp).
 */
static __attribute__((noinline)) void rf_stack_memo_learn(struct rf_stack_memo *m, uintptr_t sp0,
							  const uintptr_t *frames, int n,
							  uintptr_t self_lo, uintptr_t self_hi,
							  uintptr_t top_lo, uintptr_t top_hi)
{
	struct rf_stack_word words[RF_STACK_MEMO_WORDS];
	/* Per frame: its stack pointer, its rbp, where that was read from (0: not
	 * from the stack above sp0), and its CFA (0: the outermost frame). */
	struct {
		uintptr_t sp, fp, fp_slot, cfa;
	} seen[RF_STACK_MEMO_STEPS];
	int nwords = 0, nseen = 0, k = 0, ended = 0;
	uintptr_t top = sp0;
	unw_context_t ctx;
	unw_cursor_t cur;

	if (unw_getcontext(&ctx) != 0 || unw_init_local(&cur, &ctx) != 0)
		return;
	for (int i = 0; i < RF_STACK_MEMO_STEPS && !ended; i++) {
		unw_word_t ip, sp, fp, next_sp = 0;
		unw_save_loc_t loc;
		uintptr_t fp_slot = 0;
		int r;

		if (unw_get_reg(&cur, UNW_REG_IP, &ip) < 0 ||
		    unw_get_reg(&cur, UNW_REG_SP, &sp) < 0 ||
		    unw_get_reg(&cur, UNW_X86_64_RBP, &fp) < 0 || unw_is_signal_frame(&cur) > 0)
			return;
		/* Where the walk read this frame's return address. */
		if (i > 0 && sp - sizeof(uintptr_t) >= sp0) {
			uintptr_t slot = sp - sizeof(uintptr_t);

			if (rf_stack_word_read(slot) != ip ||
			    rf_stack_word_add(words, &nwords, slot, ip) < 0)
				return;
			top = slot > top ? slot : top;
		}
		/* And its frame pointer: kept below if the frame turns out to use it. */
		if (i > 0 && unw_get_save_loc(&cur, UNW_X86_64_RBP, &loc) == 0 &&
		    loc.type == UNW_SLT_MEMORY && loc.u.addr >= sp0) {
			if (rf_stack_word_read(loc.u.addr) != fp)
				return;
			fp_slot = loc.u.addr;
			top = loc.u.addr > top ? loc.u.addr : top;
		}
		/* The capture's callers: those whose return address lies above its frame. */
		if (i > 0 && sp - sizeof(uintptr_t) >= sp0 && (ip < self_lo || ip >= self_hi)) {
			if (k == n || frames[k] != ip)
				return; /* not the plain walk's stack */
			k++;
		}
		r = unw_step(&cur);
		if (r < 0)
			return;
		ended = r == 0;
		if (!ended && unw_get_reg(&cur, UNW_REG_SP, &next_sp) < 0)
			return;
		if (sp >= sp0 || fp_slot != 0)
			seen[nseen++] = (typeof(seen[0])){sp, fp, fp_slot, next_sp};
	}
	if (!ended || k != n || top < top_lo || top >= top_hi || !rf_stack_mapped(sp0, top + 8))
		return;
	for (int i = 0; i < nseen; i++) {
		uintptr_t fp = seen[i].fp, cfa = seen[i].cfa, at = fp - sizeof(uintptr_t);

		/* The outermost frame's rbp is kept: it may be what ended the walk. */
		if (cfa != 0 && !rf_stack_frame_uses_rbp(seen[i].sp, fp, cfa))
			continue;
		if (seen[i].fp_slot != 0 &&
		    rf_stack_word_add(words, &nwords, seen[i].fp_slot, fp) < 0)
			return;
		/* A frame that realigned the stack found its caller's through *(fp - 8)
		 * (not a frame-pointer frame, whose fp - 8 is only its first local). */
		if (cfa != 0 && cfa != fp + 2 * sizeof(uintptr_t) && at >= sp0 && at <= top &&
		    rf_stack_word_read(at) == cfa && rf_stack_word_add(words, &nwords, at, cfa) < 0)
			return;
	}
	m->sp = 0;
	memcpy(m->words, words, (size_t)nwords * sizeof(words[0]));
	m->nwords = nwords;
	memcpy(m->frames, frames, (size_t)n * sizeof(frames[0]));
	m->nframes = n;
	m->sp = sp0;
}

static void rf_stack_memo_note(struct rf_stack_memo *m, uintptr_t sp, const uintptr_t *frames,
			       int n, uintptr_t self_lo, uintptr_t self_hi, uintptr_t top_lo,
			       uintptr_t top_hi)
{
	int again = m->last_sp == sp;

	m->last_sp = sp;
	if (m->tokens < RF_STACK_MEMO_TOKENS_MAX)
		m->tokens++;
	if (!again || top_hi == 0 || n > RF_SHM_THREAD_FRAMES || m->tokens < RF_STACK_MEMO_RELEARN)
		return;
	m->tokens -= RF_STACK_MEMO_RELEARN;
	rf_stack_memo_learn(m, sp, frames, n, self_lo, self_hi, top_lo, top_hi);
}

int rf_stack_capture(uintptr_t *frames, uintptr_t self_lo, uintptr_t self_hi, uintptr_t top_lo,
		     uintptr_t top_hi)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	struct rf_stack_memo *m = top_hi != 0 ? rf_stack_memo_enter() : NULL;
	void *raw[RF_SHM_THREAD_FRAMES + 8];
	int n, k = 0, cancel_state;

	if (m != NULL && (k = rf_stack_memo_lookup(m, sp, frames)) >= 0) {
		rf_stack_memo_leave();
		return k;
	}
	k = 0;
	/* libunwind reads memory it is not sure of through a pipe: read() is a
	 * cancellation point, and pthread_create must not become one. */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
	n = unw_backtrace(raw, RF_SHM_THREAD_FRAMES + 8);
	/* raw[0] lies here: the frames begin with the caller's. */
	for (int i = 1; i < n && k < RF_SHM_THREAD_FRAMES; i++)
		if ((uintptr_t)raw[i] < self_lo || (uintptr_t)raw[i] >= self_hi)
			frames[k++] = (uintptr_t)raw[i];
	if (m != NULL) {
		/* A plain walk that filled frames may have stopped short of the stack's end. */
		if (k < RF_SHM_THREAD_FRAMES && n < RF_SHM_THREAD_FRAMES + 8)
			rf_stack_memo_note(m, sp, frames, k, self_lo, self_hi, top_lo, top_hi);
		rf_stack_memo_leave();
	}
	pthread_setcancelstate(cancel_state, NULL);
	return k;
}

uint64_t rf_stack_memo_hits(void)
{
	return rf_stack_memo_tls != NULL ? rf_stack_memo_tls->hits : 0;
}

void rf_stack_memo_fork_child(void)
{
	rf_perthread_fork_child(&rf_stack_memos, rf_stack_memo_tls);
	rf_stack_memo_busy = 0;
}
