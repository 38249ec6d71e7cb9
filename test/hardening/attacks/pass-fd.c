/*
 * fd passing after a swap (issue 13): the steered socket of a swapped process is handed over
 * SCM_RIGHTS to another program, which speaks TLS and HTTP on it.
 *
 *   pass-fd <addr> <host> <object> <receiver> <bound-exe> <forged argv...>
 *
 * Forks first thing after exec (this binary is padded, so the agent is still hashing it): the child,
 * PENDING like its parent was, swaps, connects and sends the socket to the parent, which has exec'd
 * <receiver> (fd-receiver, a program never swapped) with the other end of a socketpair as fd 3.
 */
#define _GNU_SOURCE
#include "common.h"
#include "swap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void send_fd(int channel, int fd)
{
	char byte = 'F', control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	memset(control, 0, sizeof control);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
	if (sendmsg(channel, &msg, 0) != 1)
		fail("sendmsg", 80);
}

int main(int argc, char **argv)
{
	int pair[2];
	pid_t child;

	if (argc < 7) {
		fprintf(stderr, "usage: pass-fd <addr> <host> <object> <receiver> <bound-exe> <argv...>\n");
		return 2;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) < 0)
		fail("socketpair", 81);
	child = fork();
	if (child < 0)
		fail("fork", 82);
	if (child == 0) {
		const char *step;
		char ack;
		int fd;

		close(pair[1]);
		if (swap_identity(argv[5], &argv[6], &step) < 0)
			fail(step, 83);
		report_swapped();
		fd = connect_endpoint(argv[1]);
		if (fd < 0)
			fail("connect", 84);
		send_fd(pair[0], fd);
		report("passed", "");
		/* Stay alive until the receiver is done: the signer checks the connecting process is live. */
		if (read(pair[0], &ack, 1) < 0)
			fail("wait-ack", 85);
		exit(0);
	}
	close(pair[0]);
	if (dup2(pair[1], 3) < 0)
		fail("dup2", 86);
	execl(argv[4], argv[4], argv[2], argv[3], (char *)NULL);
	fail("exec-receiver", 87);
}
