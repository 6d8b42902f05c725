/*
 * rf_thread_sample.h - looking at this process's own threads from inside:
 * current stacks on request (a real-time signal and libunwind in its
 * handler) and symbol names (the symbol tables, through libunwind).
 *
 * THE REQUEST CHANNEL. A reader never writes into a segment. To ask for
 * current stacks it creates the shared-memory object "/<prefix>.<pid>.req"
 * (O_CREAT|O_EXCL, mode 0600) holding one uint64_t nonce. The publisher
 * thread looks for it before each publish, reads it, unlinks it, samples,
 * and publishes THREAD_INFO.sample_request = nonce. An object not owned by
 * the process's effective uid is ignored.
 *
 * THE SIGNAL. RF_THREAD_SAMPLE_SIGNAL (SIGRTMAX-3, 61 on Linux/glibc) is
 * installed, SA_SIGINFO|SA_RESTART, only when the first request arrives,
 * and only if the host has no handler of its own for it; it is checked
 * again before every tgkill so a handler the host installed later is never
 * sent our signal. The handler ignores any signal that is not a tgkill from
 * this process, writes into a preallocated slot, takes no lock and keeps
 * errno. A thread that blocks the signal is reported as such, not signalled.
 * Each thread gets 100 ms to answer, a request 1 s in all.
 * RINGFENCE_THREAD_SAMPLE=0 answers requests with status "disabled" and
 * never installs the handler.
 */
#ifndef RF_THREAD_SAMPLE_H
#define RF_THREAD_SAMPLE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RF_THREAD_SAMPLE_SIGNAL (SIGRTMAX - 3)

/* Serve a pending request for the segment named segment_name, if any. */
void rf_thread_sample_poll(const char *segment_name, bool enabled, int64_t now_ns);

/*
 * Symbol of addr in this process: name and offset from the object's symbol
 * table (.symtab when present, else .dynsym), and the object's path (may
 * be NULL). A name is given only for the function holding addr: libunwind
 * names the nearest symbol below it, which in a stripped object is often a
 * neighbour, so its answer must start where the unwind information says
 * addr's function starts. 0 or -ENOENT (then, when *module is set,
 * *offset is addr less the object's load bias). A rf_thread_namer_fn.
 */
int rf_thread_symbol_self(uintptr_t addr, char *name, size_t len, uintptr_t *offset,
			  const char **module);

#endif /* RF_THREAD_SAMPLE_H */
