// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * Baselines for the benchmarks only (bench/identity-cost.ts): programs of the same types and hooks as
 * Sigil's that do nothing, so a program's cost is stated as a ratio to the bare cost of running any
 * program there, measured in the same run. Never loaded by the agent.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("cgroup/connect4")
int noop_connect4(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(noop_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int noop_openat(struct trace_event_raw_sys_exit *ctx)
{
	return 0;
}
