/*
 * rp_go_sample.c - one reading of a Go process's goroutines.
 */
#define _GNU_SOURCE
#include "rp_go_sample.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rf_time.h"

/* The runtime's statuses (runtime2.go): stable since Go 1.0, _Gpreempted since 1.14. */
enum {
	RP_GO_GIDLE = 0,
	RP_GO_GRUNNABLE = 1,
	RP_GO_GRUNNING = 2,
	RP_GO_GSYSCALL = 3,
	RP_GO_GWAITING = 4,
	RP_GO_GDEAD = 6,
	RP_GO_GCOPYSTACK = 8,
	RP_GO_GPREEMPTED = 9,
	RP_GO_GSCAN = 0x1000,
};

/* g structures read a batch; the batch buffer holds this many g_span bytes. */
#define RP_GO_G_BATCH 1024
/* Pointers of the allgs array read a span (one page). */
#define RP_GO_PTR_CHUNK 512
/* Longest string read from the target (version, wait reason). */
#define RP_GO_STRING_MAX 63
/* Bytes of a goroutine's stack read at once from its saved bp, and goroutines a batch. */
#define RP_GO_STACK_WINDOW 1024
#define RP_GO_WALK_BATCH 1024
/* A goroutine stack is at most 1 GB (maxstacksize on 64-bit). */
#define RP_GO_STACK_MAX (1ULL << 30)
/* Where user space ends on amd64 and arm64 with 5-level page tables. */
#define RP_GO_USER_END (1ULL << 56)

/* Go 1.19's waitReasonStrings (runtime2.go), for when the target's cannot be read. */
static const char *const rp_go_wait_reasons_119[] = {
	"",
	"GC assist marking",
	"IO wait",
	"chan receive (nil chan)",
	"chan send (nil chan)",
	"dumping heap",
	"garbage collection",
	"garbage collection scan",
	"panicwait",
	"select",
	"select (no cases)",
	"GC assist wait",
	"GC sweep wait",
	"GC scavenge wait",
	"chan receive",
	"chan send",
	"finalizer wait",
	"force gc (idle)",
	"semacquire",
	"sleep",
	"sync.Cond.Wait",
	"timer goroutine (idle)",
	"trace reader (blocked)",
	"wait for GC cycle",
	"GC worker (idle)",
	"preempted",
	"debug call",
};

static const struct {
	const char *version; /* of runtime.buildVersion: "go1.19" and "go1.19.N" */
	const char *const *names;
	uint32_t count;
} rp_go_wait_tables[] = {
	{"go1.19", rp_go_wait_reasons_119,
	 sizeof(rp_go_wait_reasons_119) / sizeof(rp_go_wait_reasons_119[0])},
};

enum rp_go_state rp_go_state_of(uint32_t status)
{
	switch (status & ~(uint32_t)RP_GO_GSCAN) {
	case RP_GO_GRUNNING:
	case RP_GO_GCOPYSTACK:
		return RP_GO_STATE_RUNNING;
	case RP_GO_GRUNNABLE:
	case RP_GO_GPREEMPTED:
		return RP_GO_STATE_RUNNABLE;
	case RP_GO_GWAITING:
		return RP_GO_STATE_WAITING;
	case RP_GO_GSYSCALL:
		return RP_GO_STATE_SYSCALL;
	default:
		return RP_GO_STATE_OTHER;
	}
}

const char *rp_go_state_name(enum rp_go_state state)
{
	static const char *const names[RP_GO_STATE__COUNT] = {
		[RP_GO_STATE_RUNNING] = "running", [RP_GO_STATE_RUNNABLE] = "runnable",
		[RP_GO_STATE_WAITING] = "waiting", [RP_GO_STATE_SYSCALL] = "syscall",
		[RP_GO_STATE_OTHER] = "other",
	};

	return (unsigned)state < RP_GO_STATE__COUNT ? names[state] : "other";
}

/* A pointer the target could hold to its own data: aligned, above page 0, in user space. */
static bool rp_go_ptr_ok(uint64_t p)
{
	return p >= 4096 && p < RP_GO_USER_END && (p & 7) == 0;
}

/* ---- strings of the target ------------------------------------------------ */

/* Bytes read from the target made printable ASCII in place, NUL-terminated. */
static void rp_go_text_clean(char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			s[i] = '?';
	s[n] = '\0';
}

/* A Go string variable at addr (header, then its bytes) into buf; 0 or a negative errno. */
static int rp_go_string_read(struct rp_go_binary *bin, struct rp_go_mem *mem, uint64_t addr,
			     char *buf, size_t len)
{
	const struct rp_go_layout *lay = &bin->layout;
	unsigned char hdr[64];
	uint64_t p, n;
	int rc;

	buf[0] = '\0';
	rc = rp_go_mem_read(mem, addr, hdr, lay->string_size);
	if (rc < 0)
		return rc;
	p = rp_go_field_get(&lay->string_str, hdr, lay->string_size);
	n = rp_go_field_get(&lay->string_len, hdr, lay->string_size);
	if (n == 0 || n > RP_GO_STRING_MAX || n >= len || p < 4096 || p >= RP_GO_USER_END)
		return -EINVAL;
	rc = rp_go_mem_read(mem, p, buf, (uint32_t)n);
	if (rc < 0) {
		buf[0] = '\0';
		return rc;
	}
	rp_go_text_clean(buf, n);
	return 0;
}

/*
 * runtime.waitReasonStrings: an array of Go strings, as many as its symbol's
 * size holds (at most 256). Headers in one read, the texts in one batch.
 */
static int rp_go_wait_reasons_read(struct rp_go_binary *bin, struct rp_go_mem *mem,
				   struct rp_go_runtime *rt)
{
	const struct rp_go_layout *lay = &bin->layout;
	struct rp_go_span spans[RP_GO_WAIT_REASONS];
	const size_t slot = RP_GO_STRING_MAX + 1;
	unsigned char *hdrs;
	uint64_t count;
	int rc;

	if (bin->addr.wait_reasons == 0 || lay->string_size == 0)
		return -ENOENT;
	count = bin->addr.wait_reasons_size / lay->string_size;
	if (count == 0)
		return -ENOENT;
	if (count > RP_GO_WAIT_REASONS)
		count = RP_GO_WAIT_REASONS;
	hdrs = malloc(count * lay->string_size);
	rt->wait_reason_text = calloc(count, slot);
	if (hdrs == NULL || rt->wait_reason_text == NULL) {
		free(hdrs);
		return -ENOMEM;
	}
	rc = rp_go_mem_read(mem, bin->addr.wait_reasons, hdrs,
			    (uint32_t)(count * lay->string_size));
	for (uint64_t i = 0; rc == 0 && i < count; i++) {
		const unsigned char *h = hdrs + i * lay->string_size;
		uint64_t p = rp_go_field_get(&lay->string_str, h, lay->string_size);
		uint64_t n = rp_go_field_get(&lay->string_len, h, lay->string_size);

		if (n > RP_GO_STRING_MAX)
			n = RP_GO_STRING_MAX; /* a longer name is cut, not trusted further */
		if (p < 4096 || p >= RP_GO_USER_END)
			n = 0;
		spans[i] = (struct rp_go_span){
			.addr = p, .buf = rt->wait_reason_text + i * slot, .len = (uint32_t)n};
	}
	free(hdrs);
	if (rc == 0)
		rc = rp_go_mem_readv(mem, spans, count);
	if (rc < 0)
		return rc;
	for (uint64_t i = 0; i < count; i++) {
		char *name = rt->wait_reason_text + i * slot;

		if (spans[i].err < 0)
			continue;
		rp_go_text_clean(name, spans[i].len);
		rt->wait_reasons[i] = name;
	}
	rt->nwait_reasons = (uint32_t)count;
	rt->wait_reasons_from = "target";
	return 0;
}

/* The table of wait reasons of the version read, when there is one. */
static void rp_go_wait_reasons_table(struct rp_go_runtime *rt)
{
	for (size_t t = 0; t < sizeof(rp_go_wait_tables) / sizeof(rp_go_wait_tables[0]); t++) {
		const char *v = rp_go_wait_tables[t].version;
		size_t n = strlen(v);

		/* "go1.19" and "go1.19.8", not "go1.190". */
		if (strncmp(rt->version, v, n) != 0 ||
		    (rt->version[n] != '\0' && rt->version[n] != '.'))
			continue;
		for (uint32_t i = 0; i < rp_go_wait_tables[t].count; i++)
			rt->wait_reasons[i] = rp_go_wait_tables[t].names[i];
		rt->nwait_reasons = rp_go_wait_tables[t].count;
		rt->wait_reasons_from = "table";
		return;
	}
}

static bool rp_go_process_error(int rc)
{
	return rc == -ESRCH || rc == -EPERM || rc == -EACCES || rc == -ENOMEM;
}

int rp_go_runtime_read(struct rp_go_binary *bin, struct rp_go_mem *mem, struct rp_go_runtime *rt)
{
	int rc;

	memset(rt, 0, sizeof(*rt));
	rt->wait_reasons_from = "none";
	if (bin->addr.build_version != 0) {
		rc = rp_go_string_read(bin, mem, bin->addr.build_version, rt->version,
				       sizeof(rt->version));
		if (rp_go_process_error(rc))
			return rc;
	}
	rc = rp_go_wait_reasons_read(bin, mem, rt);
	if (rp_go_process_error(rc))
		return rc;
	if (rc < 0)
		rp_go_wait_reasons_table(rt);
	return 0;
}

void rp_go_runtime_release(struct rp_go_runtime *rt)
{
	free(rt->wait_reason_text);
	rt->wait_reason_text = NULL;
}

const char *rp_go_wait_reason(const struct rp_go_runtime *rt, unsigned idx, char *buf, size_t len)
{
	if (idx < rt->nwait_reasons && rt->wait_reasons[idx] != NULL && rt->wait_reasons[idx][0])
		return rt->wait_reasons[idx];
	if (idx == 0)
		return "";
	snprintf(buf, len, "wait reason %u", idx);
	return buf;
}

/* ---- the clock ---------------------------------------------------------------- */

/* CLOCK_MONOTONIC offset of a time namespace (/proc/PID/timens_offsets) in ns; 0 if none. */
static int64_t rp_go_timens_offset(const char *pid)
{
	char path[64], line[128];
	int64_t off = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/timens_offsets", pid);
	f = fopen(path, "re");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		long long sec, nsec;
		char clock[32];

		if (sscanf(line, "%31s %lld %lld", clock, &sec, &nsec) == 3 &&
		    (strcmp(clock, "monotonic") == 0 || strcmp(clock, "1") == 0))
			off = (int64_t)sec * RF_NS_PER_SEC + nsec;
	}
	fclose(f);
	return off;
}

/*
 * The target's nanotime() now, which waitsince is compared with: the runtime
 * reads CLOCK_MONOTONIC (sys_linux_amd64.s, nanotime1), which a time
 * namespace shifts.
 */
static int64_t rp_go_target_now(pid_t pid)
{
	char p[32];

	snprintf(p, sizeof(p), "%d", (int)pid);
	return rf_clock_ns(CLOCK_MONOTONIC) + rp_go_timens_offset(p) - rp_go_timens_offset("self");
}

/* ---- the table of goroutines ---------------------------------------------- */

/* allglen first, then the array (allgptr, else allgs' data pointer). */
static int rp_go_allgs_read(struct rp_go_binary *bin, struct rp_go_mem *mem, uint64_t *len,
			    uint64_t *array)
{
	int rc = rp_go_mem_read(mem, bin->addr.allglen, len, sizeof(*len));

	if (rc < 0)
		return rc;
	return rp_go_mem_read(mem, bin->addr.allgptr ? bin->addr.allgptr : bin->addr.allgs, array,
			      sizeof(*array));
}

/* The stack bounds and system-call registers of a g, which the sample does not keep. */
struct rp_go_g_extra {
	uint64_t lo, hi, syscallpc, syscallsp;
};

static void rp_go_g_parse(const struct rp_go_layout *lay, const unsigned char *b,
			  struct rp_go_goroutine *g, struct rp_go_g_extra *x)
{
	const struct rp_go_field *f = lay->g;
	size_t n = lay->g_span;

	*g = (struct rp_go_goroutine){
		.goid = (int64_t)rp_go_field_get(&f[RP_GO_G_goid], b, n),
		.status = (uint32_t)rp_go_field_get(&f[RP_GO_G_status], b, n) &
			  ~(uint32_t)RP_GO_GSCAN,
		.waitreason = (uint8_t)rp_go_field_get(&f[RP_GO_G_waitreason], b, n),
		.waitsince = (int64_t)rp_go_field_get(&f[RP_GO_G_waitsince], b, n),
		.gopc = rp_go_field_get(&f[RP_GO_G_gopc], b, n),
		.startpc = rp_go_field_get(&f[RP_GO_G_startpc], b, n),
		.sched_pc = rp_go_field_get(&f[RP_GO_G_sched_pc], b, n),
		.sched_sp = rp_go_field_get(&f[RP_GO_G_sched_sp], b, n),
		.sched_bp = rp_go_field_get(&f[RP_GO_G_sched_bp], b, n),
	};
	x->lo = rp_go_field_get(&f[RP_GO_G_stack_lo], b, n);
	x->hi = rp_go_field_get(&f[RP_GO_G_stack_hi], b, n);
	x->syscallpc = rp_go_field_get(&f[RP_GO_G_syscallpc], b, n);
	x->syscallsp = rp_go_field_get(&f[RP_GO_G_syscallsp], b, n);
	g->state = (uint8_t)rp_go_state_of(g->status);
	/* Only a waiting goroutine's wait reason means anything, and its wait time. */
	if (g->state != RP_GO_STATE_WAITING)
		g->waitreason = 0;
	if (g->state != RP_GO_STATE_WAITING && g->state != RP_GO_STATE_SYSCALL)
		g->waitsince = 0;
}

/* A goroutine being unwound: where its next frame record is, and its stack's top. */
struct rp_go_walker {
	uint64_t index; /* into the sample's goroutines */
	uint64_t bp, hi;
};

/* The buffers of one batch of walks, allocated once. */
struct rp_go_walk_buf {
	struct rp_go_span spans[RP_GO_WALK_BATCH];
	uint64_t rec[RP_GO_WALK_BATCH][2]; /* [bp], [bp + 8] */
	uint64_t win_lo[RP_GO_WALK_BATCH];
	uint32_t win_len[RP_GO_WALK_BATCH];
	uint32_t act[RP_GO_WALK_BATCH], pend[RP_GO_WALK_BATCH];
	bool ok[RP_GO_WALK_BATCH];
	unsigned char win[RP_GO_WALK_BATCH][RP_GO_STACK_WINDOW];
};

static bool rp_go_in_goexit(const struct rp_go_binary *bin, uint64_t pc)
{
	return pc >= bin->addr.goexit_lo && pc < bin->addr.goexit_hi;
}

/*
 * One level of every active walk of a batch: the record at each bp, from
 * the stack window read for it or, outside it, read on its own (all such
 * reads of the level in one batch). Walks that end drop out of act.
 */
static int rp_go_walk_level(const struct rp_go_binary *bin, struct rp_go_mem *mem,
			    struct rp_go_sample *s, struct rp_go_walker *w,
			    struct rp_go_walk_buf *b, uint32_t *nact)
{
	uint32_t npend = 0, kept = 0;

	for (uint32_t j = 0; j < *nact; j++) {
		uint32_t i = b->act[j];
		uint64_t rel = w[i].bp - b->win_lo[i];

		b->ok[i] = w[i].bp >= b->win_lo[i] && rel + 16 <= b->win_len[i];
		if (b->ok[i]) {
			memcpy(b->rec[i], b->win[i] + rel, sizeof(b->rec[i]));
			continue;
		}
		b->spans[npend] = (struct rp_go_span){.addr = w[i].bp, .buf = b->rec[i], .len = 16};
		b->pend[npend++] = i;
	}
	if (npend > 0) {
		int rc = rp_go_mem_readv(mem, b->spans, npend);

		if (rc < 0)
			return rc;
		for (uint32_t j = 0; j < npend; j++)
			b->ok[b->pend[j]] = b->spans[j].err == 0;
	}
	for (uint32_t j = 0; j < *nact; j++) {
		uint32_t i = b->act[j];
		struct rp_go_goroutine *g = &s->g[w[i].index];
		uint64_t next = b->rec[i][0], ret = b->rec[i][1];

		if (b->ok[i] && rp_go_in_goexit(bin, ret))
			g->complete = true;
		if (!b->ok[i] || ret == 0 || g->complete)
			continue;
		g->frames[g->nframes++] = ret;
		if (next <= w[i].bp || next > w[i].hi - 16 || (next & 7) != 0)
			continue;
		w[i].bp = next;
		b->act[kept++] = i;
	}
	*nact = kept;
	return 0;
}

/*
 * Unwind by frame pointer (amd64: [bp] is the caller's bp, [bp + 8] the
 * return address). process_vm_readv costs more per iovec (the kernel pins
 * each remote page) than per byte, so each goroutine's stack is read once,
 * a window of RP_GO_STACK_WINDOW bytes from its saved bp, where the frames
 * of a parked goroutine usually all are.
 *
 * A walk stops at the depth, at runtime.goexit (the bottom of every
 * goroutine), at an unreadable record, or at a bp that leaves the stack or
 * does not move towards its top: with a racing target that is all the
 * protection needed against loops and wild reads.
 */
static int rp_go_frames_unwind(const struct rp_go_binary *bin, struct rp_go_mem *mem,
			       struct rp_go_sample *s, struct rp_go_walker *w, uint64_t nw,
			       uint32_t depth)
{
	struct rp_go_walk_buf *b = malloc(sizeof(*b));
	int rc = 0;

	if (b == NULL)
		return -ENOMEM;
	for (uint64_t at = 0; at < nw && rc == 0; at += RP_GO_WALK_BATCH) {
		struct rp_go_walker *bw = w + at;
		uint32_t k = (uint32_t)(nw - at < RP_GO_WALK_BATCH ? nw - at : RP_GO_WALK_BATCH);
		uint32_t nact = k;

		for (uint32_t i = 0; i < k; i++) {
			uint64_t room = bw[i].hi - bw[i].bp;

			b->win_lo[i] = bw[i].bp;
			b->win_len[i] =
				(uint32_t)(room < RP_GO_STACK_WINDOW ? room : RP_GO_STACK_WINDOW);
			b->spans[i] = (struct rp_go_span){
				.addr = bw[i].bp, .buf = b->win[i], .len = b->win_len[i]};
			b->act[i] = i;
		}
		rc = rp_go_mem_readv(mem, b->spans, k);
		for (uint32_t i = 0; rc == 0 && i < k; i++)
			if (b->spans[i].err < 0)
				b->win_len[i] = 0; /* its records are read one by one instead */
		for (uint32_t d = 1; rc == 0 && d < depth && nact > 0; d++)
			rc = rp_go_walk_level(bin, mem, s, bw, b, &nact);
	}
	free(b);
	return rc;
}

/*
 * The frame pointer of a goroutine in a system call, whose saved registers
 * hold none (entersyscall saves pc and sp only): its frame at syscallpc
 * keeps the caller's at CFA - 16, the CFA found from syscallsp by the
 * binary's call frame information, as Go's traceback finds it. 0 when
 * unknown.
 */
static uint64_t rp_go_syscall_bp(struct rp_go_binary *bin, uint64_t pc, uint64_t sp)
{
	int64_t off;

	if (pc == 0 || sp == 0 || rp_go_binary_cfa_offset(bin, pc, &off) < 0 || off < 16 ||
	    off > (int64_t)RP_GO_STACK_MAX)
		return 0;
	return sp + (uint64_t)off - 16;
}

/*
 * Keep g as the sample's next goroutine, give it its first frame (where it
 * resumes, or the system call it is in), and say whether the frames further
 * down can be walked from g->sched_bp.
 */
static bool rp_go_g_keep(struct rp_go_binary *bin, struct rp_go_sample *s, uint32_t depth,
			 const struct rp_go_g_extra *x)
{
	struct rp_go_goroutine *g = &s->g[s->count];

	g->frames = s->frame_pool + s->count * depth;
	s->count++;
	if (g->state == RP_GO_STATE_SYSCALL) {
		uint64_t pc = x->syscallpc ? x->syscallpc : g->sched_pc;

		g->frames[g->nframes++] = pc;
		g->sched_bp = bin->amd64
				      ? rp_go_syscall_bp(bin, pc,
							 x->syscallsp ? x->syscallsp : g->sched_sp)
				      : 0;
	} else if ((g->state == RP_GO_STATE_WAITING || g->state == RP_GO_STATE_RUNNABLE) &&
		   g->sched_pc != 0) {
		g->frames[g->nframes++] = g->sched_pc;
	} else {
		return false; /* a running goroutine's saved registers are stale: no frames */
	}
	/* bp is checked to be a pointer first, so bp + 16 cannot wrap. */
	return depth > 1 && bin->amd64 && x->hi > x->lo && x->hi - x->lo <= RP_GO_STACK_MAX &&
	       rp_go_ptr_ok(g->sched_bp) && g->sched_sp >= x->lo && g->sched_bp >= g->sched_sp &&
	       g->sched_bp + 16 <= x->hi;
}

static int rp_go_goroutines_read(struct rp_go_binary *bin, struct rp_go_mem *mem, uint32_t depth,
				 struct rp_go_sample *s, const uint64_t *ptrs, uint64_t n,
				 struct rp_go_walker *w, uint64_t *nw)
{
	const struct rp_go_layout *lay = &bin->layout;
	struct rp_go_span *spans = malloc(RP_GO_G_BATCH * sizeof(*spans));
	unsigned char *buf = malloc((size_t)RP_GO_G_BATCH * lay->g_span);
	int rc = spans != NULL && buf != NULL ? 0 : -ENOMEM;

	for (uint64_t at = 0; rc == 0 && at < n; at += RP_GO_G_BATCH) {
		uint64_t k = n - at < RP_GO_G_BATCH ? n - at : RP_GO_G_BATCH, m = 0;

		for (uint64_t i = 0; i < k; i++) {
			if (!rp_go_ptr_ok(ptrs[at + i])) {
				s->unreadable++;
				continue;
			}
			spans[m] = (struct rp_go_span){.addr = ptrs[at + i],
						       .buf = buf + m * lay->g_span,
						       .len = lay->g_span};
			m++;
		}
		rc = rp_go_mem_readv(mem, spans, m);
		for (uint64_t i = 0; rc == 0 && i < m; i++) {
			struct rp_go_goroutine *g = &s->g[s->count];
			struct rp_go_g_extra x;

			if (spans[i].err < 0) {
				s->unreadable++;
				continue;
			}
			rp_go_g_parse(lay, buf + i * lay->g_span, g, &x);
			if (g->status == RP_GO_GDEAD || g->status == RP_GO_GIDLE) {
				s->dead++;
				continue;
			}
			if (rp_go_g_keep(bin, s, depth, &x))
				w[(*nw)++] = (struct rp_go_walker){
					.index = s->count - 1, .bp = g->sched_bp, .hi = x.hi};
		}
	}
	free(spans);
	free(buf);
	return rc;
}

/* The array of *g, a page-sized span at a time, so a hole costs only its chunk. */
static int rp_go_ptrs_read(struct rp_go_mem *mem, uint64_t array, uint64_t n, uint64_t *ptrs)
{
	size_t nchunks = (n + RP_GO_PTR_CHUNK - 1) / RP_GO_PTR_CHUNK;
	struct rp_go_span *spans = calloc(nchunks ? nchunks : 1, sizeof(*spans));
	int rc;

	if (spans == NULL)
		return -ENOMEM;
	for (size_t c = 0; c < nchunks; c++) {
		uint64_t first = (uint64_t)c * RP_GO_PTR_CHUNK;
		uint64_t k = n - first < RP_GO_PTR_CHUNK ? n - first : RP_GO_PTR_CHUNK;

		spans[c] = (struct rp_go_span){
			.addr = array + first * 8, .buf = ptrs + first, .len = (uint32_t)(k * 8)};
	}
	rc = rp_go_mem_readv(mem, spans, nchunks);
	for (size_t c = 0; rc == 0 && c < nchunks; c++)
		if (spans[c].err < 0) /* zeros: counted as unreadable by the pointer check */
			memset(spans[c].buf, 0, spans[c].len);
	free(spans);
	return rc;
}

int rp_go_sample_take(struct rp_go_binary *bin, struct rp_go_mem *mem,
		      const struct rp_go_sample_options *opts, struct rp_go_sample *s)
{
	uint64_t len = 0, array = 0, n, nw = 0, calls0 = mem->calls, bytes0 = mem->bytes;
	uint32_t depth = opts->depth;
	struct rp_go_walker *w = NULL;
	uint64_t *ptrs = NULL;
	int rc;

	memset(s, 0, sizeof(*s));
	if (depth < 1 || depth > RP_GO_DEPTH_MAX)
		depth = RP_GO_DEPTH_DEFAULT;
	rc = rp_go_allgs_read(bin, mem, &len, &array);
	if (rc < 0)
		return rc == -EFAULT ? -EIO : rc;
	s->allglen = n = len;
	if (n > opts->max_goroutines) {
		n = opts->max_goroutines;
		s->truncated = true;
	}
	if (n > 0 && !rp_go_ptr_ok(array))
		return -EIO; /* a length without an array: not the runtime the binary describes */
	if (bin->addr.fing_running != 0) {
		uint8_t b = 0;

		if (rp_go_mem_read(mem, bin->addr.fing_running, &b, 1) == 0)
			s->fing_running = b != 0;
	}
	ptrs = calloc(n ? n : 1, sizeof(*ptrs));
	w = calloc(n ? n : 1, sizeof(*w));
	s->g = calloc(n ? n : 1, sizeof(*s->g));
	/* Address space for every frame of every goroutine; only live ones touch theirs. */
	s->frame_pool = calloc(n ? n * depth : 1, sizeof(*s->frame_pool));
	rc = ptrs && w && s->g && s->frame_pool ? 0 : -ENOMEM;
	if (rc == 0)
		rc = rp_go_ptrs_read(mem, array, n, ptrs);
	if (rc == 0)
		rc = rp_go_goroutines_read(bin, mem, depth, s, ptrs, n, w, &nw);
	s->taken_ns = rp_go_target_now(bin->pid);
	if (rc == 0)
		rc = rp_go_frames_unwind(bin, mem, s, w, nw, depth);
	free(ptrs);
	free(w);
	if (rc < 0) {
		rp_go_sample_release(s);
		return rc;
	}
	s->calls = mem->calls - calls0;
	s->bytes = mem->bytes - bytes0;
	return 0;
}

void rp_go_sample_release(struct rp_go_sample *s)
{
	free(s->g);
	free(s->frame_pool);
	s->g = NULL;
	s->frame_pool = NULL;
	s->count = 0;
}
