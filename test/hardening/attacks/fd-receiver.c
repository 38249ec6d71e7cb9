/*
 * The other end of pass-fd: receives a connected socket over SCM_RIGHTS on fd 3, sends a PutObject
 * on it (TLS and HTTP spoken by this process, which never connected anything), reports the status
 * and acks so the sender may exit.
 *
 *   fd-receiver <host> <object>      (fd 3: the unix socket)
 */
#define _GNU_SOURCE
#include "common.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char byte, control[CMSG_SPACE(sizeof(int))], extra[256];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
	struct cmsghdr *cmsg;
	int fd = -1, status;

	if (argc != 3) {
		fprintf(stderr, "usage: fd-receiver <host> <object>\n");
		return 2;
	}
	if (recvmsg(3, &msg, 0) != 1)
		fail("recvmsg", 90);
	cmsg = CMSG_FIRSTHDR(&msg);
	if (cmsg && cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
	if (fd < 0)
		fail("no-fd-received", 91);
	report("received", "");
	status = https_put(fd, argv[1], argv[2], argv[2]);
	snprintf(extra, sizeof extra, "\"object\":\"%s\",\"status\":%d", argv[2], status);
	report("request", extra);
	if (write(3, "A", 1) != 1)
		fail("ack", 92);
	return 0;
}
