/*
 * test_forge.c - rp-test-forge, for the reporter's end-to-end tests: writes
 * a segment as another process of the user could, from the real writer
 * (test_writer.h). Not installed.
 *
 *   rp-test-forge PREFIX PID valid|hostile
 *
 * creates /dev/shm/PREFIX.PID (mode 0600; it must not exist yet) holding
 * PID: valid is rp_test_valid's segment, hostile rp_test_hostile's (every
 * string a terminal escape or a byte of no UTF-8 sequence, a thread whose
 * state letter is ESC). The process PID need not exist: the segment then
 * reads as dead.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rp_list.h"
#include "test_writer.h"

int main(int argc, char **argv)
{
	static unsigned char buf[RF_SHM_SIZE];
	char prefix[RF_CONFIG_NAME_MAX], err[RP_MESSAGE_MAX], name[RF_SHM_NAME_MAX];
	pid_t pid;
	int fd;

	if (argc != 4 || rp_prefix_resolve(argv[1], prefix, err, sizeof(err)) < 0 ||
	    rp_pid_parse(argv[2], &pid) < 0 ||
	    (strcmp(argv[3], "valid") != 0 && strcmp(argv[3], "hostile") != 0)) {
		fprintf(stderr, "usage: rp-test-forge PREFIX PID valid|hostile\n");
		return 2;
	}
	if (strcmp(argv[3], "hostile") == 0)
		rp_test_hostile(buf);
	else
		rp_test_valid(buf);
	RP_HDR(buf)->pid = (int32_t)pid;
	rp_segment_name(prefix, pid, name);
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
		perror(name);
		return 1;
	}
	close(fd);
	return 0;
}
