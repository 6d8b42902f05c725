/*
 * rp_segment_exit.c - the parent records how its child ended
 * (rp_segment_exit.h).
 */
#include "rp_segment_exit.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rf_proc.h"
#include "rf_shm.h"
#include "rf_time.h"
#include "rp_segment.h"

/* Write all of len bytes at off; 0 or a negative errno. */
static int rp_pwrite_full(int fd, const void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done, off + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

/* The header's published part from status on, as one span of the file. */
#define RP_EXIT_SPAN_OFF offsetof(struct rf_shm_header, status)
#define RP_EXIT_SPAN_LEN (sizeof(struct rf_shm_header) - RP_EXIT_SPAN_OFF)

int rp_segment_record_exit(const char *prefix, pid_t pid, int code, int sig)
{
	struct rp_snapshot snap;
	struct rp_failure fail;
	struct rf_shm_header hdr;
	uint64_t ticks = 0, seq;
	struct stat st;
	int fd, rc;

	/* The ended process's start time: /proc keeps it until it is reaped. */
	rc = rf_proc_start_ticks(pid, &ticks);
	if (rc < 0)
		return rc;
	/* Every check a reader makes, on a stable copy. */
	if (rp_segment_read(prefix, pid, &snap, &fail) != RP_READ_OK)
		return 0;
	hdr = snap.hdr;
	rp_snapshot_release(&snap);
	if (hdr.status != RF_SHM_STATUS_RUNNING || snap.torn || hdr.start_ticks == 0 ||
	    hdr.start_ticks != ticks || hdr.header_size < sizeof(struct rf_shm_header))
		return 0;

	fd = shm_open(snap.name, O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* The file read above, not one put in its place since. */
	if (fstat(fd, &st) < 0 || st.st_ino != snap.ino || st.st_dev != snap.dev ||
	    (size_t)st.st_size < sizeof(struct rf_shm_header)) {
		close(fd);
		return 0;
	}
	/* Under the sequence lock, as a publish: seq odd, the fields, seq even. */
	seq = hdr.seq + 1;
	rc = rp_pwrite_full(fd, &seq, sizeof(seq), offsetof(struct rf_shm_header, seq));
	hdr.status = RF_SHM_STATUS_EXITED;
	hdr.exit_realtime_ns = rf_clock_ns(CLOCK_REALTIME);
	hdr.exit_recorder = RF_SHM_EXIT_BY_PARENT;
	hdr.exit_status_known = sig == 0;
	hdr.exit_status = sig == 0 ? code : 0;
	hdr.exit_signal = sig;
	if (rc == 0)
		rc = rp_pwrite_full(fd, (const char *)&hdr + RP_EXIT_SPAN_OFF, RP_EXIT_SPAN_LEN,
				    RP_EXIT_SPAN_OFF);
	seq++;
	if (rc == 0)
		rc = rp_pwrite_full(fd, &seq, sizeof(seq), offsetof(struct rf_shm_header, seq));
	close(fd);
	return rc < 0 ? rc : 1;
}
