/*
 * rf_thread.c - the thread registry.
 *
 * Ordering hazards:
 * - a thread may end, and be joined or detached, before its creator has
 *   finished rf_thread_create_end: the CREATING flag keeps its record until
 *   the creator lets go;
 * - after the real pthread_join returns, the joined thread's pthread_t can be
 *   reused by a thread created at once elsewhere, so records are found before
 *   the real join/detach and released by pointer after it;
 * - /proc reads and symbol lookups run outside the lock on copies, and their
 *   results are applied only if the record still has the serial it had;
 * - a joinable thread does not take the lock as it ends (thread creation
 *   pays for every cache line the new thread pulls from its creator's core):
 *   it stores how it ended in its record (`ended`) and never touches the
 *   record again; whoever holds the lock next for that record (its joiner,
 *   its detacher, the publisher's pass over every record) applies the end
 *   (rf_thread_absorb). A detached thread, which nobody else settles, ends
 *   under the lock; it learns which it is from `detached`, a copy of the
 *   flag kept by rf_thread_flags.
 */
#define _GNU_SOURCE
#include "rf_thread.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "rf_pool.h"
#include "rf_proc.h"

/* uthash over mmap: its tables never touch malloc. */
static size_t rf_thread_hash_bytes;
static int rf_thread_hash_failed;

static void *rf_thread_hash_alloc(size_t size)
{
	void *p = rf_pool_map(size);

	if (p != NULL)
		rf_thread_hash_bytes += size;
	return p;
}

static void rf_thread_hash_free(void *ptr, size_t size)
{
	if (ptr == NULL)
		return;
	rf_pool_unmap(ptr, size);
	rf_thread_hash_bytes -= size;
}

/*
 * Every key is one 64-bit word (a pthread_t, a stack key), and thread
 * creation pays for four lookups: a multiply between two folds mixes it
 * (uthash's default hash walks the key a byte at a time).
 */
static inline unsigned rf_thread_hash_word(const void *key)
{
	uint64_t k;

	memcpy(&k, key, sizeof(k));
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (unsigned)k;
}

/* The array's size fails the build for a key of any other length. */
#define HASH_FUNCTION(keyptr, keylen, hashv)                                                       \
	((void)sizeof(char[(keylen) == sizeof(uint64_t) ? 1 : -1]),                                \
	 (hashv) = rf_thread_hash_word(keyptr))
#define HASH_NONFATAL_OOM 1
#define uthash_malloc(sz) rf_thread_hash_alloc(sz)
#define uthash_free(ptr, sz) rf_thread_hash_free(ptr, sz)
#define uthash_nonfatal_oom(obj) (rf_thread_hash_failed = 1)
#include <uthash.h>

/*
 * Records by pthread_t, which thread creation pays to insert, find and
 * delete once each: open addressing with linear probing over a mapped array
 * of (pthread_t, record) slots, at most half full, deleted by shifting the
 * entries after back (no tombstones): a few instructions an operation, where
 * uthash's chained buckets walk a list (docs/benchmarks.md). Under the
 * registry lock.
 */
struct rf_thread_slot {
	uint64_t handle;
	struct rf_thread *t; /* NULL: empty */
};

static struct {
	struct rf_thread_slot *slots;
	size_t mask; /* capacity - 1, capacity a power of two; 0 when unmapped */
	size_t count;
} rf_thread_slots;

#define RF_THREAD_SLOTS_MIN 256

static size_t rf_thread_slots_home(uint64_t handle)
{
	return rf_thread_hash_word(&handle) & rf_thread_slots.mask;
}

/* The slot of slots[mask + 1] holding handle, or the empty one where it would go. */
static struct rf_thread_slot *rf_thread_slots_slot(struct rf_thread_slot *slots, size_t mask,
						   uint64_t handle)
{
	for (size_t i = rf_thread_hash_word(&handle) & mask;; i = (i + 1) & mask)
		if (slots[i].t == NULL || slots[i].handle == handle)
			return &slots[i];
}

/* The same in the table (mapped). */
static struct rf_thread_slot *rf_thread_slots_probe(uint64_t handle)
{
	return rf_thread_slots_slot(rf_thread_slots.slots, rf_thread_slots.mask, handle);
}

static struct rf_thread *rf_thread_slots_find(uint64_t handle)
{
	return rf_thread_slots.slots != NULL ? rf_thread_slots_probe(handle)->t : NULL;
}

/* Twice the capacity (RF_THREAD_SLOTS_MIN at first); false when mmap failed. */
static bool rf_thread_slots_grow(void)
{
	size_t cap = rf_thread_slots.slots ? (rf_thread_slots.mask + 1) * 2 : RF_THREAD_SLOTS_MIN;
	struct rf_thread_slot *slots = rf_thread_hash_alloc(cap * sizeof(*slots));

	if (slots == NULL)
		return false;
	for (size_t i = 0; rf_thread_slots.slots != NULL && i <= rf_thread_slots.mask; i++)
		if (rf_thread_slots.slots[i].t != NULL) /* handles are unique: an empty slot */
			*rf_thread_slots_slot(slots, cap - 1, rf_thread_slots.slots[i].handle) =
				rf_thread_slots.slots[i];
	if (rf_thread_slots.slots != NULL)
		rf_thread_hash_free(rf_thread_slots.slots,
				    (rf_thread_slots.mask + 1) * sizeof(*slots));
	rf_thread_slots.slots = slots;
	rf_thread_slots.mask = cap - 1;
	return true;
}

/* Room for one more entry; false when full and it cannot grow. */
static bool rf_thread_slots_reserve(void)
{
	if ((rf_thread_slots.count + 1) * 2 <=
	    (rf_thread_slots.slots ? rf_thread_slots.mask + 1 : 0))
		return true;
	/* Short of growing, keep one slot empty, or probes would not end. */
	return rf_thread_slots_grow() || rf_thread_slots.count + 1 <= rf_thread_slots.mask;
}

static void rf_thread_slots_delete(uint64_t handle, const struct rf_thread *t)
{
	size_t i, j, mask = rf_thread_slots.mask;

	if (rf_thread_slots.slots == NULL)
		return;
	for (i = rf_thread_slots_home(handle); rf_thread_slots.slots[i].t != t; i = (i + 1) & mask)
		if (rf_thread_slots.slots[i].t == NULL)
			return;
	/* Move back each later entry of the run that may not sit past the hole. */
	for (j = (i + 1) & mask; rf_thread_slots.slots[j].t != NULL; j = (j + 1) & mask) {
		size_t home = rf_thread_slots_home(rf_thread_slots.slots[j].handle);
		if (((j - home) & mask) >= ((j - i) & mask)) {
			rf_thread_slots.slots[i] = rf_thread_slots.slots[j];
			i = j;
		}
	}
	rf_thread_slots.slots[i].t = NULL;
	rf_thread_slots.count--;
}

static void rf_thread_slots_clear(void)
{
	if (rf_thread_slots.slots != NULL)
		rf_thread_hash_free(rf_thread_slots.slots,
				    (rf_thread_slots.mask + 1) * sizeof(*rf_thread_slots.slots));
	rf_thread_slots.slots = NULL;
	rf_thread_slots.mask = rf_thread_slots.count = 0;
}

/* Flags beyond the published ones (enum rf_shm_thread_flags). */
#define RF_THREAD_CREATING 0x100u /* the creator has not finished create_end */
#define RF_THREAD_JOINING 0x200u
#define RF_THREAD_JOINED 0x400u
#define RF_THREAD_HASHED 0x800u /* in rf_thread_slots */
#define RF_THREAD_PUBLIC (RF_SHM_THREAD_EXITED | RF_SHM_THREAD_DETACHED | RF_SHM_THREAD_C11)

struct rf_thread_group {
	UT_hash_handle hh;            /* by key */
	struct rf_thread_group *next; /* every group, in creation order */
	uint64_t key;
	uint32_t nframes;
	uint32_t flags;
	uintptr_t frames[RF_SHM_THREAD_FRAMES];
	uintptr_t start_routine;
	char start_name[RF_SHM_SYMBOL_MAX];
	char creator[RF_SHM_SYMBOL_MAX]; /* the function that called pthread_create */
	bool named;
	char thread_name[RF_SHM_THREAD_NAME_MAX]; /* the last its threads had: kept once they end */
	uint32_t heap_id; /* heap attribution (docs/heap.md): never reused, 0 once all are taken */
	uint64_t alive, unjoined, created, exited, alive_max;
	struct {
		int64_t at;
		uint64_t alive;
	} hist[RF_THREAD_HIST];
	uint32_t hist_next;
	/* Scratch of one publish or sample selection. */
	uint32_t index;
	uint64_t growth;
	int64_t oldest, newest;
	pid_t cand_tid;
	int64_t cand_created;
};

struct rf_thread {
	/* What the thread itself reads and writes, alone on the first cache line,
	 * which its creator writes only before the thread exists: thread creation
	 * pays for each line that moves between the two threads' cores. The first
	 * word is the pool's free-list link while the record is free. */
	void *(*fn)(void *);
	int (*fn_c11)(void *);
	void *arg;
	int64_t exit_ns;   /* stored by the thread before `ended` */
	uint32_t ended;    /* atomic: enum rf_shm_thread_end, stored by the thread; 0: running */
	pid_t tid;         /* atomic: stored by the thread */
	uint32_t heap_id;  /* its group's, copied at creation */
	uint32_t detached; /* atomic: the DETACHED flag, for the ending thread */
	/* The rest is the registry's, under the lock. */
	uint32_t flags __attribute__((aligned(64)));
	struct rf_thread *prev, *next;
	uint64_t serial;
	uint64_t handle;
	struct rf_thread_group *group;
	uintptr_t start_routine;
	int64_t create_ns, state_since_ns, state_read_ns;
	pid_t creator_tid;
	uint32_t end;
	int32_t syscall;
	uint32_t state;
	char name[RF_SHM_THREAD_NAME_MAX];
	char wchan[RF_SHM_WCHAN_MAX];
} __attribute__((aligned(64))); /* pool records start on a cache line */

struct rf_thread_sample {
	struct rf_thread_group *group;
	pid_t tid;
	uint32_t status, nframes;
	int64_t taken_ns;
	uintptr_t frames[RF_SHM_THREAD_FRAMES];
};

static struct {
	uint32_t lock; /* atomic: see rf_thread_lock */
	bool ready;
	struct rf_pool threads, groups;
	struct rf_thread_group *by_key;
	struct rf_thread *head, *tail;
	struct rf_thread_group *groups_head, *groups_tail;
	struct rf_thread_group overflow; /* when the group pool is full */
	bool overflow_linked;
	uint64_t serial;
	uint64_t created, exited, joined, untracked, tracked, ngroups;
	uint32_t heap_ids; /* the next heap id: 0 none, 1 the overflow group */
	int64_t last_tick;
	rf_thread_namer_fn namer;
	/* The last sample request served. */
	uint64_t sample_nonce;
	int64_t sample_ns;
	uint32_t sample_status, sample_signal;
	size_t nsamples;
	struct rf_thread_sample samples[RF_SHM_THREAD_SAMPLES_MAX];
} rf_reg;

/*
 * The registry lock: a futex word, 0 free, 1 held, 2 held with sleepers
 * (Drepper, "Futexes Are Tricky", mutex 2). Thread creation takes it four
 * times; glibc's mutex spends most of a round trip on its type dispatch,
 * this one a locked exchange each way.
 */
static void rf_thread_lock_init(void)
{
	__atomic_store_n(&rf_reg.lock, 0, __ATOMIC_RELAXED);
}

static bool rf_thread_trylock(void)
{
	uint32_t free_ = 0;

	return __atomic_compare_exchange_n(&rf_reg.lock, &free_, 1, false, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}

static __attribute__((noinline)) void rf_thread_lock_wait(void)
{
	int saved = errno;

	/* Critical sections are a few dozen instructions: spin a little first. */
	for (int i = 0; i < 100; i++) {
		if (__atomic_load_n(&rf_reg.lock, __ATOMIC_RELAXED) == 0 && rf_thread_trylock())
			goto out;
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
	}
	while (__atomic_exchange_n(&rf_reg.lock, 2, __ATOMIC_ACQUIRE) != 0)
		syscall(SYS_futex, &rf_reg.lock, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
out:
	errno = saved;
}

static void rf_thread_lock(void)
{
	if (!rf_thread_trylock())
		rf_thread_lock_wait();
}

static void rf_thread_unlock(void)
{
	if (__atomic_exchange_n(&rf_reg.lock, 0, __ATOMIC_RELEASE) == 2) {
		int saved = errno;

		syscall(SYS_futex, &rf_reg.lock, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
		errno = saved;
	}
}

/* Within about 100 ms, or not at all: the exit path must not hang. */
static int rf_thread_lock_bounded(void)
{
	for (int i = 0; i < 100; i++) {
		if (rf_thread_trylock())
			return 0;
		struct timespec ms = {0, 1000000};
		nanosleep(&ms, NULL);
	}
	return -EBUSY;
}

/* Under the lock. */
static void rf_thread_ready(void)
{
	if (rf_reg.ready)
		return;
	rf_pool_init(&rf_reg.threads, sizeof(struct rf_thread), 256, RF_THREAD_MAX);
	/* 17 x 15: one group short of the table, which the overflow group completes. */
	rf_pool_init(&rf_reg.groups, sizeof(struct rf_thread_group), 15,
		     RF_SHM_THREAD_GROUPS_MAX - 1);
	rf_reg.overflow.flags = RF_SHM_GROUP_OVERFLOW;
	rf_reg.overflow.named = true;
	rf_reg.overflow.heap_id = 1;
	if (rf_reg.heap_ids < 2)
		rf_reg.heap_ids = 2;
	rf_reg.ready = true;
}

static uint64_t rf_thread_stack_key(const uintptr_t *frames, int n)
{
	uint64_t h = (uint64_t)n * 0x9e3779b97f4a7c15ULL;

	/* A word at a time (thread creation pays for this): mix, multiply, fold. */
	for (int i = 0; i < n; i++) {
		h = (h ^ (uint64_t)frames[i]) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	return h;
}

static void rf_thread_group_link(struct rf_thread_group *g)
{
	g->next = NULL;
	if (rf_reg.groups_tail)
		rf_reg.groups_tail->next = g;
	else
		rf_reg.groups_head = g;
	rf_reg.groups_tail = g;
	rf_reg.ngroups++;
}

/* The group of a creation stack, created on first sight; the overflow group when full. */
static struct rf_thread_group *rf_thread_group_get(const uintptr_t *frames, int n,
						   uintptr_t start_routine)
{
	struct rf_thread_group *g;
	uint64_t key;

	if (n > RF_SHM_THREAD_FRAMES)
		n = RF_SHM_THREAD_FRAMES;
	if (n < 0)
		n = 0;
	key = rf_thread_stack_key(frames, n);
	HASH_FIND(hh, rf_reg.by_key, &key, sizeof(key), g);
	if (g != NULL)
		return g;
	g = rf_pool_alloc(&rf_reg.groups);
	if (g == NULL)
		goto overflow;
	g->key = key;
	g->nframes = (uint32_t)n;
	memcpy(g->frames, frames, (size_t)n * sizeof(frames[0]));
	g->start_routine = start_routine;
	rf_thread_hash_failed = 0;
	HASH_ADD(hh, rf_reg.by_key, key, sizeof(g->key), g);
	if (rf_thread_hash_failed) {
		rf_pool_free(&rf_reg.groups, g);
		goto overflow;
	}
	g->heap_id = rf_reg.heap_ids < RF_SHM_HEAP_IDS ? rf_reg.heap_ids++ : 0;
	rf_thread_group_link(g);
	return g;
overflow:
	if (!rf_reg.overflow_linked) {
		rf_thread_group_link(&rf_reg.overflow);
		rf_reg.overflow_linked = true;
	}
	return &rf_reg.overflow;
}

/* Under the lock: set and clear flags, and keep the ending thread's copy of DETACHED. */
static void rf_thread_flags(struct rf_thread *t, uint32_t set, uint32_t clear)
{
	t->flags = (t->flags | set) & ~clear;
	if (set & RF_SHM_THREAD_DETACHED)
		__atomic_store_n(&t->detached, 1, __ATOMIC_SEQ_CST);
}

static void rf_thread_release(struct rf_thread *t)
{
	if (t->flags & RF_THREAD_HASHED)
		rf_thread_slots_delete(t->handle, t);
	if (t->prev)
		t->prev->next = t->next;
	else
		rf_reg.head = t->next;
	if (t->next)
		t->next->prev = t->prev;
	else
		rf_reg.tail = t->prev;
	rf_reg.tracked--;
	t->serial = 0; /* what rf_thread_maintain checks before it writes to a record */
	rf_pool_free(&rf_reg.threads, t);
}

/* Release the record once nothing refers to it any more; true when released. */
static bool rf_thread_settle(struct rf_thread *t)
{
	if ((t->flags & RF_SHM_THREAD_EXITED) && !(t->flags & RF_THREAD_CREATING) &&
	    (t->flags & (RF_SHM_THREAD_DETACHED | RF_THREAD_JOINED))) {
		rf_thread_release(t);
		return true;
	}
	return false;
}

/*
 * Under the lock: t has ended (how, at exit_ns); count it, release it if
 * nothing holds it. True when released.
 */
static bool rf_thread_exit_apply(struct rf_thread *t, unsigned how, int64_t exit_ns)
{
	if (t->flags & RF_SHM_THREAD_EXITED)
		return false;
	rf_thread_flags(t, RF_SHM_THREAD_EXITED, 0);
	t->end = how;
	t->exit_ns = exit_ns;
	t->group->alive--;
	t->group->exited++;
	rf_reg.exited++;
	if (!(t->flags & (RF_SHM_THREAD_DETACHED | RF_THREAD_JOINED)))
		t->group->unjoined++;
	return rf_thread_settle(t);
}

/*
 * Under the lock: apply an end the thread stored without it. False when
 * that released the record (t must not be used any more).
 */
static bool rf_thread_absorb(struct rf_thread *t)
{
	unsigned how = __atomic_load_n(&t->ended, __ATOMIC_ACQUIRE);

	if (how == RF_SHM_THREAD_END_NONE || (t->flags & RF_SHM_THREAD_EXITED))
		return true;
	return !rf_thread_exit_apply(t, how, t->exit_ns);
}

/* Apply every stored end: before the registry is read as a whole. */
static void rf_thread_absorb_all(void)
{
	struct rf_thread *t, *next;

	for (t = rf_reg.head; t != NULL; t = next) {
		next = t->next;
		rf_thread_absorb(t);
	}
}

/*
 * Find t by handle from now on. glibc hands out a pthread_t again once its
 * thread has exited and been joined or detached. A record still under it
 * belongs to such a thread whose end is not applied yet (it ended while
 * being detached, and left its record to the publisher's next pass): t
 * takes its slot, and the publisher still settles it.
 */
static void rf_thread_hash_add(struct rf_thread *t, uint64_t handle)
{
	struct rf_thread_slot *e;

	if (t->flags & RF_THREAD_HASHED)
		return;
	t->handle = handle;
	if (!rf_thread_slots_reserve())
		return;
	e = rf_thread_slots_probe(handle);
	if (e->t != NULL)
		rf_thread_flags(e->t, 0, RF_THREAD_HASHED);
	else
		rf_thread_slots.count++;
	*e = (struct rf_thread_slot){handle, t};
	rf_thread_flags(t, RF_THREAD_HASHED, 0);
}

static struct rf_thread *rf_thread_record_new(const uintptr_t *frames, int nframes,
					      uintptr_t start_routine, int64_t now_ns)
{
	struct rf_thread *t;

	rf_thread_ready();
	t = rf_pool_alloc(&rf_reg.threads);
	if (t == NULL) {
		rf_reg.untracked++;
		return NULL;
	}
	t->serial = ++rf_reg.serial;
	t->group = rf_thread_group_get(frames, nframes, start_routine);
	t->heap_id = t->group->heap_id;
	t->start_routine = start_routine;
	t->create_ns = now_ns;
	t->syscall = -2;
	t->prev = rf_reg.tail;
	if (rf_reg.tail)
		rf_reg.tail->next = t;
	else
		rf_reg.head = t;
	rf_reg.tail = t;
	rf_reg.tracked++;
	rf_reg.created++;
	t->group->created++;
	if (++t->group->alive > t->group->alive_max)
		t->group->alive_max = t->group->alive;
	return t;
}

struct rf_thread *rf_thread_create_begin(const uintptr_t *frames, int nframes,
					 uintptr_t start_routine, unsigned flags, pid_t creator_tid,
					 int64_t now_ns)
{
	struct rf_thread *t;

	rf_thread_lock();
	t = rf_thread_record_new(frames, nframes, start_routine, now_ns);
	if (t != NULL) {
		t->flags =
			RF_THREAD_CREATING | (flags & (RF_SHM_THREAD_DETACHED | RF_SHM_THREAD_C11));
		t->detached = (flags & RF_SHM_THREAD_DETACHED) != 0;
		t->creator_tid = creator_tid;
	}
	rf_thread_unlock();
	return t;
}

void rf_thread_create_end(struct rf_thread *t, uint64_t handle, bool created)
{
	if (t == NULL)
		return;
	rf_thread_lock();
	if (!created) {
		/* It never existed: take back what create_begin counted. */
		t->group->created--;
		t->group->alive--;
		rf_reg.created--;
		rf_thread_release(t);
	} else {
		/* An end the thread stored already waits for its joiner or detacher
		 * (reading it here would pull the thread's line back mid-start). */
		rf_thread_hash_add(t, handle);
		rf_thread_flags(t, 0, RF_THREAD_CREATING);
		rf_thread_settle(t);
	}
	rf_thread_unlock();
}

void rf_thread_start_set(struct rf_thread *t, void *(*fn)(void *), int (*fn_c11)(void *), void *arg)
{
	t->fn = fn;
	t->fn_c11 = fn_c11;
	t->arg = arg;
}

void rf_thread_start_get(const struct rf_thread *t, void *(**fn)(void *), int (**fn_c11)(void *),
			 void **arg)
{
	*fn = t->fn;
	*fn_c11 = t->fn_c11;
	*arg = t->arg;
}

void rf_thread_started(struct rf_thread *t, uint64_t handle, pid_t tid)
{
	/* No lock: the creator hashes the record (a thread that detaches or joins
	 * itself is found through its TLS pointer instead); readers of tid take
	 * the lock, which orders this store for them. */
	(void)handle;
	__atomic_store_n(&t->tid, tid, __ATOMIC_RELEASE);
}

void rf_thread_ended(struct rf_thread *t, unsigned how, int64_t now_ns)
{
	if (how == RF_SHM_THREAD_END_NONE)
		how = RF_SHM_THREAD_END_CANCEL;
	if (__atomic_load_n(&t->detached, __ATOMIC_SEQ_CST)) {
		/* Nobody else will settle it: count and release it now. */
		rf_thread_lock();
		rf_thread_exit_apply(t, how, now_ns);
		rf_thread_unlock();
		return;
	}
	/* Joinable: its joiner (or detacher, or the publisher) applies this.
	 * A detach that lands between the load above and this store leaves the
	 * record to the publisher's next pass. */
	rf_thread_ended_store(t, how, now_ns);
}

void rf_thread_ended_store(struct rf_thread *t, unsigned how, int64_t now_ns)
{
	__atomic_store_n(&t->exit_ns, now_ns, __ATOMIC_RELAXED);
	__atomic_store_n(&t->ended, how, __ATOMIC_RELEASE);
}

static struct rf_thread *rf_thread_find(uint64_t handle)
{
	return rf_reg.ready ? rf_thread_slots_find(handle) : NULL;
}

struct rf_thread *rf_thread_join_begin(uint64_t handle)
{
	struct rf_thread *t;

	rf_thread_lock();
	t = rf_thread_find(handle);
	if (t != NULL && (t->flags & (RF_THREAD_JOINED | RF_SHM_THREAD_DETACHED)))
		t = NULL; /* joining a detached thread is an error the real call reports */
	if (t != NULL)
		rf_thread_flags(t, RF_THREAD_JOINING, 0);
	rf_thread_unlock();
	return t;
}

void rf_thread_join_end(struct rf_thread *t, bool joined, int64_t now_ns)
{
	if (t == NULL)
		return;
	rf_thread_lock();
	rf_thread_flags(t, 0, RF_THREAD_JOINING);
	if (joined) {
		rf_thread_absorb(t); /* joinable: never released by its end alone */
		if (!(t->flags & RF_SHM_THREAD_EXITED)) {
			/* Its end was not seen (it cannot have run our trampoline's end). */
			rf_thread_flags(t, RF_SHM_THREAD_EXITED, 0);
			t->exit_ns = now_ns;
			t->group->alive--;
			t->group->exited++;
			rf_reg.exited++;
		} else if (!(t->flags & RF_SHM_THREAD_DETACHED)) {
			t->group->unjoined--;
		}
		rf_thread_flags(t, RF_THREAD_JOINED, 0);
		rf_reg.joined++;
		rf_thread_settle(t);
	}
	rf_thread_unlock();
}

struct rf_thread *rf_thread_detach_begin(uint64_t handle)
{
	struct rf_thread *t;

	rf_thread_lock();
	t = rf_thread_find(handle);
	/* With a joiner already waiting, glibc's pthread_detach returns 0 and
	 * detaches nothing: the joiner settles the record. */
	if (t != NULL &&
	    (t->flags & (RF_THREAD_JOINED | RF_SHM_THREAD_DETACHED | RF_THREAD_JOINING)))
		t = NULL;
	rf_thread_unlock();
	return t;
}

void rf_thread_detach_end(struct rf_thread *t, bool detached)
{
	if (t == NULL || !detached)
		return;
	rf_thread_lock();
	if (!(t->flags & (RF_SHM_THREAD_DETACHED | RF_THREAD_JOINED))) {
		rf_thread_absorb(t); /* joinable until now: not released by it */
		if (t->flags & RF_SHM_THREAD_EXITED)
			t->group->unjoined--;
		rf_thread_flags(t, RF_SHM_THREAD_DETACHED, 0);
		rf_thread_settle(t);
	}
	rf_thread_unlock();
}

/* Under the lock: t's name, and its group's, which outlives the thread. */
static void rf_thread_name_copy(struct rf_thread *t, const char *name)
{
	size_t n = strnlen(name, sizeof(t->name) - 1);

	memcpy(t->name, name, n);
	t->name[n] = '\0';
	memcpy(t->group->thread_name, t->name, sizeof(t->name));
}

void rf_thread_name_set(struct rf_thread *t, const char *name)
{
	if (t == NULL || name == NULL)
		return;
	rf_thread_lock();
	rf_thread_name_copy(t, name);
	rf_thread_unlock();
}

void rf_thread_name_set_handle(uint64_t handle, const char *name)
{
	struct rf_thread *t;

	if (name == NULL)
		return;
	rf_thread_lock();
	t = rf_thread_find(handle);
	if (t != NULL)
		rf_thread_name_copy(t, name);
	rf_thread_unlock();
}

struct rf_thread *rf_thread_adopt(const uintptr_t *frames, int nframes, uintptr_t start_routine,
				  uint64_t handle, pid_t tid, const char *name, int64_t now_ns)
{
	struct rf_thread *t;

	rf_thread_lock();
	t = rf_thread_record_new(frames, nframes, start_routine, now_ns);
	if (t != NULL) {
		t->flags = RF_SHM_THREAD_DETACHED;
		t->detached = 1;
		t->tid = tid;
		t->creator_tid = tid;
		rf_thread_hash_add(t, handle);
		if (name != NULL)
			rf_thread_name_copy(t, name);
	}
	rf_thread_unlock();
	return t;
}

void rf_thread_fork_prepare(void)
{
	rf_thread_lock();
}

void rf_thread_fork_parent(void)
{
	rf_thread_unlock();
}

static void rf_thread_group_reset(struct rf_thread_group *g)
{
	g->alive = g->unjoined = g->created = g->exited = g->alive_max = 0;
	memset(g->hist, 0, sizeof(g->hist));
	g->hist_next = 0;
}

void rf_thread_fork_child(struct rf_thread *keep)
{
	struct rf_thread_group *kg = keep ? keep->group : NULL;
	struct rf_thread *t, *next;
	struct rf_thread_group *g, *gnext;

	rf_thread_lock_init();
	if (!rf_reg.ready)
		return;
	/* Only the forking thread exists in the child. */
	rf_thread_slots_clear();
	for (t = rf_reg.head; t != NULL; t = next) {
		next = t->next;
		if (t != keep)
			rf_pool_free(&rf_reg.threads, t);
	}
	HASH_CLEAR(hh, rf_reg.by_key);
	for (g = rf_reg.groups_head; g != NULL; g = gnext) {
		gnext = g->next;
		if (g != kg && g != &rf_reg.overflow)
			rf_pool_free(&rf_reg.groups, g);
	}
	rf_reg.head = rf_reg.tail = NULL;
	rf_reg.groups_head = rf_reg.groups_tail = NULL;
	rf_reg.created = rf_reg.exited = rf_reg.untracked = rf_reg.tracked = rf_reg.ngroups = 0;
	rf_reg.joined = 0;
	rf_reg.nsamples = 0;
	rf_reg.sample_nonce = 0;
	rf_reg.sample_status = RF_SHM_SAMPLE_NONE;
	rf_thread_group_reset(&rf_reg.overflow);
	rf_reg.overflow.next = NULL;
	rf_reg.overflow_linked = false;
	if (keep == NULL)
		return;
	if (kg != &rf_reg.overflow) {
		rf_thread_group_reset(kg);
		HASH_ADD(hh, rf_reg.by_key, key, sizeof(kg->key), kg);
	}
	rf_thread_group_link(kg);
	if (kg == &rf_reg.overflow)
		rf_reg.overflow_linked = true;
	kg->created = kg->alive = kg->alive_max = 1;
	keep->prev = keep->next = NULL;
	rf_reg.head = rf_reg.tail = keep;
	rf_reg.tracked = rf_reg.created = 1;
	rf_thread_flags(keep, 0, RF_THREAD_HASHED | RF_THREAD_JOINING | RF_THREAD_CREATING);
	keep->tid = (pid_t)gettid();
	rf_thread_hash_add(keep, keep->handle);
}

uint32_t rf_thread_heap_id(const struct rf_thread *t)
{
	/* A thread's group never changes, and groups are freed only in a fork child. */
	return t != NULL ? t->heap_id : 0;
}

void rf_thread_namer_set(rf_thread_namer_fn namer)
{
	__atomic_store_n(&rf_reg.namer, namer, __ATOMIC_RELEASE);
}

#define RF_THREAD_STATE_BATCH 64
#define RF_THREAD_NAME_BATCH 16
#define RF_THREAD_STATE_PERIOD_NS 1000000000LL

void rf_thread_maintain(const struct rf_thread_rules *rules, int64_t now_ns)
{
	struct {
		struct rf_thread_group *g;
		uintptr_t addr, caller;
		char name[RF_SHM_SYMBOL_MAX], creator[RF_SHM_SYMBOL_MAX];
		int ok, creator_ok;
	} names[RF_THREAD_NAME_BATCH];
	struct {
		struct rf_thread *t;
		uint64_t serial;
		pid_t tid;
		struct rf_proc_thread_state st;
		bool ok;
	} states[RF_THREAD_STATE_BATCH];
	rf_thread_namer_fn namer = __atomic_load_n(&rf_reg.namer, __ATOMIC_ACQUIRE);
	size_t nn = 0, ns = 0;

	rf_thread_lock();
	if (!rf_reg.ready) {
		rf_thread_unlock();
		return;
	}
	rf_thread_absorb_all();
	for (struct rf_thread_group *g = rf_reg.groups_head; g && nn < RF_THREAD_NAME_BATCH;
	     g = g->next)
		if (!g->named && namer != NULL) {
			names[nn].g = g;
			names[nn].addr = g->start_routine;
			names[nn].caller = g->nframes > 0 ? g->frames[0] : 0;
			names[nn].name[0] = '\0';
			names[nn].creator[0] = '\0';
			nn++;
		}
	for (struct rf_thread *t = rf_reg.head; t && ns < RF_THREAD_STATE_BATCH; t = t->next) {
		if ((t->flags & RF_SHM_THREAD_EXITED) || t->tid == 0 ||
		    (uint64_t)(now_ns - t->create_ns) < rules->age_ns ||
		    now_ns - t->state_read_ns < RF_THREAD_STATE_PERIOD_NS)
			continue;
		states[ns].t = t;
		states[ns].serial = t->serial;
		states[ns].tid = t->tid;
		ns++;
	}
	rf_thread_unlock();

	for (size_t i = 0; i < nn; i++) {
		uintptr_t off = 1;
		/* A start routine is a function's entry: a name at an offset is the
		 * nearest symbol before a function the file does not name (a static
		 * one in a stripped library, such as librdkafka's thread mains). */
		names[i].ok = namer(names[i].addr, names[i].name, sizeof(names[i].name), &off,
				    NULL) == 0 &&
			      off == 0;
		/* frames[0] is a return address: the call is the byte before it. */
		names[i].creator_ok =
			names[i].caller != 0 && namer(names[i].caller - 1, names[i].creator,
						      sizeof(names[i].creator), &off, NULL) == 0;
	}
	for (size_t i = 0; i < ns; i++)
		states[i].ok = rf_proc_thread_state(0, states[i].tid, &states[i].st) == 0;

	rf_thread_lock();
	for (size_t i = 0; i < nn; i++) {
		/* Groups live until a fork child resets them; the child has no publisher. */
		names[i].g->named = true;
		if (names[i].ok)
			memcpy(names[i].g->start_name, names[i].name, sizeof(names[i].name));
		if (names[i].creator_ok)
			memcpy(names[i].g->creator, names[i].creator, sizeof(names[i].creator));
	}
	for (size_t i = 0; i < ns; i++) {
		struct rf_thread *t = states[i].t;
		struct rf_proc_thread_state *st = &states[i].st;

		/* Pool memory stays mapped: a released or reused record has another serial. */
		if (t->serial != states[i].serial)
			continue;
		t->state_read_ns = now_ns;
		if (!states[i].ok)
			continue;
		if (t->state_since_ns == 0 || t->state != st->state || t->syscall != st->syscall ||
		    strcmp(t->wchan, st->wchan) != 0)
			t->state_since_ns = now_ns;
		t->state = st->state;
		t->syscall = st->syscall;
		memcpy(t->wchan, st->wchan, sizeof(t->wchan));
		if (st->name[0])
			rf_thread_name_copy(t, st->name);
	}
	rf_thread_unlock();
}

/* ---- publication -------------------------------------------------------- */

/* One growth sample per group every window/8 (at the publish pace at most). */
static void rf_thread_growth_tick(const struct rf_thread_rules *rules, int64_t now_ns)
{
	int64_t tick = (int64_t)(rules->age_ns / 8);

	if (rf_reg.last_tick != 0 && now_ns - rf_reg.last_tick < tick)
		return;
	rf_reg.last_tick = now_ns;
	for (struct rf_thread_group *g = rf_reg.groups_head; g != NULL; g = g->next) {
		g->hist[g->hist_next].at = now_ns;
		g->hist[g->hist_next].alive = g->alive;
		g->hist_next = (g->hist_next + 1) % RF_THREAD_HIST;
	}
}

/* Alive now minus the fewest alive at any sample strictly within the window. */
static uint64_t rf_thread_growth(const struct rf_thread_group *g,
				 const struct rf_thread_rules *rules, int64_t now_ns)
{
	uint64_t least = g->alive;

	for (int i = 0; i < RF_THREAD_HIST; i++)
		if (g->hist[i].at != 0 && now_ns - g->hist[i].at < (int64_t)rules->age_ns &&
		    g->hist[i].alive < least)
			least = g->hist[i].alive;
	return g->alive - least;
}

static enum rf_thread_class rf_thread_judge(const struct rf_thread *t,
					    const struct rf_thread_rules *rules, int64_t now_ns)
{
	struct rf_thread_facts f = {
		.alive = !(t->flags & RF_SHM_THREAD_EXITED),
		.detached = (t->flags & RF_SHM_THREAD_DETACHED) != 0,
		.age_ns = now_ns > t->create_ns ? (uint64_t)(now_ns - t->create_ns) : 0,
		.name = t->name,
		.start_name = t->group->start_name,
		.creator = t->group->creator,
		.group_alive = t->group->alive,
		.group_growth = t->group->growth,
	};

	return rf_thread_classify(rules, &f);
}

static void rf_thread_entry_fill(struct rf_shm_thread *e, const struct rf_thread *t)
{
	e->handle = t->handle;
	e->start_routine = t->start_routine;
	e->create_ns = t->create_ns;
	e->exit_ns = __atomic_load_n(&t->exit_ns, __ATOMIC_RELAXED);
	e->state_since_ns = t->state_since_ns;
	e->tid = t->tid;
	e->creator_tid = t->creator_tid;
	e->group = t->group->index;
	e->flags = t->flags & RF_THREAD_PUBLIC;
	e->end = t->end;
	e->syscall = t->syscall;
	e->state = t->state;
	e->reserved = 0;
	memcpy(e->name, t->name, sizeof(e->name));
	e->name[sizeof(e->name) - 1] = '\0';
	memcpy(e->wchan, t->wchan, sizeof(e->wchan));
	e->wchan[sizeof(e->wchan) - 1] = '\0';
}

/* A group's entry; its heap from live bytes by heap id (rf_publication). */
static void rf_thread_group_fill(struct rf_shm_thread_group *e, const struct rf_thread_group *g,
				 const int64_t *heap_by_id)
{
	int64_t heap = g->heap_id != 0 && g->heap_id < RF_SHM_HEAP_IDS ? heap_by_id[g->heap_id] : 0;

	memset(e, 0, sizeof(*e));
	memcpy(e->frames, g->frames, g->nframes * sizeof(g->frames[0]));
	e->nframes = g->nframes;
	e->flags = g->flags;
	e->start_routine = g->start_routine;
	memcpy(e->start_name, g->start_name, sizeof(e->start_name));
	e->start_name[sizeof(e->start_name) - 1] = '\0';
	memcpy(e->thread_name, g->thread_name, sizeof(e->thread_name));
	e->thread_name[sizeof(e->thread_name) - 1] = '\0';
	e->alive = g->alive;
	e->unjoined = g->unjoined;
	e->created = g->created;
	e->exited = g->exited;
	e->alive_max = g->alive_max;
	e->growth = g->growth;
	e->oldest_alive_ns = g->oldest;
	e->newest_alive_ns = g->newest;
	e->heap_id = g->heap_id;
	e->heap_live_bytes = heap > 0 ? (uint64_t)heap : 0;
}

void rf_thread_publish(struct rf_publication *pub, const struct rf_thread_rules *rules,
		       int64_t now_ns)
{
	struct rf_segment *seg = pub->seg;
	struct rf_shm_layout *shm = seg->shm;
	uint64_t nthreads = 0, ngroups = 0, nsamples = 0, suspects = 0, alive = 0, unjoined = 0;
	uint64_t attributed = 0, listed = 0, room_groups, room_threads, room_samples;
	struct rf_shm_thread_info *info;

	if (shm == NULL)
		return;
	if (pub->exiting) {
		if (rf_thread_lock_bounded() < 0)
			return;
	} else {
		rf_thread_lock();
	}
	rf_thread_ready();
	rf_thread_absorb_all();
	rf_thread_growth_tick(rules, now_ns);
	/* Entries are written only where the segment's pages could be allocated. */
	for (struct rf_thread_group *g = rf_reg.groups_head; g != NULL; g = g->next)
		listed++;
	room_groups = rf_segment_room(seg, RF_SHM_SECTION_THREAD_GROUPS, listed);
	room_threads = rf_segment_room(seg, RF_SHM_SECTION_THREADS, rf_reg.tracked);
	room_samples = rf_segment_room(seg, RF_SHM_SECTION_THREAD_SAMPLES, rf_reg.nsamples);
	info = rf_segment_room(seg, RF_SHM_SECTION_THREAD_INFO, 1) == 1 ? &shm->thread_info[0]
									: NULL;
	for (struct rf_thread_group *g = rf_reg.groups_head; g != NULL; g = g->next) {
		g->index = ngroups < room_groups ? (uint32_t)ngroups++ : UINT32_MAX;
		g->growth = rf_thread_growth(g, rules, now_ns);
		g->oldest = g->newest = 0;
		alive += g->alive;
		unjoined += g->unjoined;
	}
	for (struct rf_thread *t = rf_reg.head; t != NULL; t = t->next) {
		struct rf_thread_group *g = t->group;

		if (!(t->flags & RF_SHM_THREAD_EXITED)) {
			if (g->oldest == 0 || t->create_ns < g->oldest)
				g->oldest = t->create_ns;
			if (t->create_ns > g->newest)
				g->newest = t->create_ns;
		}
		if (rf_thread_class_is_leak(rf_thread_judge(t, rules, now_ns)))
			suspects++;
		if (nthreads < room_threads && g->index != UINT32_MAX)
			rf_thread_entry_fill(&shm->threads[nthreads++], t);
	}
	for (struct rf_thread_group *g = rf_reg.groups_head; g != NULL; g = g->next)
		if (g->index != UINT32_MAX) {
			rf_thread_group_fill(&shm->thread_groups[g->index], g, pub->heap_by_id);
			attributed += shm->thread_groups[g->index].heap_live_bytes;
		}
	for (size_t i = 0; i < rf_reg.nsamples; i++) {
		const struct rf_thread_sample *s = &rf_reg.samples[i];
		struct rf_shm_thread_sample *e = &shm->thread_samples[nsamples];

		if (s->group->index == UINT32_MAX || nsamples == room_samples)
			continue;
		memset(e, 0, sizeof(*e));
		memcpy(e->frames, s->frames, s->nframes * sizeof(s->frames[0]));
		e->nframes = s->nframes;
		e->group = s->group->index;
		e->tid = s->tid;
		e->status = s->status;
		e->taken_ns = s->taken_ns;
		nsamples++;
	}
	if (info != NULL) {
		info->sample_request = rf_reg.sample_nonce;
		info->sample_monotonic_ns = rf_reg.sample_ns;
		info->sample_signal = rf_reg.sample_signal;
		info->sample_status = rf_reg.sample_status;
		info->groups_total = rf_reg.ngroups;
		info->threads_total = rf_reg.tracked;
		info->growth_window_ns = (int64_t)rules->age_ns;
	}

	rf_publication_set(pub, RF_STAT_threads_created, rf_reg.created);
	rf_publication_set(pub, RF_STAT_threads_exited, rf_reg.exited);
	rf_publication_set(pub, RF_STAT_threads_joined, rf_reg.joined);
	rf_publication_set(pub, RF_STAT_threads_alive, alive);
	rf_publication_set(pub, RF_STAT_threads_unjoined, unjoined);
	rf_publication_set(pub, RF_STAT_threads_suspect, suspects);
	rf_publication_set(pub, RF_STAT_threads_untracked, rf_reg.untracked);
	rf_publication_set(pub, RF_STAT_thread_groups, rf_reg.ngroups);
	rf_publication_set(pub, RF_STAT_thread_registry_bytes,
			   rf_reg.threads.mapped_bytes + rf_reg.groups.mapped_bytes +
				   rf_thread_hash_bytes);
	rf_publication_set(pub, RF_STAT_heap_unattributed_bytes,
			   pub->heap_live > attributed ? pub->heap_live - attributed : 0);
	rf_thread_unlock();

	rf_segment_section_count(seg, RF_SHM_SECTION_THREAD_INFO, 1);
	rf_segment_section_count(seg, RF_SHM_SECTION_THREAD_GROUPS, ngroups);
	rf_segment_section_count(seg, RF_SHM_SECTION_THREADS, nthreads);
	rf_segment_section_count(seg, RF_SHM_SECTION_THREAD_SAMPLES, nsamples);
}

void rf_thread_totals(struct rf_thread_totals *out)
{
	memset(out, 0, sizeof(*out));
	rf_thread_lock();
	rf_thread_absorb_all();
	out->created = rf_reg.created;
	out->exited = rf_reg.exited;
	out->untracked = rf_reg.untracked;
	out->tracked = rf_reg.tracked;
	out->groups = rf_reg.ngroups;
	for (struct rf_thread_group *g = rf_reg.groups_head; g != NULL; g = g->next) {
		out->alive += g->alive;
		out->unjoined += g->unjoined;
	}
	out->registry_bytes =
		rf_reg.threads.mapped_bytes + rf_reg.groups.mapped_bytes + rf_thread_hash_bytes;
	rf_thread_unlock();
}

/* ---- samples ------------------------------------------------------------ */

size_t rf_thread_sample_targets(struct rf_thread_sample_target *targets, size_t max)
{
	size_t n = 0;

	rf_thread_lock();
	if (!rf_reg.ready) {
		rf_thread_unlock();
		return 0;
	}
	rf_thread_absorb_all();
	for (struct rf_thread_group *g = rf_reg.groups_head; g != NULL; g = g->next)
		g->cand_tid = 0;
	for (struct rf_thread *t = rf_reg.head; t != NULL; t = t->next) {
		struct rf_thread_group *g = t->group;

		if ((t->flags & RF_SHM_THREAD_EXITED) || t->tid == 0 || t->tid == gettid())
			continue;
		if (g->cand_tid == 0 || t->create_ns < g->cand_created) {
			g->cand_tid = t->tid;
			g->cand_created = t->create_ns;
		}
	}
	for (struct rf_thread_group *g = rf_reg.groups_head; g != NULL && n < max; g = g->next)
		if (g->cand_tid != 0)
			targets[n++] =
				(struct rf_thread_sample_target){.group = g, .tid = g->cand_tid};
	rf_thread_unlock();
	return n;
}

void rf_thread_sample_store(uint64_t nonce, uint32_t status, uint32_t signal,
			    const struct rf_thread_sample_target *targets, size_t count,
			    int64_t now_ns)
{
	rf_thread_lock();
	rf_reg.nsamples = 0;
	for (size_t i = 0; i < count && i < RF_SHM_THREAD_SAMPLES_MAX; i++) {
		struct rf_thread_sample *s = &rf_reg.samples[rf_reg.nsamples++];

		s->group = (struct rf_thread_group *)(uintptr_t)targets[i].group;
		s->tid = targets[i].tid;
		s->status = targets[i].status;
		s->nframes = targets[i].nframes <= RF_SHM_THREAD_FRAMES ? targets[i].nframes
									: RF_SHM_THREAD_FRAMES;
		memcpy(s->frames, targets[i].frames, s->nframes * sizeof(s->frames[0]));
		s->taken_ns = targets[i].taken_ns;
	}
	rf_reg.sample_nonce = nonce;
	rf_reg.sample_ns = now_ns;
	rf_reg.sample_status = status;
	rf_reg.sample_signal = signal;
	rf_thread_unlock();
}

/* ---- leaks, for the at-exit report ---------------------------------------------- */

size_t rf_thread_leaks(const struct rf_thread_rules *rules, int64_t now_ns,
		       struct rf_thread_leak_group *groups, size_t max,
		       uint64_t totals[RF_THREAD_CLASS__COUNT], size_t *more)
{
	size_t n = 0;

	memset(totals, 0, sizeof(uint64_t) * RF_THREAD_CLASS__COUNT);
	*more = 0;
	if (rf_thread_lock_bounded() < 0)
		return 0;
	if (!rf_reg.ready) {
		rf_thread_unlock();
		return 0;
	}
	rf_thread_absorb_all();
	for (struct rf_thread_group *g = rf_reg.groups_head; g != NULL; g = g->next) {
		g->growth = rf_thread_growth(g, rules, now_ns);
		g->index = UINT32_MAX;
	}
	for (struct rf_thread *t = rf_reg.head; t != NULL; t = t->next) {
		enum rf_thread_class cls = rf_thread_judge(t, rules, now_ns);
		struct rf_thread_group *g = t->group;

		totals[cls]++;
		if (!rf_thread_class_is_leak(cls))
			continue;
		if (g->index == UINT32_MAX) {
			if (n == max) {
				(*more)++;
				continue;
			}
			g->index = (uint32_t)n;
			memset(&groups[n], 0, sizeof(groups[n]));
			groups[n].nframes = g->nframes;
			memcpy(groups[n].frames, g->frames, sizeof(g->frames));
			memcpy(groups[n].start_name, g->start_name, sizeof(g->start_name));
			memcpy(groups[n].name, t->name, sizeof(t->name));
			groups[n].oldest_ns = t->create_ns;
			n++;
		}
		groups[g->index].counts[cls]++;
		if (t->create_ns < groups[g->index].oldest_ns)
			groups[g->index].oldest_ns = t->create_ns;
	}
	rf_thread_unlock();
	return n;
}

rf_thread_namer_fn rf_thread_namer_get(void)
{
	return __atomic_load_n(&rf_reg.namer, __ATOMIC_ACQUIRE);
}

void rf_thread_registry_release(void)
{
	rf_thread_lock();
	rf_thread_slots_clear();
	HASH_CLEAR(hh, rf_reg.by_key);
	rf_pool_release(&rf_reg.threads);
	rf_pool_release(&rf_reg.groups);
	rf_reg.head = rf_reg.tail = NULL;
	rf_reg.groups_head = rf_reg.groups_tail = NULL;
	memset(&rf_reg.overflow, 0, sizeof(rf_reg.overflow));
	rf_reg.overflow_linked = false;
	rf_reg.created = rf_reg.exited = rf_reg.untracked = rf_reg.tracked = rf_reg.ngroups = 0;
	rf_reg.joined = 0;
	rf_reg.nsamples = 0;
	rf_reg.last_tick = 0;
	rf_reg.ready = false;
	rf_thread_unlock();
}
