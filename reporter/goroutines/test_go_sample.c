/*
 * test_go_sample.c - the goroutine sampler against a hostile target: a
 * child process whose "runtime" (allglen, allgptr, the g structures, their
 * stacks, waitReasonStrings) is laid out by hand in shared memory and
 * corrupted in the ways a racing or malicious process could: wild and
 * unaligned pointers, unmapped memory, absurd lengths, frame-pointer loops,
 * chains that leave the stack or never end, stack bounds upside down,
 * unknown statuses, strings that are huge or not text. The sampler must stay
 * within its bounds and count what it could not read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/mman.h>

#include "rf_test.h"
#include "rp_go_binary.h"
#include "rp_go_mem.h"
#include "rp_go_sample.h"
#include "test_go_child.h"

/* The fake runtime.g: the sampler is given this layout as it would learn one from DWARF. */
struct fake_g {
	uint64_t stack_lo, stack_hi;
	int64_t goid;
	uint32_t status;
	uint8_t waitreason;
	uint8_t pad[3];
	int64_t waitsince;
	uint64_t gopc, startpc;
	uint64_t sched_pc, sched_sp, sched_bp;
	uint64_t syscallpc;
};

#define NG 16
#define STACK 4096
#define GOEXIT 0x401000ULL

struct world {
	uint64_t allglen;
	uint64_t allgptr;
	uint64_t ptrs[NG + 8];
	struct fake_g g[NG];
	uint64_t stacks[NG][STACK / 8] __attribute__((aligned(16)));
	uint64_t wait_reasons[8][2];
	char text[4][80];
};

/* The world, shared with a child that waits (the target), and a page after it no one reads. */
struct fixture {
	struct world *w;
	uint64_t hole;
	pid_t pid;
	int hold;
	struct rp_go_binary bin;
	struct rp_go_mem mem;
};

static void layout_set(struct fixture *f)
{
	struct rp_go_layout *l = &f->bin.layout;
	struct world *w = f->w;

	memset(&f->bin, 0, sizeof(f->bin));
	f->bin.pid = f->pid;
	f->bin.amd64 = true;
#define F(name, member)                                                                            \
	l->g[RP_GO_G_##name] = (struct rp_go_field){offsetof(struct fake_g, member),               \
						    sizeof(((struct fake_g *)0)->member)}
	F(goid, goid);
	F(status, status);
	F(waitreason, waitreason);
	F(waitsince, waitsince);
	F(gopc, gopc);
	F(startpc, startpc);
	F(sched_pc, sched_pc);
	F(sched_sp, sched_sp);
	F(sched_bp, sched_bp);
	F(stack_lo, stack_lo);
	F(stack_hi, stack_hi);
	F(syscallpc, syscallpc);
#undef F
	l->g_size = l->g_span = sizeof(struct fake_g);
	l->string_size = 16;
	l->string_str = (struct rp_go_field){0, 8};
	l->string_len = (struct rp_go_field){8, 8};
	f->bin.addr.allglen = (uint64_t)(uintptr_t)&w->allglen;
	f->bin.addr.allgptr = (uint64_t)(uintptr_t)&w->allgptr;
	f->bin.addr.goexit_lo = GOEXIT;
	f->bin.addr.goexit_hi = GOEXIT + 0x20;
	f->bin.addr.wait_reasons = (uint64_t)(uintptr_t)w->wait_reasons;
	f->bin.addr.wait_reasons_size = sizeof(w->wait_reasons);
}

static struct fixture fixture_start(void)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t size = (sizeof(struct world) + (size_t)page - 1) / (size_t)page * (size_t)page;
	struct fixture f = {0};

	f.w = mmap(NULL, size + (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		   -1, 0);
	RF_CHECK(f.w != MAP_FAILED);
	f.hole = (uint64_t)(uintptr_t)f.w + size;
	RF_CHECK(mprotect((void *)(uintptr_t)f.hole, (size_t)page, PROT_NONE) == 0);
	f.pid = test_child_start(&f.hold);
	layout_set(&f);
	rp_go_mem_init(&f.mem, f.pid);
	return f;
}

static void fixture_end(struct fixture *f)
{
	rp_go_mem_release(&f->mem);
	if (f->hold >= 0)
		test_child_end(f->pid, f->hold);
}

/* A waiting goroutine i whose stack holds a chain of n frame records, the last returning
 * into goexit when bottom is set. */
static void g_chain(struct world *w, int i, int n, bool bottom)
{
	struct fake_g *g = &w->g[i];
	uint64_t base = (uint64_t)(uintptr_t)w->stacks[i];

	memset(w->stacks[i], 0, STACK);
	*g = (struct fake_g){.stack_lo = base,
			     .stack_hi = base + STACK,
			     .goid = 100 + i,
			     .status = 4,
			     .waitreason = 2,
			     .gopc = 0x402000,
			     .startpc = 0x403000,
			     .sched_pc = 0x404000,
			     .sched_sp = base + 64,
			     .sched_bp = base + 128};
	for (int k = 0; k < n; k++) {
		uint64_t at = base + 128 + (uint64_t)k * 32;
		uint64_t *rec = (uint64_t *)(uintptr_t)at;

		rec[0] = at + 32;
		rec[1] = (bottom && k == n - 1) ? GOEXIT + 5 : 0x405000 + (uint64_t)k;
	}
}

/* Every kind of bad entry and bad stack, one per goroutine (goid 100 + index). */
static void world_hostile(struct fixture *f)
{
	struct world *w = f->w;

	for (int i = 0; i < NG; i++)
		w->ptrs[i] = (uint64_t)(uintptr_t)&w->g[i];
	g_chain(w, 0, 3, true); /* waiting, 1 + 3 frames then goexit */
	g_chain(w, 1, 0, false);
	w->g[1].status = 6; /* dead */
	g_chain(w, 2, 2, true);
	w->g[2].status = 2; /* running: no frames */
	g_chain(w, 3, 0, false);
	w->ptrs[3] = 0;                                 /* NULL */
	w->ptrs[4] = (uint64_t)(uintptr_t)&w->g[4] + 1; /* unaligned */
	w->ptrs[5] = 0xffff800000000000ULL;             /* kernel space */
	w->ptrs[6] = f->hole;                           /* unreadable */
	g_chain(w, 7, 2, true);
	w->stacks[7][128 / 8] = w->g[7].sched_bp; /* [bp] = bp: a loop */
	g_chain(w, 8, 4, true);
	w->stacks[8][(128 + 32) / 8] = w->g[8].stack_hi + 4096; /* leaves the stack */
	g_chain(w, 9, 3, true);
	w->g[9].stack_hi = w->g[9].stack_lo - 8; /* bounds upside down */
	g_chain(w, 10, 100, false);              /* longer than any depth: never ends */
	g_chain(w, 11, 1, true);
	w->g[11].status = 0x1000 | 77; /* the scan bit and an unknown status */
	g_chain(w, 12, 2, true);
	w->g[12].sched_bp = w->g[12].stack_hi - 8; /* a record would straddle the stack's top */
	g_chain(w, 13, 2, true);
	w->g[13].status = 3; /* in a system call: the call site only */
	w->g[13].syscallpc = 0x406000;
	g_chain(w, 14, 2, true);
	w->g[14].sched_bp = f->hole + 64; /* bp outside the stack entirely */
	g_chain(w, 15, 2, true);
	w->g[15].stack_hi = w->g[15].stack_lo + (2ULL << 30); /* a stack above 1 GB */
	w->allglen = NG;
	w->allgptr = (uint64_t)(uintptr_t)w->ptrs;
}

static int take(struct fixture *f, uint32_t depth, uint64_t max, struct rp_go_sample *s)
{
	struct rp_go_sample_options o = {.depth = depth, .max_goroutines = max};

	return rp_go_sample_take(&f->bin, &f->mem, &o, s);
}

static const struct rp_go_goroutine *by_goid(const struct rp_go_sample *s, int64_t goid)
{
	for (uint64_t i = 0; i < s->count; i++)
		if (s->g[i].goid == goid)
			return &s->g[i];
	printf("# no goroutine %" PRId64 "\n", goid);
	exit(1);
}

RF_TEST(bad_entries_counted_and_skipped)
{
	struct fixture f = fixture_start();
	const struct rp_go_goroutine *g;
	struct rp_go_sample s;

	world_hostile(&f);
	RF_CHECK_INT(take(&f, 16, 1000, &s), 0);
	RF_CHECK(s.allglen == NG && !s.truncated);
	RF_CHECK_INT(s.dead, 1);
	RF_CHECK_INT(s.unreadable, 4);
	RF_CHECK_INT(s.count, NG - 5);
	g = by_goid(&s, 100);
	RF_CHECK(g->state == RP_GO_STATE_WAITING && g->waitreason == 2);
	RF_CHECK(g->gopc == 0x402000 && g->startpc == 0x403000);
	g = by_goid(&s, 111);
	RF_CHECK(g->status == 77 && g->state == RP_GO_STATE_OTHER && g->waitreason == 0);
	rp_go_sample_release(&s);
	fixture_end(&f);
}

RF_TEST(walks_stop_at_every_bad_frame)
{
	struct fixture f = fixture_start();
	const struct rp_go_goroutine *g;
	struct rp_go_sample s;

	world_hostile(&f);
	RF_CHECK_INT(take(&f, 16, 1000, &s), 0);
	g = by_goid(&s, 100);
	RF_CHECK(g->nframes == 3 && g->complete && g->frames[0] == 0x404000 &&
		 g->frames[1] == 0x405000 && g->frames[2] == 0x405001);
	g = by_goid(&s, 102);
	RF_CHECK(g->state == RP_GO_STATE_RUNNING && g->nframes == 0);
	g = by_goid(&s, 107); /* the loop is cut after one record */
	RF_CHECK(g->nframes == 2 && !g->complete);
	g = by_goid(&s, 108); /* the second record's caller bp is past the stack: its return
			       * address is kept, nothing past it is read */
	RF_CHECK(g->nframes == 3 && !g->complete);
	RF_CHECK_INT(by_goid(&s, 109)->nframes, 1);
	g = by_goid(&s, 110);
	RF_CHECK(g->nframes == 16 && !g->complete);
	RF_CHECK_INT(by_goid(&s, 111)->nframes, 0);
	RF_CHECK_INT(by_goid(&s, 112)->nframes, 1);
	g = by_goid(&s, 113);
	RF_CHECK(g->state == RP_GO_STATE_SYSCALL && g->nframes == 1 && g->frames[0] == 0x406000);
	RF_CHECK_INT(by_goid(&s, 114)->nframes, 1);
	RF_CHECK_INT(by_goid(&s, 115)->nframes, 1);
	rp_go_sample_release(&s);
	fixture_end(&f);
}

RF_TEST(depth_one_walks_nothing)
{
	struct fixture f = fixture_start();
	struct rp_go_sample s;

	world_hostile(&f);
	RF_CHECK_INT(take(&f, 1, 1000, &s), 0);
	RF_CHECK_INT(by_goid(&s, 100)->nframes, 1);
	RF_CHECK_INT(by_goid(&s, 110)->nframes, 1);
	rp_go_sample_release(&s);
	fixture_end(&f);
}

/* An absurd allglen is capped; what lies past the array is not trusted. */
RF_TEST(allglen_capped)
{
	struct fixture f = fixture_start();
	struct rp_go_sample s;

	world_hostile(&f);
	f.w->allglen = 1ULL << 40;
	RF_CHECK_INT(take(&f, 16, NG, &s), 0);
	RF_CHECK(s.truncated && s.count == NG - 5 && s.allglen == 1ULL << 40);
	rp_go_sample_release(&s);
	RF_CHECK_INT(take(&f, 16, NG + 8, &s), 0); /* 8 entries past the array: zeros */
	RF_CHECK(s.truncated && s.unreadable == 4 + 8);
	rp_go_sample_release(&s);
	fixture_end(&f);
}

RF_TEST(array_unreadable_or_not_a_pointer)
{
	struct fixture f = fixture_start();
	struct rp_go_sample s;

	world_hostile(&f);
	f.w->allgptr = f.hole;
	RF_CHECK_INT(take(&f, 16, 1000, &s), 0);
	RF_CHECK(s.count == 0 && s.unreadable == NG);
	rp_go_sample_release(&s);
	f.w->allgptr = 12345;
	RF_CHECK_INT(take(&f, 16, 1000, &s), -EIO);
	f.w->allglen = 0;
	RF_CHECK_INT(take(&f, 16, 1000, &s), 0);
	RF_CHECK_INT(s.count, 0);
	rp_go_sample_release(&s);
	f.bin.addr.allglen = f.hole; /* the variable itself unreadable */
	RF_CHECK_INT(take(&f, 16, 1000, &s), -EIO);
	fixture_end(&f);
}

/* Wait reasons' names: ordinary, cut when huge, dropped when unreadable, made text. */
RF_TEST(wait_reasons_from_the_target)
{
	struct fixture f = fixture_start();
	struct world *w = f.w;
	struct rp_go_runtime rt;
	char buf[32];

	strcpy(w->text[0], "chan receive");
	memset(w->text[1], 'x', sizeof(w->text[1]));
	strcpy(w->text[2], "bad\x1b[31mred\n");
	w->wait_reasons[1][0] = (uint64_t)(uintptr_t)w->text[0];
	w->wait_reasons[1][1] = 12;
	w->wait_reasons[2][0] = (uint64_t)(uintptr_t)w->text[1];
	w->wait_reasons[2][1] = 1ULL << 40;
	w->wait_reasons[3][0] = f.hole;
	w->wait_reasons[3][1] = 5;
	w->wait_reasons[4][0] = (uint64_t)(uintptr_t)w->text[2];
	w->wait_reasons[4][1] = strlen(w->text[2]);
	w->wait_reasons[5][0] = 8;
	w->wait_reasons[5][1] = 5;
	RF_CHECK_INT(rp_go_runtime_read(&f.bin, &f.mem, &rt), 0);
	RF_CHECK_STR(rt.wait_reasons_from, "target");
	RF_CHECK_INT(rt.nwait_reasons, 8);
	RF_CHECK_STR(rp_go_wait_reason(&rt, 0, buf, sizeof(buf)), "");
	RF_CHECK_STR(rp_go_wait_reason(&rt, 1, buf, sizeof(buf)), "chan receive");
	RF_CHECK_INT(strlen(rp_go_wait_reason(&rt, 2, buf, sizeof(buf))), 63);
	RF_CHECK_STR(rp_go_wait_reason(&rt, 3, buf, sizeof(buf)), "wait reason 3");
	RF_CHECK_STR(rp_go_wait_reason(&rt, 4, buf, sizeof(buf)), "bad?[31mred?");
	RF_CHECK_STR(rp_go_wait_reason(&rt, 5, buf, sizeof(buf)), "wait reason 5");
	RF_CHECK_STR(rp_go_wait_reason(&rt, 200, buf, sizeof(buf)), "wait reason 200");
	rp_go_runtime_release(&rt);
	fixture_end(&f);
}

/* No waitReasonStrings: the table of the version read from runtime.buildVersion. */
RF_TEST(wait_reasons_from_the_version)
{
	struct fixture f = fixture_start();
	struct world *w = f.w;
	struct rp_go_runtime rt;
	char buf[32];

	strcpy(w->text[3], "go1.19.8");
	w->wait_reasons[7][0] = (uint64_t)(uintptr_t)w->text[3];
	w->wait_reasons[7][1] = 8;
	f.bin.addr.build_version = (uint64_t)(uintptr_t)w->wait_reasons[7];
	f.bin.addr.wait_reasons = 0;
	RF_CHECK_INT(rp_go_runtime_read(&f.bin, &f.mem, &rt), 0);
	RF_CHECK_STR(rt.version, "go1.19.8");
	RF_CHECK_STR(rt.wait_reasons_from, "table");
	RF_CHECK_STR(rp_go_wait_reason(&rt, 14, buf, sizeof(buf)), "chan receive");
	rp_go_runtime_release(&rt);
	strcpy(w->text[3], "go1.190"); /* not go1.19: no table, numbers only */
	w->wait_reasons[7][1] = 7;
	RF_CHECK_INT(rp_go_runtime_read(&f.bin, &f.mem, &rt), 0);
	RF_CHECK_STR(rt.wait_reasons_from, "none");
	RF_CHECK_STR(rp_go_wait_reason(&rt, 14, buf, sizeof(buf)), "wait reason 14");
	rp_go_runtime_release(&rt);
	w->wait_reasons[7][1] = 1ULL << 62; /* a version of absurd length is not read */
	RF_CHECK_INT(rp_go_runtime_read(&f.bin, &f.mem, &rt), 0);
	RF_CHECK_STR(rt.version, "");
	rp_go_runtime_release(&rt);
	fixture_end(&f);
}

RF_TEST(gone_process_fails_the_whole_sample)
{
	struct fixture f = fixture_start();
	struct rp_go_runtime rt;
	struct rp_go_sample s;

	world_hostile(&f);
	test_child_end(f.pid, f.hold);
	f.hold = -1;
	RF_CHECK_INT(take(&f, 16, 1000, &s), -ESRCH);
	RF_CHECK_INT(rp_go_runtime_read(&f.bin, &f.mem, &rt), -ESRCH);
	rp_go_runtime_release(&rt);
	fixture_end(&f);
}

RF_TEST(states_as_go_shows_them)
{
	RF_CHECK_INT(rp_go_state_of(2), RP_GO_STATE_RUNNING);
	RF_CHECK_INT(rp_go_state_of(8), RP_GO_STATE_RUNNING);
	RF_CHECK_INT(rp_go_state_of(1), RP_GO_STATE_RUNNABLE);
	RF_CHECK_INT(rp_go_state_of(9), RP_GO_STATE_RUNNABLE);
	RF_CHECK_INT(rp_go_state_of(0x1000 | 4), RP_GO_STATE_WAITING);
	RF_CHECK_INT(rp_go_state_of(3), RP_GO_STATE_SYSCALL);
	RF_CHECK_INT(rp_go_state_of(77), RP_GO_STATE_OTHER);
	RF_CHECK_STR(rp_go_state_name(RP_GO_STATE_SYSCALL), "syscall");
	RF_CHECK_STR(rp_go_state_name((enum rp_go_state)99), "other");
}

RF_TEST_MAIN(RF_TEST_ENTRY(bad_entries_counted_and_skipped),
	     RF_TEST_ENTRY(walks_stop_at_every_bad_frame), RF_TEST_ENTRY(depth_one_walks_nothing),
	     RF_TEST_ENTRY(allglen_capped), RF_TEST_ENTRY(array_unreadable_or_not_a_pointer),
	     RF_TEST_ENTRY(wait_reasons_from_the_target),
	     RF_TEST_ENTRY(wait_reasons_from_the_version),
	     RF_TEST_ENTRY(gone_process_fails_the_whole_sample),
	     RF_TEST_ENTRY(states_as_go_shows_them))
