/*
 * A write to /proc/<pid>/mem of a bound process: open O_RDWR (the kernel's ptrace-attach check),
 * read 8 bytes of a writable mapping, write them back.
 *
 *   inject-proc-mem <victim-exe> <victim args...>
 */
#define _GNU_SOURCE
#include "inject.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static int mem_write(pid_t victim, char *detail, size_t len)
{
	unsigned long addr = writable_address(victim);
	char path[64], bytes[8] = { 0 };
	int fd, err;
	ssize_t n;

	snprintf(detail, len, "0x%lx", addr);
	snprintf(path, sizeof path, "/proc/%d/mem", victim);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return -1;
	pread(fd, bytes, sizeof bytes, (off_t)addr);
	n = pwrite(fd, bytes, sizeof bytes, (off_t)addr);
	err = errno;
	close(fd);
	if (n != (ssize_t)sizeof bytes) {
		errno = n < 0 ? err : EIO;
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	return run_injection("proc-pid-mem", mem_write, argc - 1, argv + 1);
}
