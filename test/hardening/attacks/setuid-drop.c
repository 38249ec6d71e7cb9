/*
 * A credential change after attestation (issue 13): installed setuid to the workload's uid and run
 * by another uid, this program is bound (its identity pins the effective uid). On "go" lines from
 * stdin it: sends a PutObject (before), changes its credentials with setresuid(ruid, ruid, ruid),
 * then sends another PutObject (after), each on a fresh connection.
 *
 *   setuid-drop <addr> <host> <object-prefix>
 *
 * Prints: ids (ruid, euid), request (object, status), setresuid (ok, errno), error.
 */
#define _GNU_SOURCE
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void put(const char *addr, const char *host, const char *prefix, const char *phase)
{
	char object[256], extra[512];
	int fd, status;

	snprintf(object, sizeof object, "%s-%s", prefix, phase);
	fd = connect_endpoint(addr);
	status = fd < 0 ? -1 : https_put(fd, host, object, object);
	if (fd >= 0)
		close(fd);
	snprintf(extra, sizeof extra, "\"object\":\"%s\",\"status\":%d", object, status);
	report("request", extra);
}

int main(int argc, char **argv)
{
	char line[64], extra[256];
	uid_t ruid = getuid();
	int ok, err;

	if (argc != 4) {
		fprintf(stderr, "usage: setuid-drop <addr> <host> <object-prefix>\n");
		return 2;
	}
	snprintf(extra, sizeof extra, "\"ruid\":%u,\"euid\":%u", ruid, geteuid());
	report("ids", extra);
	if (!fgets(line, sizeof line, stdin))
		fail("wait-go", 100);
	put(argv[1], argv[2], argv[3], "before");
	if (!fgets(line, sizeof line, stdin))
		fail("wait-go", 101);
	ok = setresuid(ruid, ruid, ruid) == 0;
	err = ok ? 0 : errno;
	snprintf(extra, sizeof extra, "\"ok\":%s,\"errno\":%d,\"error\":\"%s\",\"ruid\":%u,\"euid\":%u",
		 ok ? "true" : "false", err, ok ? "" : strerror(err), getuid(), geteuid());
	report("setresuid", extra);
	put(argv[1], argv[2], argv[3], "after");
	return 0;
}
