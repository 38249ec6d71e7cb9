/*
 * exe/argv swap, then a request of its own: the swapped process looks like the bound program in
 * /proc. Two ways to get the agent to read that /proc view (issue 13):
 *
 *   swap-exe pending   <addr> <host> <object> <bound-exe> <forged argv...>
 *       Forks first thing after exec, while the agent is still hashing this (padded) binary: the
 *       child inherits PENDING, swaps, connects (steered) and sends its PutObject.
 *   swap-exe reconcile <addr> <host> <object> <go-dir> <bound-exe> <forged argv...>
 *       Waits for <go-dir>/fork (the test saw this process attested, unbound), forks; the child
 *       swaps, reports, waits for <go-dir>/connect (the test made the agent reconcile) and sends.
 *
 * Prints JSON lines: started (reconcile: main() runs, i.e. this image was exec'd), child (its pid),
 * swapped (exe, cmdline as /proc/self shows them), request (status), error.
 */
#define _GNU_SOURCE
#include "common.h"
#include "swap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void swap_and_put(const char *addr, const char *host, const char *object, const char *go_dir,
			 const char *exe, char *const argv[])
{
	char path[4096], extra[256];
	const char *step;
	int fd, status;

	if (swap_identity(exe, argv, &step) < 0)
		fail(step, 71);
	report_swapped();
	if (go_dir) {
		snprintf(path, sizeof path, "%s/connect", go_dir);
		wait_for_file(path);
	}
	fd = connect_endpoint(addr);
	if (fd < 0)
		fail("connect", 72);
	status = https_put(fd, host, object, object);
	snprintf(extra, sizeof extra, "\"object\":\"%s\",\"status\":%d", object, status);
	report("request", extra);
	exit(0);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	int reconcile = strcmp(mode, "reconcile") == 0;
	int first = reconcile ? 6 : 5;
	char path[4096];
	pid_t child;
	int status;

	if ((strcmp(mode, "pending") != 0 && !reconcile) || argc <= first + 1) {
		fprintf(stderr, "usage: swap-exe pending|reconcile <addr> <host> <object> [<go-dir>] <bound-exe> <argv...>\n");
		return 2;
	}
	if (reconcile) {
		report("started", "");
		snprintf(path, sizeof path, "%s/fork", argv[5]);
		wait_for_file(path);
	}
	child = fork();
	if (child < 0)
		fail("fork", 73);
	if (child > 0) {
		char extra[64];

		snprintf(extra, sizeof extra, "\"child\":%d", child);
		report("child", extra);
	}
	if (child == 0)
		swap_and_put(argv[2], argv[3], argv[4], reconcile ? argv[5] : NULL, argv[first], &argv[first + 1]);
	if (waitpid(child, &status, 0) < 0)
		fail("waitpid", 74);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 75;
}
