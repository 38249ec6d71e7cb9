#define _GNU_SOURCE
#include "inject.h"
#include "common.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

unsigned long writable_address(pid_t pid)
{
	char path[64], line[512], perms[8];
	unsigned long start = 0x10000, s, e;
	FILE *maps;

	snprintf(path, sizeof path, "/proc/%d/maps", pid);
	maps = fopen(path, "r");
	if (!maps)
		return start;
	while (fgets(line, sizeof line, maps)) {
		if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) == 3 && strncmp(perms, "rw-p", 4) == 0) {
			start = s;
			break;
		}
	}
	fclose(maps);
	return start;
}

int run_injection(const char *op_name, inject_op op, int argc, char **argv)
{
	char line[64], detail[128] = "", extra[512];
	pid_t victim;
	int ok, err, status;

	if (argc < 2) {
		fprintf(stderr, "usage: inject-... <victim-exe> <victim args...>\n");
		return 2;
	}
	victim = fork();
	if (victim < 0)
		fail("fork", 60);
	if (victim == 0) {
		execv(argv[0], argv);
		fail("exec-victim", 61);
	}
	snprintf(extra, sizeof extra, "\"victim\":%d", victim);
	report("victim", extra);
	if (!fgets(line, sizeof line, stdin))
		fail("wait-go", 62);
	errno = 0;
	ok = op(victim, detail, sizeof detail) == 0;
	err = ok ? 0 : errno;
	snprintf(extra, sizeof extra, "\"op\":\"%s\",\"ok\":%s,\"errno\":%d,\"error\":\"%s\",\"detail\":\"%s\"",
		 op_name, ok ? "true" : "false", err, ok ? "" : strerror(err), detail);
	report("attack", extra);
	while (fgets(line, sizeof line, stdin))
		;
	kill(victim, SIGTERM);
	waitpid(victim, &status, 0);
	return 0;
}
