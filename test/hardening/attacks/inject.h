/*
 * Frame of the injection attacks (issue 13, "into a bound process"): the attacker, the same uid as
 * the workload (which is what DAC requires) and without capabilities, starts the genuine bound
 * program itself (so even Yama ptrace_scope=1 would allow it), waits for "go" on stdin, runs one
 * operation against it and reports {"event":"attack","op":...,"ok":bool,"errno":N}. On stdin EOF it
 * ends the victim and exits.
 *
 *   inject-<technique> [<mode>] <victim-exe> <victim argv[1]...>
 */
#ifndef SIGIL_ATTACK_INJECT_H
#define SIGIL_ATTACK_INJECT_H

#include <stddef.h>
#include <sys/types.h>

/* One operation on the victim: 0 on success, -1 with errno set. `detail` may name the address used. */
typedef int (*inject_op)(pid_t victim, char *detail, size_t detail_len);

int run_injection(const char *op_name, inject_op op, int argc, char **argv);

/* Start of the first private writable mapping of pid (0x10000 when its maps cannot be read). */
unsigned long writable_address(pid_t pid);

#endif
