#define _GNU_SOURCE
#include "swap.h"
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/prctl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

struct range {
	unsigned long start, end;
	int prot;
};

/* Every mapping of our own executable becomes an anonymous copy of itself, in place. */
static int unmap_own_executable(void)
{
	char self[PATH_MAX], line[PATH_MAX + 256], path[PATH_MAX];
	struct range ranges[64];
	int count = 0;
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	FILE *maps;

	if (n < 0)
		return -1;
	self[n] = 0;
	maps = fopen("/proc/self/maps", "r");
	if (!maps)
		return -1;
	while (count < 64 && fgets(line, sizeof line, maps)) {
		unsigned long start, end;
		char perms[8];

		path[0] = 0;
		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %4095[^\n]", &start, &end, perms, path) < 3)
			continue;
		if (strcmp(path, self) != 0)
			continue;
		ranges[count].start = start;
		ranges[count].end = end;
		ranges[count].prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
				     (perms[2] == 'x' ? PROT_EXEC : 0);
		count++;
	}
	fclose(maps);
	if (count == 0) {
		errno = ENOENT;
		return -1;
	}
	for (int i = 0; i < count; i++) {
		size_t len = ranges[i].end - ranges[i].start;
		void *copy = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (copy == MAP_FAILED)
			return -1;
		if (ranges[i].prot & PROT_READ)
			memcpy(copy, (void *)ranges[i].start, len);
		if (mprotect(copy, len, ranges[i].prot) < 0)
			return -1;
		/* The code running this loop may live in the range: the copy holds the same bytes. */
		if (mremap(copy, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)ranges[i].start) == MAP_FAILED)
			return -1;
	}
	return 0;
}

/* Fields of /proc/self/stat (1-based) that PR_SET_MM_MAP needs back unchanged. */
static int read_stat_fields(unsigned long long out[53])
{
	char buf[4096];
	int fd = open("/proc/self/stat", O_RDONLY);
	ssize_t n;
	char *p;
	int field = 3;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	p += 2; /* field 3 (state) */
	memset(out, 0, 53 * sizeof out[0]);
	while (field < 53 && *p) {
		out[field] = strtoull(p, &p, 10);
		if (field == 3) {
			/* state is a letter: strtoull did not move */
			while (*p && *p != ' ')
				p++;
		}
		while (*p == ' ')
			p++;
		field++;
	}
	return 0;
}

int swap_identity(const char *exe, char *const argv[], const char **step)
{
	static char forged[4096];
	unsigned long long stat[53];
	struct prctl_mm_map map;
	size_t len = 0;
	int exe_fd;

	for (int i = 0; argv[i]; i++) {
		size_t l = strlen(argv[i]) + 1;

		if (len + l > sizeof forged) {
			*step = "forge-cmdline";
			errno = E2BIG;
			return -1;
		}
		memcpy(forged + len, argv[i], l);
		len += l;
	}
	*step = "open-exe";
	exe_fd = open(exe, O_RDONLY | O_CLOEXEC);
	if (exe_fd < 0)
		return -1;
	*step = "unshare-user";
	if (unshare(CLONE_NEWUSER) < 0)
		return -1;
	*step = "unmap-own-executable";
	if (unmap_own_executable() < 0)
		return -1;
	*step = "read-stat";
	if (read_stat_fields(stat) < 0)
		return -1;
	memset(&map, 0, sizeof map);
	map.start_code = stat[26];
	map.end_code = stat[27];
	map.start_stack = stat[28];
	map.start_data = stat[45];
	map.end_data = stat[46];
	map.start_brk = stat[47];
	map.brk = (unsigned long)syscall(SYS_brk, 0);
	map.arg_start = (unsigned long)forged;
	map.arg_end = (unsigned long)forged + len;
	map.env_start = stat[50];
	map.env_end = stat[51];
	map.auxv = NULL;
	map.auxv_size = 0;
	map.exe_fd = (unsigned int)exe_fd;
	*step = "prctl-set-mm-map";
	if (prctl(PR_SET_MM, PR_SET_MM_MAP, (unsigned long)&map, sizeof map, 0) < 0)
		return -1;
	close(exe_fd);
	return 0;
}

void report_swapped(void)
{
	char exe[PATH_MAX], cmdline[4096], extra[PATH_MAX + 4200];

	self_view(exe, sizeof exe, cmdline, sizeof cmdline);
	snprintf(extra, sizeof extra, "\"exe\":\"%s\",\"cmdline\":\"%s\"", exe, cmdline);
	report("swapped", extra);
}
