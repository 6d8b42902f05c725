/*
 * rf_thread_sample.c - current stacks on request, and symbol names.
 */
#define _GNU_SOURCE
#include "rf_thread_sample.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "rf_shm.h"
#include "rf_thread.h"
#include "rf_time.h"

#define RF_SAMPLE_WAIT_NS 100000000LL   /* per thread */
#define RF_SAMPLE_TOTAL_NS 1000000000LL /* per request */

/* Written by the sampler before the signal, by the handler after it. */
struct rf_sample_slot {
	pid_t tid;
	uint32_t nframes;
	uintptr_t frames[RF_SHM_THREAD_FRAMES];
	int done; /* the round it answered; atomic */
};

static struct rf_sample_slot rf_sample_slots[RF_SHM_THREAD_SAMPLES_MAX];
static size_t rf_sample_nslots; /* atomic */
static int rf_sample_round;     /* atomic; 0 when no round is open */

static void rf_sample_handler(int sig, siginfo_t *si, void *uctx)
{
	int saved = errno, cancel_state;
	int round = __atomic_load_n(&rf_sample_round, __ATOMIC_ACQUIRE);
	size_t n = __atomic_load_n(&rf_sample_nslots, __ATOMIC_ACQUIRE);
	pid_t me;

	(void)sig;
	/* Only our own tgkill, during an open round. */
	if (round == 0 || si == NULL || si->si_code != SI_TKILL || si->si_pid != getpid())
		goto out;
	me = (pid_t)syscall(SYS_gettid);
	/* libunwind's read() of its validation pipe is a cancellation point: a
	 * cancel pending on the sampled thread must not act here, at whatever
	 * instruction the signal interrupted (glibc's pthread_setcancelstate is
	 * an atomic update of the thread's own word). */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
	for (size_t i = 0; i < n && i < RF_SHM_THREAD_SAMPLES_MAX; i++) {
		struct rf_sample_slot *s = &rf_sample_slots[i];
		unw_cursor_t cursor;
		uint32_t k = 0;

		if (s->tid != me || __atomic_load_n(&s->done, __ATOMIC_ACQUIRE) == round)
			continue;
		/* Start at the interrupted instruction, not in this handler. */
		if (unw_init_local2(&cursor, (unw_context_t *)uctx, UNW_INIT_SIGNAL_FRAME) == 0) {
			do {
				unw_word_t ip;
				if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || ip == 0)
					break;
				s->frames[k++] = (uintptr_t)ip;
			} while (k < RF_SHM_THREAD_FRAMES && unw_step(&cursor) > 0);
		}
		s->nframes = k;
		__atomic_store_n(&s->done, round, __ATOMIC_RELEASE);
		break;
	}
	pthread_setcancelstate(cancel_state, NULL);
out:
	errno = saved;
}

/* Ours already, or installed now; false when the host owns the signal. */
static bool rf_sample_handler_ready(int sig, bool install)
{
	struct sigaction cur, sa;

	if (sigaction(sig, NULL, &cur) < 0)
		return false;
	if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == rf_sample_handler)
		return true;
	if ((cur.sa_flags & SA_SIGINFO) || cur.sa_handler != SIG_DFL || !install)
		return false;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = rf_sample_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL) == 0;
}

/* Does thread tid block sig? (/proc/self/task/TID/status, SigBlk) */
static bool rf_sample_blocked(pid_t tid, int sig)
{
	char path[64], buf[2048];
	unsigned long long mask = 0;
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strstr(buf, "\nSigBlk:");
	if (p == NULL)
		return false;
	mask = strtoull(p + 8, NULL, 16);
	return sig <= 64 && (mask >> (sig - 1)) & 1;
}

/*
 * The nonce of a valid request, unlinking it; 0 when there is none. Any
 * process of the user may have put anything under the name: the publisher
 * thread must never block on a FIFO, follow a link or take a terminal (the
 * flags say so, whatever shm_open adds), and reads only a regular file of
 * its own user; anything else stays where it is.
 */
static uint64_t rf_sample_request_take(const char *segment_name)
{
	char name[RF_SHM_NAME_MAX + sizeof(RF_SHM_SAMPLE_SUFFIX)];
	uint64_t nonce = 0;
	struct stat st;
	int fd;

	snprintf(name, sizeof(name), "%s" RF_SHM_SAMPLE_SUFFIX, segment_name);
	fd = shm_open(name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
	    st.st_size >= (off_t)sizeof(nonce) &&
	    pread(fd, &nonce, sizeof(nonce), 0) == (ssize_t)sizeof(nonce)) {
		shm_unlink(name);
		if (nonce == 0)
			nonce = 1;
	} else {
		nonce = 0;
	}
	close(fd);
	return nonce;
}

void rf_thread_sample_poll(const char *segment_name, bool enabled, int64_t now_ns)
{
	static struct rf_thread_sample_target targets[RF_SHM_THREAD_SAMPLES_MAX];
	static int round;
	int sig = RF_THREAD_SAMPLE_SIGNAL;
	uint64_t nonce = rf_sample_request_take(segment_name);
	int64_t deadline;
	size_t n;
	pid_t pid = getpid();

	if (nonce == 0)
		return;
	n = rf_thread_sample_targets(targets, RF_SHM_THREAD_SAMPLES_MAX);
	if (!enabled || !rf_sample_handler_ready(sig, true)) {
		for (size_t i = 0; i < n; i++)
			targets[i].status = RF_SHM_SAMPLE_DISABLED;
		rf_thread_sample_store(nonce, RF_SHM_SAMPLE_DISABLED, 0, targets, n, now_ns);
		return;
	}
	if (++round <= 0)
		round = 1;
	for (size_t i = 0; i < n; i++) {
		rf_sample_slots[i].tid = targets[i].tid;
		rf_sample_slots[i].nframes = 0;
		__atomic_store_n(&rf_sample_slots[i].done, 0, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&rf_sample_nslots, n, __ATOMIC_RELEASE);
	__atomic_store_n(&rf_sample_round, round, __ATOMIC_RELEASE);
	deadline = rf_clock_ns(CLOCK_MONOTONIC) + RF_SAMPLE_TOTAL_NS;
	for (size_t i = 0; i < n; i++) {
		struct rf_sample_slot *s = &rf_sample_slots[i];
		int64_t until;

		targets[i].status = RF_SHM_SAMPLE_TIMEOUT;
		if (rf_clock_ns(CLOCK_MONOTONIC) >= deadline)
			continue;
		if (rf_sample_blocked(targets[i].tid, sig)) {
			targets[i].status = RF_SHM_SAMPLE_BLOCKED;
			continue;
		}
		/* A handler the host installed since must never get our signal. */
		if (!rf_sample_handler_ready(sig, false)) {
			targets[i].status = RF_SHM_SAMPLE_DISABLED;
			continue;
		}
		if (syscall(SYS_tgkill, pid, targets[i].tid, sig) < 0) {
			targets[i].status = RF_SHM_SAMPLE_GONE;
			continue;
		}
		until = rf_clock_ns(CLOCK_MONOTONIC) + RF_SAMPLE_WAIT_NS;
		if (until > deadline)
			until = deadline;
		while (__atomic_load_n(&s->done, __ATOMIC_ACQUIRE) != round) {
			struct timespec tick = {0, 200000};
			if (rf_clock_ns(CLOCK_MONOTONIC) >= until)
				break;
			nanosleep(&tick, NULL);
		}
		if (__atomic_load_n(&s->done, __ATOMIC_ACQUIRE) != round)
			continue;
		targets[i].status = RF_SHM_SAMPLE_OK;
		targets[i].nframes = s->nframes;
		memcpy(targets[i].frames, s->frames, s->nframes * sizeof(s->frames[0]));
		targets[i].taken_ns = rf_clock_ns(CLOCK_MONOTONIC);
	}
	/* Late answers find the round closed and write nothing. */
	__atomic_store_n(&rf_sample_round, 0, __ATOMIC_RELEASE);
	rf_thread_sample_store(nonce, RF_SHM_SAMPLE_OK, (uint32_t)sig, targets, n,
			       rf_clock_ns(CLOCK_MONOTONIC));
}

int rf_thread_symbol_self(uintptr_t addr, char *name, size_t len, uintptr_t *offset,
			  const char **module)
{
	unw_accessors_t *acc = unw_get_accessors(unw_local_addr_space);
	unw_word_t off = 0;
	Dl_info di;
	struct link_map *lm = NULL;
	int have_dl = dladdr1((void *)addr, &di, (void **)&lm, RTLD_DL_LINKMAP) != 0;

	if (module != NULL)
		*module = have_dl ? di.dli_fname : NULL;
	if (len == 0)
		return -ENOENT;
	name[0] = '\0';
	if (acc != NULL && acc->get_proc_name != NULL) {
		unw_proc_info_t pi;
		int rc = acc->get_proc_name(unw_local_addr_space, (unw_word_t)addr, name, len, &off,
					    NULL);
		if ((rc == 0 || rc == -UNW_ENOMEM) && name[0] != '\0' &&
		    unw_get_proc_info_by_ip(unw_local_addr_space, (unw_word_t)addr, &pi, NULL) ==
			    0 &&
		    pi.start_ip == (unw_word_t)addr - off) {
			name[len - 1] = '\0';
			*offset = (uintptr_t)off;
			return 0;
		}
		name[0] = '\0';
	}
	/* glibc's dladdr checks the symbol's size. */
	if (have_dl && di.dli_sname != NULL) {
		snprintf(name, len, "%s", di.dli_sname);
		*offset = addr - (uintptr_t)di.dli_saddr;
		return 0;
	}
	if (have_dl) /* in the object's own numbering, as `ringfence threads` shows it */
		*offset = addr - (lm != NULL ? (uintptr_t)lm->l_addr : (uintptr_t)di.dli_fbase);
	return -ENOENT;
}
