/*
 * test_go_mem.c - the memory reader against a child process whose memory
 * has a hole: spans around the hole are read, spans in or across it fail
 * alone, through process_vm_readv and through /proc/PID/mem alike, also
 * past one system call's worth of spans; a gone process is -ESRCH; a field
 * never reads past its copy.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <sys/mman.h>

#include "rf_test.h"
#include "rp_go_binary.h"
#include "rp_go_mem.h"
#include "test_go_child.h"

/* Three pages, the middle one unmapped, shared by copy with a child that waits. */
struct target {
	unsigned char *base;
	long page;
	pid_t pid;
	int hold; /* closing it ends the child */
};

static struct target target_start(void)
{
	struct target t = {.page = sysconf(_SC_PAGESIZE)};

	t.base = mmap(NULL, 3 * (size_t)t.page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		      -1, 0);
	RF_CHECK(t.base != MAP_FAILED);
	memset(t.base, 0xa0, (size_t)t.page);
	memset(t.base + 2 * t.page, 0xc2, (size_t)t.page);
	RF_CHECK(munmap(t.base + t.page, (size_t)t.page) == 0);
	t.pid = test_child_start(&t.hold);
	return t;
}

static void target_end(struct target *t)
{
	test_child_end(t->pid, t->hold);
}

static void spans_check(bool procmem)
{
	struct target t = target_start();
	uint64_t base = (uint64_t)(uintptr_t)t.base, page = (uint64_t)t.page;
	unsigned char a[16], b[16], c[16], d[32], e[16];
	struct rp_go_span spans[5] = {
		{.addr = base + 8, .buf = a, .len = sizeof(a)},             /* page 0 */
		{.addr = base + page + 8, .buf = b, .len = sizeof(b)},      /* the hole */
		{.addr = base + 2 * page + 8, .buf = c, .len = sizeof(c)},  /* page 2 */
		{.addr = base + 2 * page - 16, .buf = d, .len = sizeof(d)}, /* into it */
		{.addr = 0, .buf = e, .len = sizeof(e)},                    /* page zero */
	};
	struct rp_go_mem mem;

	rp_go_mem_init(&mem, t.pid);
	mem.use_procmem = procmem;
	RF_CHECK_INT(rp_go_mem_readv(&mem, spans, 5), 0);
	RF_CHECK(spans[0].err == 0 && a[0] == 0xa0 && a[15] == 0xa0);
	RF_CHECK_INT(spans[1].err, -EFAULT);
	RF_CHECK(spans[2].err == 0 && c[0] == 0xc2 && c[15] == 0xc2);
	RF_CHECK(spans[3].err < 0);
	RF_CHECK(spans[4].err < 0);
	/* process_vm_readv works here: the fallback is taken only when refused. */
	RF_CHECK_INT(mem.use_procmem, procmem);
	RF_CHECK(mem.calls >= 1 && mem.bytes >= sizeof(a) + sizeof(c));
	rp_go_mem_release(&mem);
	target_end(&t);
}

RF_TEST(spans_around_a_hole_fail_alone)
{
	spans_check(false);
}

RF_TEST(spans_around_a_hole_fail_alone_through_proc_mem)
{
	spans_check(true);
}

/* More spans than one call takes (IOV_MAX), a bad one every seventh: all settled right. */
RF_TEST(spans_past_one_call)
{
	enum {
		N = 2500
	};
	struct target t = target_start();
	uint64_t base = (uint64_t)(uintptr_t)t.base, page = (uint64_t)t.page;
	static struct rp_go_span spans[N];
	static uint64_t v[N];
	struct rp_go_mem mem;

	for (int i = 0; i < N; i++)
		spans[i] = (struct rp_go_span){.addr = i % 7 == 3 ? base + page + 64
								  : base + 2 * page +
									    (uint64_t)(i % 64) * 8,
					       .buf = &v[i],
					       .len = 8,
					       .err = 1};
	rp_go_mem_init(&mem, t.pid);
	RF_CHECK_INT(rp_go_mem_readv(&mem, spans, N), 0);
	for (int i = 0; i < N; i++) {
		if (i % 7 == 3) {
			RF_CHECK_INT(spans[i].err, -EFAULT);
		} else {
			RF_CHECK_INT(spans[i].err, 0);
			RF_CHECK(v[i] == 0xc2c2c2c2c2c2c2c2ULL);
		}
	}
	rp_go_mem_release(&mem);
	target_end(&t);
}

RF_TEST(gone_process_is_esrch)
{
	struct target t = target_start();
	uint64_t base = (uint64_t)(uintptr_t)t.base;
	struct rp_go_span spans[2] = {{.addr = base, .buf = &(uint64_t){0}, .len = 8},
				      {.addr = base + 8, .buf = &(uint64_t){0}, .len = 8}};
	struct rp_go_mem mem;
	unsigned char x[8];

	target_end(&t);
	rp_go_mem_init(&mem, t.pid);
	RF_CHECK_INT(rp_go_mem_read(&mem, base, x, sizeof(x)), -ESRCH);
	RF_CHECK_INT(rp_go_mem_readv(&mem, spans, 2), -ESRCH);
	RF_CHECK(spans[0].err == -ESRCH && spans[1].err == -ESRCH);
	mem.use_procmem = true;
	RF_CHECK_INT(rp_go_mem_read(&mem, base, x, sizeof(x)), -ESRCH);
	rp_go_mem_release(&mem);
}

RF_TEST(field_read_only_inside_its_copy)
{
	unsigned char buf[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct rp_go_field f4 = {.offset = 4, .size = 4}, f8 = {.offset = 4, .size = 8};
	struct rp_go_field f1 = {.offset = 7, .size = 1}, absent = {.offset = 0, .size = 0};
	struct rp_go_field huge = {.offset = UINT32_MAX - 2, .size = 4};

	RF_CHECK(rp_go_field_get(&f4, buf, sizeof(buf)) == 0x08070605);
	RF_CHECK(rp_go_field_get(&f1, buf, sizeof(buf)) == 8);
	RF_CHECK(rp_go_field_get(&f8, buf, sizeof(buf)) == 0);
	RF_CHECK(rp_go_field_get(&absent, buf, sizeof(buf)) == 0);
	RF_CHECK(rp_go_field_get(&huge, buf, sizeof(buf)) == 0);
}

RF_TEST_MAIN(RF_TEST_ENTRY(spans_around_a_hole_fail_alone),
	     RF_TEST_ENTRY(spans_around_a_hole_fail_alone_through_proc_mem),
	     RF_TEST_ENTRY(spans_past_one_call), RF_TEST_ENTRY(gone_process_is_esrch),
	     RF_TEST_ENTRY(field_read_only_inside_its_copy))
