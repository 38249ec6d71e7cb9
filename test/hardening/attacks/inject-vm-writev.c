/*
 * process_vm_writev into a bound process: reads 8 bytes of a writable mapping and writes the same
 * bytes back (a real write, harmless to the victim).
 *
 *   inject-vm-writev <victim-exe> <victim args...>
 */
#define _GNU_SOURCE
#include "inject.h"

#include <errno.h>
#include <stdio.h>
#include <sys/uio.h>

static int vm_write(pid_t victim, char *detail, size_t len)
{
	unsigned long addr = writable_address(victim);
	char bytes[8] = { 0 };
	struct iovec local = { .iov_base = bytes, .iov_len = sizeof bytes };
	struct iovec remote = { .iov_base = (void *)addr, .iov_len = sizeof bytes };
	ssize_t n;

	snprintf(detail, len, "0x%lx", addr);
	/* Ignore a refused read: the write below is the operation under test. */
	process_vm_readv(victim, &local, 1, &remote, 1, 0);
	n = process_vm_writev(victim, &local, 1, &remote, 1, 0);
	if (n < 0)
		return -1;
	if (n != (ssize_t)sizeof bytes) {
		errno = EIO;
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	return run_injection("process-vm-writev", vm_write, argc - 1, argv + 1);
}
