/*
 * rp_segment_exit.h - the one write the reporter makes into a segment: the
 * parent of a process that ended without publishing its exit (killed by a
 * signal, or ended by exit_group as Go programs are) records how it ended
 * (rf_shm.h, "Exit recorded by the parent"). `ringfence run` calls it.
 */
#ifndef RP_SEGMENT_EXIT_H
#define RP_SEGMENT_EXIT_H

#include <sys/types.h>

/*
 * pid, a child of the caller, has ended and not yet been reaped (waited for
 * with WNOWAIT): record in its segment under prefix that it exited with
 * status code (sig 0), or was ended by signal sig. Writes only when every
 * condition of the protocol holds: the segment is that process's (its pid,
 * and start ticks /proc still gives for it), it still says running, no
 * publish was cut short in it, and its header has the fields. Returns 1
 * when recorded, 0 when there was nothing to record (no segment, an exit
 * the shim published, another process's or an older writer's segment), or
 * a negative errno.
 */
int rp_segment_record_exit(const char *prefix, pid_t pid, int code, int sig);

#endif /* RP_SEGMENT_EXIT_H */
