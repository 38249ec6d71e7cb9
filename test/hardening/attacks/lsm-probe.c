/*
 * Can this kernel run BPF LSM programs at all? Loads (never attaches) the smallest LSM program,
 * `return 0` on the file_open hook, and prints {"event":"lsm-probe","ok":bool,"errno":N}. The test
 * uses it, independently of the agent, to know whether `auto` must mean enforce here: `bpf` in
 * /sys/kernel/security/lsm is not enough when the kernel still refuses the load.
 *
 *   lsm-probe <BTF id of bpf_lsm_file_open in /sys/kernel/btf/vmlinux>      (as root)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	int fd, err;

	if (argc != 2) {
		fprintf(stderr, "usage: lsm-probe <btf id>\n");
		return 2;
	}
	memset(&attr, 0, sizeof attr);
	attr.prog_type = BPF_PROG_TYPE_LSM;
	attr.expected_attach_type = BPF_LSM_MAC;
	attr.insns = (unsigned long)insns;
	attr.insn_cnt = 2;
	attr.license = (unsigned long)"GPL";
	attr.attach_btf_id = (unsigned int)strtoul(argv[1], NULL, 10);
	fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
	err = fd < 0 ? errno : 0;
	printf("{\"event\":\"lsm-probe\",\"ok\":%s,\"errno\":%d,\"error\":\"%s\"}\n", fd >= 0 ? "true" : "false", err,
	       fd >= 0 ? "" : strerror(err));
	if (fd >= 0)
		close(fd);
	return 0;
}
