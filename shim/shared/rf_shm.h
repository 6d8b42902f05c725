/*
 * rf_shm.h - the shared-memory segment: layout and protocol.
 *
 * This header is the only definition of the segment. The shim (writer) and
 * the reporter (readers) both include it; nothing else may describe the
 * layout. Bump RF_SHM_VERSION on every incompatible change (what is
 * compatible: "Growing within a version" below).
 *
 * THE PROTOCOL
 *
 * Naming. One segment per process: shm_open("/<prefix>.<pid>"), prefix
 * "ringfence" unless RINGFENCE_SHM_PREFIX says otherwise. Created with
 * O_CREAT|O_EXCL, mode 0600, sized once with ftruncate and never resized.
 * A process that exec()s keeps its pid: the new image finds its own pid in
 * the old segment, unlinks it and creates a fresh one. After fork() the child
 * creates its own segment under its own pid.
 *
 * Creation (writer, once). The writer fills the whole header, the effective
 * configuration and the section directory, issues a release fence, and only
 * then stores `magic`. A reader that sees a wrong magic is looking at a
 * segment that is not ours, or not yet initialised: it must not interpret
 * any other byte. Between shm_open and ftruncate the file has size 0, and
 * until the magic is stored it reads as zeros: a reader may meet either for
 * a live process that is starting, and must not take it for corruption of a
 * finished one (gc only removes such a file when its pid is not alive).
 *
 * Fixed forever: `magic` at offset 0 and `version` at offset 8, in every
 * version, so a reader can tell "not ours" and "another version" before it
 * knows anything else. Every other offset belongs to its version.
 *
 * Growing within a version. A version's layout only grows at its ends:
 * counters are appended to RF_STATS, section kinds to RF_SHM_SECTION_LIST,
 * fields to the end of an entry type (entry_size grows) and to the end of
 * struct rf_shm_header (header_size grows). Removing, reordering or resizing
 * anything else is a new version. Readers ignore what they do not know:
 * counters past those they know, section kinds they do not know, the tail
 * of a longer entry or header; so a reader built before a writer reads the
 * writer's segment. A reader built after a writer finds fewer counters than
 * it knows: the missing ones are absent, not zero, and printers leave them
 * out. (A reader that learns an appended section kind must likewise take it
 * as absent from an older writer's segment; today every kind is required.)
 * Likewise a reader built after a writer finds a shorter header: at least
 * RF_SHM_HEADER_SIZE_FIRST bytes (the header of the version's first
 * writers), and the fields past header_size absent. Each appended header
 * field is therefore one whose zero means what an older writer meant.
 *
 * Publication (writer, repeatedly). Everything below `seq` in struct
 * rf_shm_header that changes after creation (status, exit fields, publish
 * time) and every section's contents is published under a sequence lock:
 *     seq += 1 (now odd); release fence;
 *     write fields and sections;
 *     release fence; seq += 1 (now even).
 * There is exactly one publisher at a time inside the process (a process-
 * local mutex); readers take no lock and never write. Once the process is
 * gone, its parent may publish its exit once (see "Exit recorded by the
 * parent").
 *
 * Reading (any process, no lock). A reader copies the segment into private
 * memory with pread() (never mmap: a hostile or broken writer could shrink
 * the file and turn every access into SIGBUS), then:
 *   1. checks st_size >= RF_SHM_HEADER_SIZE_FIRST, magic, version,
 *      RF_SHM_HEADER_SIZE_FIRST <= header_size <= size, size == st_size, and
 *      reads the first header_size bytes (at most the header it knows) as the
 *      header, the fields it knows past them absent;
 *   2. reads seq before and after the copy: odd, or changed, means a publish
 *      was under way: copy again (a bounded number of times). A seq that
 *      stays odd in a segment whose process is gone means the process died in
 *      the middle of a publish: the figures may be torn, say so;
 *   3. checks the section directory: kind 0 is refused, a kind it does not
 *      know is skipped unread, every kind it knows appears once with
 *      entry_size at least the size it knows and a multiple of 8 (each
 *      entry is read up to the size it knows),
 *      offset >= header_size and a multiple of 8,
 *      offset + capacity * entry_size <= size, count <= capacity; then
 *      every string of an entry in use is NUL-terminated within its field.
 *      The STATS count may differ from the counters it knows: extra ones
 *      are ignored, missing ones absent;
 *   4. checks pid == the pid in the segment's name.
 * Only then may fields be trusted, and still only as numbers: a reader must
 * never index memory with a value from the segment without a bound check.
 *
 * Liveness. status RF_SHM_STATUS_RUNNING while the process lives. A normal
 * exit (exit(), return from main, _exit()) publishes RF_SHM_STATUS_EXITED with
 * the exit time and, when the shim saw it, the exit status. A process that
 * ends without libc's exit leaves RUNNING behind: killed by a signal (the OOM
 * killer included), or ended by the exit_group system call, as every Go
 * program ends. Unless its parent records the end (below), a reader that
 * finds the pid gone, or alive with another start time (pid reused), reports
 * the process dead: ended without exit(), by a signal or by exit_group; the
 * figures of its last publish stand.
 *
 * Exit recorded by the parent (the one writer outside the process). The
 * parent that started the process and waits for it (`ringfence run`) may
 * publish its end in its place, once, when all of these hold:
 *   - the process has ended and is not yet reaped: the parent waited with
 *     WNOWAIT, so the pid cannot be reused meanwhile;
 *   - the segment is that pid's (pid field and name), its start_ticks is not
 *     0 and equals the start time /proc gives for that ended process;
 *   - status is still RF_SHM_STATUS_RUNNING (the shim did not publish an
 *     exit) and seq is even (an odd seq is a publish the process died in: its
 *     figures are torn and must stay marked so);
 *   - header_size holds exit_recorder and exit_signal.
 * It writes under the sequence lock, as a publish does (seq odd, release
 * fence, fields, release fence, seq even): status RF_SHM_STATUS_EXITED,
 * exit_realtime_ns (when it saw the end), exit_recorder
 * RF_SHM_EXIT_BY_PARENT, and either exit_status_known 1 with exit_status (the
 * process exited with that status) or exit_status_known 0 with exit_signal
 * (a signal ended it). Nothing else: the figures stay those of the last
 * publish, at most one publish interval old. The process being gone, no
 * other writer remains. A reader tells who recorded an exit by
 * exit_recorder; a header without it was written by a shim that records
 * only its own exits.
 *
 * Abandonment. Segments outlive their process on purpose (the last figures of
 * an OOM-killed process are the point). `ringfence gc` unlinks those whose
 * process is gone.
 */
#ifndef RF_SHM_H
#define RF_SHM_H

#include <stddef.h>
#include <stdint.h>

#define RF_SHM_MAGIC UINT64_C(0x31454e4546474e52) /* "RNGFENE1" little-endian */
#define RF_SHM_VERSION 8 /* increased on every backward incompatible change */
#define RF_SHM_PREFIX_DEFAULT "ringfence"
#define RF_SHM_NAME_MAX 64 /* "/" prefix "." pid NUL */

enum rf_shm_status {
	RF_SHM_STATUS_RUNNING = 1,
	RF_SHM_STATUS_EXITED = 2,
};

/* Who published the exit (header.exit_recorder; see "Exit recorded by the parent"). */
enum rf_shm_exit_recorder {
	RF_SHM_EXIT_BY_PROCESS = 0, /* the shim: exit(), return from main, _exit() */
	RF_SHM_EXIT_BY_PARENT = 1,  /* the parent that waited for it (`ringfence run`) */
};

/* How the shim reads its configuration; also the effective-config record. */
enum rf_policy {
	RF_POLICY_BLOCK = 0,
	RF_POLICY_FAIL = 1,
	RF_POLICY_DROP_OLDEST = 2,
	RF_POLICY_OBSERVE = 3,
};

/*
 * The counters, declared once. X(name, type, unit, help):
 *   name  identifier and JSON key; the Prometheus name is derived from it and
 *         the unit (reporter/print/rp_stats.c: the unit's word moved to the
 *         end, "_ns" becoming "_seconds", counters ending in "_total")
 *   type  COUNTER (only grows) or GAUGE
 *   unit  NONE (a number of things), BYTES, or NS (nanoseconds, which the
 *         segment keeps as integers and Prometheus shows as seconds); a
 *         name holds its unit's word ("_bytes", "_ns") exactly when it has one
 *   help  what it counts; an NS counter's help names no unit, each printer
 *         adds the one it shows
 * Counters are only appended, at the end (see "Growing within a version"):
 * readers ignore counters past those they know, and take the ones an older
 * writer lacks for absent.
 */
#define RF_STATS(X)                                                                                \
	X(produce_calls, COUNTER, NONE, "Calls to rd_kafka_produce")                               \
	X(produce_msgs, COUNTER, NONE, "Messages accepted by rd_kafka_produce")                    \
	X(produce_bytes, COUNTER, BYTES, "Payload bytes accepted by rd_kafka_produce")             \
	X(produce_failed, COUNTER, NONE, "Messages rd_kafka_produce rejected")                     \
	X(producev_calls, COUNTER, NONE, "Calls to rd_kafka_producev")                             \
	X(producev_msgs, COUNTER, NONE, "Messages accepted by rd_kafka_producev")                  \
	X(producev_bytes, COUNTER, BYTES, "Payload bytes accepted by rd_kafka_producev")           \
	X(producev_failed, COUNTER, NONE, "Messages rd_kafka_producev rejected")                   \
	X(produceva_calls, COUNTER, NONE, "Calls to rd_kafka_produceva")                           \
	X(produceva_msgs, COUNTER, NONE, "Messages accepted by rd_kafka_produceva")                \
	X(produceva_bytes, COUNTER, BYTES, "Payload bytes accepted by rd_kafka_produceva")         \
	X(produceva_failed, COUNTER, NONE, "Messages rd_kafka_produceva rejected")                 \
	X(produce_batch_calls, COUNTER, NONE, "Calls to rd_kafka_produce_batch")                   \
	X(produce_batch_msgs, COUNTER, NONE, "Messages accepted by rd_kafka_produce_batch")        \
	X(produce_batch_bytes, COUNTER, BYTES, "Payload bytes accepted by rd_kafka_produce_batch") \
	X(produce_batch_failed, COUNTER, NONE, "Messages rd_kafka_produce_batch rejected")         \
	X(budget_bytes, GAUGE, BYTES, "Budget charged to buffered messages now (bytes)")           \
	X(budget_bytes_peak, GAUGE, BYTES, "Highest budget charge seen (bytes)")                   \
	X(budget_records, GAUGE, NONE, "Messages holding budget now")                              \
	X(budget_ring_bytes, GAUGE, BYTES,                                                         \
	  "Arena in chunks in use (bytes): fragmentation shows as this above the charge")          \
	X(budget_acked_unfreed_bytes, GAUGE, BYTES,                                                \
	  "Budget held by acknowledged messages whose delivery report is not yet served")          \
	X(budget_arena_bytes, GAUGE, BYTES, "Size of the budget's arena once mapped (bytes)")      \
	X(budget_admitted, COUNTER, NONE, "Messages charged to the budget")                        \
	X(budget_released, COUNTER, NONE, "Messages whose charge was given back")                  \
	X(budget_nowait, COUNTER, NONE, "Messages admitted without waiting")                       \
	X(budget_waits, COUNTER, NONE, "Messages that waited for budget (block policy)")           \
	X(budget_wait_ns, COUNTER, NS, "Total time produce calls waited for budget")               \
	X(budget_waiting, GAUGE, NONE, "Threads waiting for budget now")                           \
	X(budget_rejected, COUNTER, NONE, "Messages refused with __QUEUE_FULL for lack of budget") \
	X(budget_timeouts, COUNTER, NONE, "Refusals after waiting the whole block timeout")        \
	X(budget_self_refusals, COUNTER, NONE,                                                     \
	  "Refusals at once: the space is held by delivery reports only waiting threads would "    \
	  "serve")                                                                                 \
	X(budget_oversized, COUNTER, NONE,                                                         \
	  "Messages larger than the whole budget, refused with MSG_SIZE_TOO_LARGE")                \
	X(budget_purges, COUNTER, NONE, "Queue purges made by the drop-oldest policy")             \
	X(budget_dropped_msgs, COUNTER, NONE,                                                      \
	  "Messages purged from librdkafka queues (delivery report __PURGE_QUEUE)")                \
	X(budget_dropped_bytes, COUNTER, BYTES, "Payload bytes of purged messages")                \
	X(budget_dropped_maybe_sent, COUNTER, NONE,                                                \
	  "Purged messages librdkafka had sent before (status POSSIBLY_PERSISTED): queued again "  \
	  "after a lost connection, they may be on the broker")                                    \
	X(budget_observed_over, COUNTER, NONE,                                                     \
	  "observe policy: messages admitted past an exhausted budget (would wait, fail or drop)") \
	X(budget_observed_oversized, COUNTER, NONE,                                                \
	  "observe policy: messages larger than the whole budget")                                 \
	X(shim_errors, COUNTER, NONE, "Internal failures the shim survived by doing less")         \
	X(publishes, COUNTER, NONE, "Times the shim published this segment")                       \
	RF_STATS_THREADS(X)                                                                        \
	RF_STATS_HEAP(X)                                                                           \
	X(budget_arena_resident_bytes, GAUGE, BYTES,                                               \
	  "Arena bytes in chunks written since their pages were last given back")                  \
	X(budget_arena_returned_bytes, COUNTER, BYTES,                                             \
	  "Arena bytes whose pages were given back to the kernel after a second unused")           \
	X(heap_trims, COUNTER, NONE,                                                               \
	  "Times the allocator's free memory was given back (heap_trim)")                          \
	X(heap_trimmed_bytes, COUNTER, BYTES, "Resident bytes those trims gave back")              \
	X(heap_trim_ns_max, GAUGE, NS,                                                             \
	  "Longest trim: an allocation waits at most this long for its arena's lock")              \
	RF_STATS_WAITING(X)

/* Thread figures (docs/threads.md); gauges are computed at each publish. */
#define RF_STATS_THREADS(X)                                                                        \
	X(threads_created, COUNTER, NONE,                                                          \
	  "Threads started with pthread_create or thrd_create (and the shim's own)")               \
	X(threads_exited, COUNTER, NONE,                                                           \
	  "Tracked threads that ended (returned, exited, cancelled)")                              \
	X(threads_joined, COUNTER, NONE, "Tracked threads joined (pthread_*join*, thrd_join)")     \
	X(threads_alive, GAUGE, NONE, "Tracked threads alive now")                                 \
	X(threads_unjoined, GAUGE, NONE, "Threads that ended but nobody joined or detached")       \
	X(threads_suspect, GAUGE, NONE,                                                            \
	  "Threads judged leaked: stuck while running (age and group rules), alive at exit")       \
	X(threads_untracked, COUNTER, NONE, "Threads not tracked because the registry was full")   \
	X(thread_groups, GAUGE, NONE, "Distinct creation stacks seen")                             \
	X(thread_registry_bytes, GAUGE, BYTES, "Memory mapped by the thread registry (bytes)")

/*
 * Heap figures (docs/heap.md): the allocator interposers count per thread,
 * the publisher sums. Bytes are the sizes callers asked for.
 */
#define RF_STATS_HEAP(X)                                                                           \
	X(heap_live_bytes, GAUGE, BYTES, "Heap allocated and not yet freed (bytes asked for)")     \
	X(heap_live_peak_bytes, GAUGE, BYTES, "Highest live heap seen (within 64 KiB per thread)") \
	X(heap_alloc_bytes, COUNTER, BYTES, "Heap allocated in total (bytes asked for)")           \
	X(heap_allocs, COUNTER, NONE,                                                              \
	  "Heap allocations (malloc, calloc, realloc, the memalign family)")                       \
	X(heap_frees, COUNTER, NONE, "Heap blocks freed (free, realloc)")                          \
	X(heap_unattributed_bytes, GAUGE, BYTES,                                                   \
	  "Live heap of no listed thread group: main thread, threads not created through the "     \
	  "hooks")                                                                                 \
	X(heap_interposed, GAUGE, NONE,                                                            \
	  "1 while the shim accounts the heap; 0: another malloc comes first")                     \
	X(heap_foreign_frees, COUNTER, NONE,                                                       \
	  "Blocks freed or resized that the shim did not allocate")                                \
	X(heap_cached_bytes, GAUGE, BYTES,                                                         \
	  "Freed blocks the shim's thread caches keep for reuse (bytes held from the allocator)")  \
	X(heap_limit_pressure, GAUGE, NONE,                                                        \
	  "1 while live heap is above RINGFENCE_HEAP_LIMIT (until its low-water mark)")            \
	X(heap_limit_episodes, COUNTER, NONE, "Times heap pressure turned on")                     \
	X(heap_limit_pushbacks, COUNTER, NONE,                                                     \
	  "Produce calls that met heap pressure: waited, refused or dropped by the policy")        \
	X(heap_limit_observed, COUNTER, NONE,                                                      \
	  "observe policy: messages admitted under heap pressure")

/*
 * The threads waiting for budget now (appended to RF_STATS): how long
 * the first of them has waited, and how much the live heap grew since
 * threads began to wait, as of the last publish before that with nobody
 * waiting. A producer held back by the budget keeps what it produces
 * somewhere: in a program's own queue, that is the heap.
 */
#define RF_STATS_WAITING(X)                                                                        \
	X(budget_waiting_longest_ns, GAUGE, NS,                                                    \
	  "How long the thread waiting longest for budget has waited now; 0: none waits")          \
	X(budget_waiting_heap_growth_bytes, GAUGE, BYTES,                                          \
	  "Live heap growth since threads began to wait for budget (from the last publish with "   \
	  "none waiting); 0: none waits")

/* Heap attribution ids of thread groups: 0 none (unattributed), 1 the overflow group. */
#define RF_SHM_HEAP_IDS 512

enum rf_stat {
#define RF_STAT_ENUM(name, type, unit, help) RF_STAT_##name,
	RF_STATS(RF_STAT_ENUM)
#undef RF_STAT_ENUM
	RF_STAT__COUNT
};

enum rf_stat_type {
	RF_STAT_TYPE_COUNTER = 1,
	RF_STAT_TYPE_GAUGE = 2,
};

enum rf_stat_unit {
	RF_STAT_UNIT_NONE = 0,
	RF_STAT_UNIT_BYTES = 1,
	RF_STAT_UNIT_NS = 2,
};

/*
 * The effective configuration, declared once.
 * X(name, type, env, default, min, max, help):
 *   type     SIZE (bytes), DURATION (nanoseconds), POLICY, NAME (string)
 *   default  text in the form a user writes it, parsed by the same parser
 *   min/max  inclusive bounds in base units (bytes, ns, enum value; for NAME
 *            the length)
 * Numeric values live in struct rf_shm_config as uint64_t, names in fixed
 * char fields, both under the same identifier.
 */
#define RF_KIB UINT64_C(1024)
#define RF_MIB (RF_KIB * 1024)
#define RF_GIB (RF_MIB * 1024)
#define RF_MS UINT64_C(1000000)
#define RF_HOUR (RF_MS * 1000 * 3600)

#define RF_CONFIG(X)                                                                                \
	X(budget, SIZE, "RINGFENCE_BUDGET", "64M", 64 * RF_KIB, 64 * RF_GIB,                        \
	  "Process-wide byte budget on buffered produced messages")                                 \
	X(policy, POLICY, "RINGFENCE_POLICY", "block", RF_POLICY_BLOCK, RF_POLICY_OBSERVE,          \
	  "What a produce call meets when the budget is exhausted")                                 \
	X(block_timeout, DURATION, "RINGFENCE_BLOCK_TIMEOUT", "60s", 0, 24 * RF_HOUR,               \
	  "Longest wait for budget under the block policy")                                         \
	X(publish_interval, DURATION, "RINGFENCE_PUBLISH_INTERVAL", "200ms", 10 * RF_MS, RF_HOUR,   \
	  "How often the segment is refreshed while the process runs")                              \
	X(shm_prefix, NAME, "RINGFENCE_SHM_PREFIX", RF_SHM_PREFIX_DEFAULT, 1, 31,                   \
	  "Segment name prefix: the segment is /<prefix>.<pid>")                                    \
	X(thread_age, DURATION, "RINGFENCE_THREAD_AGE", "30s", 10 * RF_MS, 24 * RF_HOUR,            \
	  "Age past which a thread of a growing or oversized group is a stuck suspect")             \
	X(thread_group, COUNT, "RINGFENCE_THREAD_GROUP", "256", 1, 1000000,                         \
	  "Alive threads of one creation stack above which old ones are stuck suspects")            \
	X(thread_ignore, LIST, "RINGFENCE_THREAD_IGNORE", "", 0, RF_CONFIG_LIST_MAX - 1,            \
	  "Thread-name or start-routine patterns (* and ?), comma-separated, never leaks")          \
	X(thread_sample, BOOL, "RINGFENCE_THREAD_SAMPLE", "1", 0, 1,                                \
	  "Answer current-stack requests of `ringfence threads` (a real-time signal)")              \
	X(report_at_exit, BOOL, "RINGFENCE_REPORT_AT_EXIT", "0", 0, 1,                              \
	  "Print the thread leak report to stderr when the process exits")                          \
	X(heap_limit, SIZE, "RINGFENCE_HEAP_LIMIT", "0", 0, 1024 * RF_GIB,                          \
	  "Live heap above which producers are pushed back as if the budget were spent; 0: off")    \
	X(heap_cache, BOOL, "RINGFENCE_HEAP_CACHE", "1", 0, 1,                                      \
	  "Keep freed blocks of up to 1 KiB per thread for its next malloc (at most 1 MiB a "       \
	  "thread)")                                                                                \
	X(publish_thread, BOOL, "RINGFENCE_PUBLISH_THREAD", "0", 0, 1,                              \
	  "1: start the publisher thread at start-up; 0: once the program has threads of its own "  \
	  "(until then figures are published at exit)")                                             \
	X(dead_max, COUNT, "RINGFENCE_DEAD_MAX", "256", 0, 1000000,                                 \
	  "Segments of ended processes kept under the prefix: a new segment removes the oldest "    \
	  "beyond it (0: no bound)")                                                                \
	X(heap_trim, BOOL, "RINGFENCE_HEAP_TRIM", "0", 0, 1,                                        \
	  "Give glibc's free memory back (malloc_trim) when resident memory stays well above live " \
	  "heap and the budget's arena")

#define RF_CONFIG_NAME_MAX 32
#define RF_CONFIG_LIST_MAX 256

enum rf_config_type {
	RF_CONFIG_TYPE_SIZE = 1,
	RF_CONFIG_TYPE_DURATION = 2,
	RF_CONFIG_TYPE_POLICY = 3,
	RF_CONFIG_TYPE_NAME = 4,
	RF_CONFIG_TYPE_COUNT = 5, /* a whole number */
	RF_CONFIG_TYPE_BOOL = 6,  /* 0 or 1 */
	RF_CONFIG_TYPE_LIST = 7,  /* comma-separated patterns, in a RF_CONFIG_LIST_MAX field */
};

#define RF_CONFIG_FIELD_SIZE(name) uint64_t name;
#define RF_CONFIG_FIELD_DURATION(name) uint64_t name;
#define RF_CONFIG_FIELD_POLICY(name) uint64_t name;
#define RF_CONFIG_FIELD_NAME(name) char name[RF_CONFIG_NAME_MAX];
#define RF_CONFIG_FIELD_COUNT(name) uint64_t name;
#define RF_CONFIG_FIELD_BOOL(name) uint64_t name;
#define RF_CONFIG_FIELD_LIST(name) char name[RF_CONFIG_LIST_MAX];

struct rf_shm_config {
#define RF_CONFIG_FIELD(name, type, env, def, min, max, help) RF_CONFIG_FIELD_##type(name)
	RF_CONFIG(RF_CONFIG_FIELD)
#undef RF_CONFIG_FIELD
};

/*
 * Per librdkafka handle figures (section HANDLES), one entry per handle the
 * shim has seen created, in creation order; destroyed handles stay listed
 * with state RF_SHM_HANDLE_DESTROYED until their slot is needed again.
 */
#define RF_SHM_HANDLES_MAX 64
#define RF_SHM_HANDLE_NAME_MAX 64

enum rf_shm_handle_state {
	RF_SHM_HANDLE_FREE = 0,
	RF_SHM_HANDLE_OPEN = 1,
	RF_SHM_HANDLE_DESTROYED = 2,
};

struct rf_shm_handle {
	char name[RF_SHM_HANDLE_NAME_MAX];      /* rd_kafka_name(), "rdkafka#producer-1" */
	char client_id[RF_SHM_HANDLE_NAME_MAX]; /* its client.id */
	uint32_t state;                         /* enum rf_shm_handle_state */
	int32_t poller_tid;             /* kernel tid of the thread that last polled it; 0: never */
	uint64_t bytes_held;            /* budget charged to its messages, not yet released */
	uint64_t acked_unfreed_bytes;   /* acknowledged, payload not yet freed: delivery
				       * reports waiting for a poll */
	int64_t last_poll_monotonic_ns; /* CLOCK_MONOTONIC_COARSE of its last poll; 0: never */
	uint64_t dropped_msgs;          /* purged from its queues (delivery report __PURGE_QUEUE) */
	uint64_t dropped_bytes;
};

/* String fields of struct rf_shm_handle, checked by readers in every entry. */
#define RF_SHM_HANDLE_STRINGS(X) X(name) X(client_id)

/*
 * Threads (docs/threads.md). The shim tracks every thread started with
 * pthread_create or thrd_create from creation until it has ended and been
 * joined or detached; each publish writes:
 *   THREAD_INFO    one entry: totals and the last current-stack sample served
 *   THREAD_GROUPS  one entry per creation stack (frames are absolute return
 *                  addresses, innermost first; MODULES maps them to files)
 *   THREADS        the tracked threads (alive, or ended and unjoined), up to
 *                  capacity; `group` indexes THREAD_GROUPS of the same publish
 *   THREAD_SAMPLES current stacks taken on request, `group` as above
 *   MODULES        the loaded objects with their load bias, refreshed when
 *                  dl_iterate_phdr reports a change
 * All times are CLOCK_MONOTONIC nanoseconds, comparable with
 * publish_monotonic_ns and with a reader's own monotonic clock; thread times
 * are read from CLOCK_MONOTONIC_COARSE (the same clock at a tick's
 * resolution, a few ms), so they may lag the fine clock by a tick.
 *
 * Sample requests (readers never write into a segment): a reader creates
 * /<prefix>.<pid>.req (O_EXCL, mode 0600, owned by the process's user)
 * holding a uint64_t nonce; the publisher reads and unlinks it, samples, and
 * publishes THREAD_INFO.sample_request = nonce.
 */
#define RF_SHM_THREAD_FRAMES 32
#define RF_SHM_THREAD_GROUPS_MAX 256
#define RF_SHM_THREADS_MAX 2048
#define RF_SHM_THREAD_SAMPLES_MAX 64
#define RF_SHM_MODULES_MAX 256
#define RF_SHM_THREAD_NAME_MAX 16 /* the kernel's TASK_COMM_LEN */
#define RF_SHM_WCHAN_MAX 32
#define RF_SHM_SYMBOL_MAX 64
#define RF_SHM_MODULE_PATH_MAX 240
#define RF_SHM_SAMPLE_SUFFIX ".req"

enum rf_shm_sample_status {
	RF_SHM_SAMPLE_NONE = 0,
	RF_SHM_SAMPLE_OK = 1,      /* the frames were taken */
	RF_SHM_SAMPLE_BLOCKED = 2, /* the thread blocks the sampling signal */
	RF_SHM_SAMPLE_TIMEOUT = 3, /* no answer within the bounded wait */
	RF_SHM_SAMPLE_GONE = 4,    /* the thread ended first */
	RF_SHM_SAMPLE_DISABLED =
		5, /* RINGFENCE_THREAD_SAMPLE=0, or the signal belongs to the host */
};

struct rf_shm_thread_info {
	uint64_t sample_request;     /* nonce of the last request served; 0: none */
	int64_t sample_monotonic_ns; /* when it was served */
	uint32_t sample_signal;      /* signal number used; 0 when none could be */
	uint32_t sample_status;      /* enum rf_shm_sample_status of the request as a whole */
	uint64_t groups_total;       /* groups in the registry (the table holds up to capacity) */
	uint64_t threads_total;      /* tracked threads (the table holds up to capacity) */
	int64_t growth_window_ns;    /* span over which THREAD_GROUPS.growth is measured */
};

enum rf_shm_group_flags {
	RF_SHM_GROUP_OVERFLOW = 1, /* the group table was full: threads of many stacks */
};

struct rf_shm_thread_group {
	uint64_t frames[RF_SHM_THREAD_FRAMES]; /* creation stack: return addresses */
	uint32_t nframes;                      /* <= RF_SHM_THREAD_FRAMES */
	uint32_t flags;                        /* enum rf_shm_group_flags */
	uint64_t start_routine;                /* of its first thread */
	char start_name[RF_SHM_SYMBOL_MAX];    /* the shim's lookup (symbol table); may be "" */
	uint64_t alive;                        /* threads alive now */
	uint64_t unjoined;                     /* ended, neither joined nor detached */
	uint64_t created;                      /* since the process started (or forked) */
	uint64_t exited;
	uint64_t alive_max;      /* most alive at once */
	uint64_t growth;         /* alive now minus the fewest alive within growth_window_ns */
	int64_t oldest_alive_ns; /* creation time of its oldest alive thread; 0 */
	int64_t newest_alive_ns; /* creation time of its newest alive thread; 0 */
	uint32_t heap_id;        /* its heap attribution id (0: none) */
	uint32_t reserved;
	uint64_t heap_live_bytes; /* heap its threads allocated, not yet freed (docs/heap.md) */
	char thread_name[RF_SHM_THREAD_NAME_MAX]; /* the last name one of its threads had; "" */
};

enum rf_shm_thread_flags {
	RF_SHM_THREAD_EXITED = 1,
	RF_SHM_THREAD_DETACHED = 2,
	RF_SHM_THREAD_C11 = 4, /* started with thrd_create */
};

enum rf_shm_thread_end {
	RF_SHM_THREAD_END_NONE = 0,   /* still running */
	RF_SHM_THREAD_END_RETURN = 1, /* returned from its start routine */
	RF_SHM_THREAD_END_EXIT = 2,   /* pthread_exit or thrd_exit */
	RF_SHM_THREAD_END_CANCEL = 3, /* cancelled (or unwound otherwise) */
};

struct rf_shm_thread {
	uint64_t handle; /* pthread_t */
	uint64_t start_routine;
	int64_t create_ns;
	int64_t exit_ns;        /* 0 while alive */
	int64_t state_since_ns; /* first seen in `state`; 0: not observed */
	int32_t tid;            /* kernel thread id; 0 until it ran */
	int32_t creator_tid;
	uint32_t group;  /* index into THREAD_GROUPS */
	uint32_t flags;  /* enum rf_shm_thread_flags */
	uint32_t end;    /* enum rf_shm_thread_end */
	int32_t syscall; /* /proc/.../syscall: number, -1 running, -2 unknown */
	uint32_t state;  /* /proc/.../stat state letter, 0 unknown */
	uint32_t reserved;
	char name[RF_SHM_THREAD_NAME_MAX];
	char wchan[RF_SHM_WCHAN_MAX];
};

struct rf_shm_thread_sample {
	uint64_t frames[RF_SHM_THREAD_FRAMES]; /* frames[0] the interrupted pc */
	uint32_t nframes;
	uint32_t group; /* index into THREAD_GROUPS */
	int32_t tid;
	uint32_t status; /* enum rf_shm_sample_status */
	int64_t taken_ns;
};

struct rf_shm_module {
	char path[RF_SHM_MODULE_PATH_MAX]; /* "" when the object has no file (vdso) */
	uint64_t base;                     /* load bias (dlpi_addr) */
	uint64_t start;                    /* lowest and highest address of its PT_LOAD */
	uint64_t end;                      /* segments, end exclusive */
};

#define RF_SHM_THREAD_GROUP_STRINGS(X) X(start_name) X(thread_name)
#define RF_SHM_THREAD_STRINGS(X) X(name) X(wchan)
#define RF_SHM_MODULE_STRINGS(X) X(path)

/*
 * The sections, declared once, in segment order. X(KIND, member, entry type,
 * capacity): the writer lays them out as the members of struct rf_shm_layout
 * (64-byte aligned after the header) and lists them in the header's section
 * directory; readers find and bound-check them only through that directory,
 * and require every kind of this list exactly once.
 * `count` is published under seq: fixed sections (STATS) keep count ==
 * capacity, tables (HANDLES) publish how many entries are in use.
 */
#define RF_SHM_SECTION_LIST(X)                                                                     \
	X(STATS, stats, uint64_t, RF_STAT__COUNT)                                                  \
	X(HANDLES, handles, struct rf_shm_handle, RF_SHM_HANDLES_MAX)                              \
	RF_SHM_SECTION_LIST_THREADS(X)

#define RF_SHM_SECTION_LIST_THREADS(X)                                                             \
	X(THREAD_INFO, thread_info, struct rf_shm_thread_info, 1)                                  \
	X(THREAD_GROUPS, thread_groups, struct rf_shm_thread_group, RF_SHM_THREAD_GROUPS_MAX)      \
	X(THREADS, threads, struct rf_shm_thread, RF_SHM_THREADS_MAX)                              \
	X(THREAD_SAMPLES, thread_samples, struct rf_shm_thread_sample, RF_SHM_THREAD_SAMPLES_MAX)  \
	X(MODULES, modules, struct rf_shm_module, RF_SHM_MODULES_MAX)

enum rf_shm_section_kind {
	RF_SHM_SECTION__NONE = 0,
#define RF_SHM_SECTION_ENUM(KIND, member, type, capacity) RF_SHM_SECTION_##KIND,
	RF_SHM_SECTION_LIST(RF_SHM_SECTION_ENUM)
#undef RF_SHM_SECTION_ENUM
	RF_SHM_SECTION__END
};

#define RF_SHM_SECTION_KINDS (RF_SHM_SECTION__END - 1)
#define RF_SHM_SECTIONS_MAX 16
_Static_assert(RF_SHM_SECTION_KINDS <= RF_SHM_SECTIONS_MAX, "too many sections");

struct rf_shm_section {
	uint32_t kind;       /* enum rf_shm_section_kind */
	uint32_t entry_size; /* bytes per entry */
	uint64_t offset;     /* from the start of the segment */
	uint64_t capacity;   /* entries reserved */
	uint64_t count;      /* entries in use, <= capacity; published under seq */
};

#define RF_SHM_CMDLINE_MAX 512
#define RF_SHM_ERROR_MAX 256
#define RF_SHM_VERSION_STR_MAX 32

struct rf_shm_header {
	/* Written once at creation; magic last. */
	uint64_t magic;
	uint32_t version;
	uint32_t header_size; /* sizeof(struct rf_shm_header) */
	uint64_t size;        /* whole segment, bytes */
	int32_t pid;
	uint32_t passive;          /* 0 or 1: configuration error, no enforcement */
	uint64_t start_ticks;      /* /proc/PID/stat field 22: tells pid reuse */
	int64_t start_realtime_ns; /* CLOCK_REALTIME at shim start */
	char shim_version[RF_SHM_VERSION_STR_MAX];
	char cmdline[RF_SHM_CMDLINE_MAX];    /* argv joined by spaces, truncated */
	char config_error[RF_SHM_ERROR_MAX]; /* empty when the configuration was valid */
	struct rf_shm_config config;
	uint32_t section_count;
	uint32_t reserved0;
	struct rf_shm_section sections[RF_SHM_SECTIONS_MAX];

	/* Published under the sequence lock. */
	uint64_t seq;
	uint32_t status;            /* enum rf_shm_status */
	int32_t exit_status;        /* valid when exit_status_known */
	uint32_t exit_status_known; /* 0 or 1 */
	uint32_t reserved1;
	int64_t exit_realtime_ns;
	int64_t publish_realtime_ns;
	int64_t publish_monotonic_ns;

	/* Appended within version 8: absent (zero) below RF_SHM_HEADER_SIZE_FIRST + 8. */
	uint32_t exit_recorder; /* enum rf_shm_exit_recorder; under seq with the exit */
	int32_t exit_signal;    /* the signal that ended the process (parent only); 0 */
};

/* header_size of version 8's first writers: the shortest header a reader accepts. */
#define RF_SHM_HEADER_SIZE_FIRST 1808

/*
 * The header's string fields, declared once so the writer and every reader
 * check the same ones. X(field): a char array in struct rf_shm_header that
 * holds a NUL-terminated string.
 */
#define RF_SHM_HEADER_STRINGS(X) X(shim_version) X(cmdline) X(config_error)

/* A layout change without a version bump fails the build here. */
_Static_assert(offsetof(struct rf_shm_header, magic) == 0, "magic moved");
_Static_assert(offsetof(struct rf_shm_header, version) == 8, "version moved");
_Static_assert(offsetof(struct rf_shm_header, exit_recorder) == RF_SHM_HEADER_SIZE_FIRST,
	       "appended header fields must follow the first writers' header");
_Static_assert(sizeof(struct rf_shm_header) == 1816,
	       "rf_shm_header changed: append only (then this size), or bump RF_SHM_VERSION");

/*
 * The writer's typed view of a whole segment. Readers never use it: they go
 * through the section directory, which is what they can check.
 */
struct rf_shm_layout {
	struct rf_shm_header header;
#define RF_SHM_LAYOUT_MEMBER(KIND, member, type, capacity)                                         \
	type member[capacity] __attribute__((aligned(64)));
	RF_SHM_SECTION_LIST(RF_SHM_LAYOUT_MEMBER)
#undef RF_SHM_LAYOUT_MEMBER
};

#define RF_SHM_SIZE sizeof(struct rf_shm_layout)

#endif /* RF_SHM_H */
