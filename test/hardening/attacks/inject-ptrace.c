/*
 * ptrace into a bound process: `attach` (PTRACE_ATTACH, wait for the stop, detach) or `seize`
 * (PTRACE_SEIZE, PTRACE_INTERRUPT, wait, detach). Nothing is changed in the victim; what matters
 * is whether the kernel lets the attach happen, and what the victim is trusted with afterwards.
 *
 *   inject-ptrace attach|seize <victim-exe> <victim args...>
 */
#define _GNU_SOURCE
#include "inject.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

static int stop_and_detach(pid_t victim)
{
	int status;

	if (waitpid(victim, &status, __WALL) < 0)
		return -1;
	return ptrace(PTRACE_DETACH, victim, 0, 0) < 0 ? -1 : 0;
}

static int attach(pid_t victim, char *detail, size_t len)
{
	snprintf(detail, len, "PTRACE_ATTACH");
	if (ptrace(PTRACE_ATTACH, victim, 0, 0) < 0)
		return -1;
	return stop_and_detach(victim);
}

static int seize(pid_t victim, char *detail, size_t len)
{
	snprintf(detail, len, "PTRACE_SEIZE");
	if (ptrace(PTRACE_SEIZE, victim, 0, 0) < 0)
		return -1;
	if (ptrace(PTRACE_INTERRUPT, victim, 0, 0) < 0)
		return -1;
	return stop_and_detach(victim);
}

int main(int argc, char **argv)
{
	if (argc > 2 && strcmp(argv[1], "attach") == 0)
		return run_injection("ptrace-attach", attach, argc - 2, argv + 2);
	if (argc > 2 && strcmp(argv[1], "seize") == 0)
		return run_injection("ptrace-seize", seize, argc - 2, argv + 2);
	fprintf(stderr, "usage: inject-ptrace attach|seize <victim-exe> <args...>\n");
	return 2;
}
