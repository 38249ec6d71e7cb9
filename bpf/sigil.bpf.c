// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * Sigil kernel steering. Connections from bound/pending processes to OCI endpoints are rewritten to
 * the local signer; the original destination and the caller travel with the socket (sk_storage),
 * are handed to the signer's accepted socket (sockops) and shown back to the caller (getpeername).
 * Exec/fork/exit keep the process map current. Layouts live in abi.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "abi.h"

#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define IPPROTO_TCP 6
#define EPERM 1
#define ENOENT 2
#define ENOMEM 12

/* Verdicts of cgroup sock_addr programs. */
#define VERDICT_ALLOW 1
#define VERDICT_REFUSE 0

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Chosen by the loader before load (rodata). Network byte order. */
const volatile __u32 signer_ip4 = 0;
const volatile __u32 signer_ip6[4] = {0, 0, 0, 0};
const volatile __u16 signer_port = 0;

/* tgid -> state/binding/start time. Written by the tracepoints below and by the agent. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SIGIL_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct sigil_proc);
} sigil_procs SEC(".maps");

/*
 * tgid -> exec sequence number: 1 after the first exec seen, +1 per exec, copied on fork, deleted
 * at exit. Only these programs write it (user space reads), so it never moves backwards. A connection
 * carries the value it had at connect; attestation refuses an outcome for a later exec.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SIGIL_MAX_PROCS);
	__type(key, __u32);
	__type(value, __u32);
} sigil_exec_seqs SEC(".maps");

/* OCI endpoint IP:port -> destination id/flags. Written by the agent from DNS. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SIGIL_MAX_DESTS);
	__type(key, struct sigil_dest_key);
	__type(value, struct sigil_dest);
} sigil_dests SEC(".maps");

/* Run-time settings (scan_complete, identity of the pinned set). Written by the agent. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sigil_settings);
} sigil_settings SEC(".maps");

/* Per-socket connection record. Written by connect4/6 (client) and sockops (accepted socket). */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sigil_conn);
} sigil_records SEC(".maps");

/* Client local endpoint -> record, between the active and passive established callbacks. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SIGIL_MAX_HANDOFF);
	__type(key, struct sigil_endpoint_key);
	__type(value, struct sigil_conn);
} sigil_handoff SEC(".maps");

/* Per-CPU branch counters (enum sigil_counter). Written here, summed by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SIGIL_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} sigil_counters SEC(".maps");

/* Exec/exit events (struct sigil_event) for the agent's attestation. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SIGIL_RINGBUF_BYTES);
} sigil_events SEC(".maps");

static __always_inline void sigil_count(__u32 counter)
{
	__u64 *value = bpf_map_lookup_elem(&sigil_counters, &counter);

	if (value)
		*value += 1;
}

static __always_inline int sigil_scan_complete(void)
{
	__u32 zero = 0;
	struct sigil_settings *settings = bpf_map_lookup_elem(&sigil_settings, &zero);

	return settings && settings->scan_complete;
}

/* The caller's state; no entry means PENDING until the /proc scan completes, UNBOUND after. */
static __always_inline __u8 sigil_proc_state(__u32 tgid, __u64 *start_time)
{
	struct sigil_proc *proc = bpf_map_lookup_elem(&sigil_procs, &tgid);

	if (proc) {
		*start_time = proc->start_time;
		return proc->state;
	}
	*start_time = 0;
	return sigil_scan_complete() ? SIGIL_PROC_UNBOUND : SIGIL_PROC_PENDING;
}

/* 0 for a process no exec of which was seen (found by the /proc scan, or a child of one). */
static __always_inline __u32 sigil_exec_seq(__u32 tgid)
{
	__u32 *seq = bpf_map_lookup_elem(&sigil_exec_seqs, &tgid);

	return seq ? *seq : 0;
}

static __always_inline void sigil_set_v4_mapped(__u32 addr[4], __u32 ip4)
{
	addr[0] = 0;
	addr[1] = 0;
	addr[2] = bpf_htonl(0x0000ffff);
	addr[3] = ip4;
}

static __always_inline int sigil_is_v4_mapped(const __u32 addr[4])
{
	return addr[0] == 0 && addr[1] == 0 && addr[2] == bpf_htonl(0x0000ffff);
}

/*
 * Shared part of connect4/connect6: decide, and on "steer" attach the record to the socket.
 * Returns 1 to steer, 0 to pass untouched, -EPERM to refuse.
 */
static __always_inline int sigil_connect_decide(struct bpf_sock_addr *ctx, const struct sigil_dest_key *key)
{
	struct sigil_dest *dest;
	struct sigil_conn *rec;
	__u64 start_time = 0;
	__u32 tgid;
	__u8 state;

	if (ctx->type != SOCK_STREAM || ctx->protocol != IPPROTO_TCP) {
		sigil_count(SIGIL_CNT_PASSED_NOT_TCP);
		return 0;
	}
	dest = bpf_map_lookup_elem(&sigil_dests, key);
	if (!dest) {
		sigil_count(SIGIL_CNT_PASSED_NOT_LISTED);
		return 0;
	}
	tgid = bpf_get_current_pid_tgid() >> 32;
	state = sigil_proc_state(tgid, &start_time);
	if (state == SIGIL_PROC_EXEMPT) {
		sigil_count(SIGIL_CNT_PASSED_EXEMPT);
		return 0;
	}
	if (state != SIGIL_PROC_BOUND && state != SIGIL_PROC_PENDING) {
		if (dest->flags & SIGIL_DEST_DENY) {
			sigil_count(SIGIL_CNT_DENIED);
			return -EPERM;
		}
		sigil_count(SIGIL_CNT_PASSED_UNBOUND);
		return 0;
	}
	rec = bpf_sk_storage_get(&sigil_records, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!rec) {
		/* Fail closed: a steerable connection we cannot record must not reach the endpoint unsigned. */
		sigil_count(SIGIL_CNT_STORAGE_FAIL);
		return -ENOMEM;
	}
	rec->addr[0] = key->addr[0];
	rec->addr[1] = key->addr[1];
	rec->addr[2] = key->addr[2];
	rec->addr[3] = key->addr[3];
	rec->port = key->port;
	rec->family = sigil_is_v4_mapped(key->addr) ? AF_INET : AF_INET6;
	rec->role = SIGIL_ROLE_CLIENT;
	rec->tgid = tgid;
	rec->uid = (__u32)bpf_get_current_uid_gid();
	rec->exec_seq = sigil_exec_seq(tgid);
	rec->start_time = start_time;
	rec->cookie = bpf_get_socket_cookie(ctx);
	sigil_count(SIGIL_CNT_STEERED);
	return 1;
}

/* user_port holds the port in the low 16 bits, network order. */
static __always_inline __u16 sigil_ctx_port(const struct bpf_sock_addr *ctx)
{
	return (__u16)ctx->user_port;
}

SEC("cgroup/connect4")
int sigil_connect4(struct bpf_sock_addr *ctx)
{
	struct sigil_dest_key key = {};
	int verdict;

	key.port = sigil_ctx_port(ctx);
	sigil_set_v4_mapped(key.addr, ctx->user_ip4);
	verdict = sigil_connect_decide(ctx, &key);
	if (verdict < 0)
		return VERDICT_REFUSE;
	if (verdict > 0) {
		ctx->user_ip4 = signer_ip4;
		ctx->user_port = signer_port;
	}
	return VERDICT_ALLOW;
}

SEC("cgroup/connect6")
int sigil_connect6(struct bpf_sock_addr *ctx)
{
	struct sigil_dest_key key = {};
	int verdict;

	key.port = sigil_ctx_port(ctx);
	key.addr[0] = ctx->user_ip6[0];
	key.addr[1] = ctx->user_ip6[1];
	key.addr[2] = ctx->user_ip6[2];
	key.addr[3] = ctx->user_ip6[3];
	verdict = sigil_connect_decide(ctx, &key);
	if (verdict < 0)
		return VERDICT_REFUSE;
	if (verdict > 0) {
		if (sigil_is_v4_mapped(key.addr)) {
			/* A v4-mapped dial stays IPv4 on the wire: go to ::ffff:<signer IPv4>. */
			ctx->user_ip6[0] = 0;
			ctx->user_ip6[1] = 0;
			ctx->user_ip6[2] = bpf_htonl(0x0000ffff);
			ctx->user_ip6[3] = signer_ip4;
		} else {
			ctx->user_ip6[0] = signer_ip6[0];
			ctx->user_ip6[1] = signer_ip6[1];
			ctx->user_ip6[2] = signer_ip6[2];
			ctx->user_ip6[3] = signer_ip6[3];
		}
		ctx->user_port = signer_port;
	}
	return VERDICT_ALLOW;
}

/*
 * sock_ops reports remote_port shifted into the upper 16 bits on some kernels and not on others;
 * take whichever half holds it. Network order either way.
 */
static __always_inline __u16 sigil_sockops_remote_port(const struct bpf_sock_ops *skops)
{
	__u32 port = skops->remote_port;

	return port > 0xffff ? (__u16)(port >> 16) : (__u16)port;
}

/* Fills key with the local (local=1) or remote endpoint of skops; -ENOENT for non-IP sockets. */
static __always_inline int sigil_sockops_endpoint(const struct bpf_sock_ops *skops, int local,
						  struct sigil_endpoint_key *key)
{
	if (skops->family == AF_INET) {
		sigil_set_v4_mapped(key->addr, local ? skops->local_ip4 : skops->remote_ip4);
	} else if (skops->family == AF_INET6) {
		if (local) {
			key->addr[0] = skops->local_ip6[0];
			key->addr[1] = skops->local_ip6[1];
			key->addr[2] = skops->local_ip6[2];
			key->addr[3] = skops->local_ip6[3];
		} else {
			key->addr[0] = skops->remote_ip6[0];
			key->addr[1] = skops->remote_ip6[1];
			key->addr[2] = skops->remote_ip6[2];
			key->addr[3] = skops->remote_ip6[3];
		}
	} else {
		return -ENOENT;
	}
	/* local_port is host order, remote_port network order. */
	key->port = local ? bpf_htons((__u16)skops->local_port) : sigil_sockops_remote_port(skops);
	key->pad = 0;
	return 0;
}

/* Client side established: park the record under the client's local endpoint. */
static __always_inline int sigil_handoff_store(struct bpf_sock_ops *skops)
{
	struct sigil_endpoint_key key = {};
	struct bpf_sock *sk = skops->sk;
	struct sigil_conn *rec;

	if (!sk)
		return -ENOENT;
	rec = bpf_sk_storage_get(&sigil_records, sk, 0, 0);
	if (!rec || rec->role != SIGIL_ROLE_CLIENT)
		return 0;
	if (sigil_sockops_endpoint(skops, 1, &key))
		return -ENOENT;
	if (bpf_map_update_elem(&sigil_handoff, &key, rec, BPF_ANY)) {
		sigil_count(SIGIL_CNT_HANDOFF_STORE_FAIL);
		return -ENOMEM;
	}
	sigil_count(SIGIL_CNT_HANDOFF_STORED);
	return 0;
}

/* Signer side established: move the parked record onto the accepted socket. */
static __always_inline int sigil_handoff_claim(struct bpf_sock_ops *skops)
{
	struct sigil_endpoint_key key = {};
	struct bpf_sock *sk = skops->sk;
	struct sigil_conn *parked, *rec;

	if (!sk)
		return -ENOENT;
	if (sigil_sockops_endpoint(skops, 0, &key))
		return -ENOENT;
	parked = bpf_map_lookup_elem(&sigil_handoff, &key);
	if (!parked) {
		/* Someone dialled this listener directly (or it is not the signer): no record. */
		sigil_count(SIGIL_CNT_HANDOFF_MISS);
		return 0;
	}
	rec = bpf_sk_storage_get(&sigil_records, sk, parked, BPF_SK_STORAGE_GET_F_CREATE);
	if (!rec) {
		sigil_count(SIGIL_CNT_STORAGE_FAIL);
		bpf_map_delete_elem(&sigil_handoff, &key);
		return -ENOMEM;
	}
	rec->role = SIGIL_ROLE_ACCEPTED;
	bpf_map_delete_elem(&sigil_handoff, &key);
	sigil_count(SIGIL_CNT_HANDOFF_CLAIMED);
	return 0;
}

SEC("sockops")
int sigil_sockops(struct bpf_sock_ops *skops)
{
	switch (skops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		sigil_handoff_store(skops);
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		sigil_handoff_claim(skops);
		break;
	default:
		break;
	}
	return 1;
}

/* The client's own view: its steered socket's peer is the address it dialled. */
static __always_inline struct sigil_conn *sigil_client_record(struct bpf_sock_addr *ctx)
{
	struct sigil_conn *rec = bpf_sk_storage_get(&sigil_records, ctx->sk, 0, 0);

	if (!rec || rec->role != SIGIL_ROLE_CLIENT)
		return 0;
	return rec;
}

SEC("cgroup/getpeername4")
int sigil_peername4(struct bpf_sock_addr *ctx)
{
	struct sigil_conn *rec = sigil_client_record(ctx);

	if (rec && rec->family == AF_INET) {
		ctx->user_ip4 = rec->addr[3];
		ctx->user_port = rec->port;
		sigil_count(SIGIL_CNT_PEERNAME_REWRITTEN);
	}
	return VERDICT_ALLOW;
}

SEC("cgroup/getpeername6")
int sigil_peername6(struct bpf_sock_addr *ctx)
{
	struct sigil_conn *rec = sigil_client_record(ctx);

	if (rec) {
		ctx->user_ip6[0] = rec->addr[0];
		ctx->user_ip6[1] = rec->addr[1];
		ctx->user_ip6[2] = rec->addr[2];
		ctx->user_ip6[3] = rec->addr[3];
		ctx->user_port = rec->port;
		sigil_count(SIGIL_CNT_PEERNAME_REWRITTEN);
	}
	return VERDICT_ALLOW;
}

static __always_inline int sigil_emit(__u32 type, __u32 tgid, __u64 start_time, __u32 dev, __u32 exec_seq, __u64 ino)
{
	struct sigil_event *event = bpf_ringbuf_reserve(&sigil_events, sizeof(*event), 0);

	if (!event) {
		sigil_count(SIGIL_CNT_RINGBUF_FULL);
		return -ENOMEM;
	}
	event->type = type;
	event->tgid = tgid;
	event->start_time = start_time;
	event->dev = dev;
	event->exec_seq = exec_seq;
	event->ino = ino;
	bpf_ringbuf_submit(event, 0);
	return 0;
}

static __always_inline int sigil_proc_put(__u32 tgid, const struct sigil_proc *proc)
{
	if (bpf_map_update_elem(&sigil_procs, &tgid, proc, BPF_ANY)) {
		sigil_count(SIGIL_CNT_PROCMAP_FULL);
		return -ENOMEM;
	}
	return 0;
}

/* A new program image: nothing known about it yet, so PENDING until the agent attests it. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(sigil_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	struct sigil_proc proc = {};
	struct inode *inode = bprm->file->f_inode;
	__u32 tgid = task->tgid;
	__u32 seq = sigil_exec_seq(tgid) + 1;

	/* The sequence first: a connect that sees the new PENDING state also sees the new image's number. */
	if (bpf_map_update_elem(&sigil_exec_seqs, &tgid, &seq, BPF_ANY))
		sigil_count(SIGIL_CNT_PROCMAP_FULL);
	proc.state = SIGIL_PROC_PENDING;
	proc.start_time = task->start_boottime;
	sigil_proc_put(tgid, &proc);
	sigil_count(SIGIL_CNT_EXEC_SEEN);
	sigil_emit(SIGIL_EVENT_EXEC, tgid, proc.start_time, inode->i_sb->s_dev, seq, inode->i_ino);
	return 0;
}

/* fork without exec runs the same program: the new process inherits the parent's state. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(sigil_fork, struct task_struct *parent, struct task_struct *child)
{
	struct sigil_proc *parent_proc, proc;
	__u32 parent_tgid = parent->tgid;
	__u32 child_tgid = child->tgid;
	__u32 *parent_seq;

	if (child->pid != child->tgid)
		return 0; /* a new thread, not a new process */
	/* Same program image, same exec sequence number: the child's connections compare like the parent's. */
	parent_seq = bpf_map_lookup_elem(&sigil_exec_seqs, &parent_tgid);
	if (parent_seq && bpf_map_update_elem(&sigil_exec_seqs, &child_tgid, parent_seq, BPF_ANY))
		sigil_count(SIGIL_CNT_PROCMAP_FULL);
	parent_proc = bpf_map_lookup_elem(&sigil_procs, &parent_tgid);
	if (!parent_proc)
		return 0;
	proc = *parent_proc;
	proc.start_time = child->start_boottime;
	if (!sigil_proc_put(child_tgid, &proc))
		sigil_count(SIGIL_CNT_FORK_COPIED);
	return 0;
}

/* Runs after do_exit() decremented signal->live (6.1 and 6.18): 0 means the last thread is leaving. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(sigil_exit, struct task_struct *task)
{
	__u32 tgid = task->tgid;
	__u64 start_time;

	if (task->signal->live.counter != 0)
		return 0;
	start_time = task->group_leader->start_boottime;
	bpf_map_delete_elem(&sigil_procs, &tgid);
	bpf_map_delete_elem(&sigil_exec_seqs, &tgid);
	sigil_count(SIGIL_CNT_EXIT_SEEN);
	sigil_emit(SIGIL_EVENT_EXIT, tgid, start_time, 0, 0, 0);
	return 0;
}

/*
 * Guards: a second, independent copy of the connect4/connect6 steering on the same hooks, so that
 * one program detached from outside leaves no fail-open window (docs/threat-model.md, "Detached
 * programs"). Both run on every connect; whichever runs first steers, which rewrites the destination
 * to the signer address, and the signer is never a listed destination, so the other one then passes.
 * A guard does nothing (and counts nothing) for a destination that is not listed; for a listed one
 * it takes exactly the steering program's decision. Passes and refusals are left to the steering
 * program's counters so that they are not counted twice; a connection the guard steers counts
 * as steered (the steering program, if present and after it, then sees the signer address).
 */
static __always_inline int sigil_guard_decide(struct bpf_sock_addr *ctx, const struct sigil_dest_key *key)
{
	struct sigil_dest *dest;
	__u64 start_time = 0;
	__u8 state;

	if (ctx->type != SOCK_STREAM || ctx->protocol != IPPROTO_TCP)
		return 0;
	dest = bpf_map_lookup_elem(&sigil_dests, key);
	if (!dest)
		return 0;
	state = sigil_proc_state(bpf_get_current_pid_tgid() >> 32, &start_time);
	if (state == SIGIL_PROC_EXEMPT)
		return 0;
	if (state != SIGIL_PROC_BOUND && state != SIGIL_PROC_PENDING)
		return (dest->flags & SIGIL_DEST_DENY) ? -EPERM : 0;
	return sigil_connect_decide(ctx, key);
}

SEC("cgroup/connect4")
int sigil_guard4(struct bpf_sock_addr *ctx)
{
	struct sigil_dest_key key = {};
	int verdict;

	key.port = sigil_ctx_port(ctx);
	sigil_set_v4_mapped(key.addr, ctx->user_ip4);
	verdict = sigil_guard_decide(ctx, &key);
	if (verdict < 0)
		return VERDICT_REFUSE;
	if (verdict > 0) {
		ctx->user_ip4 = signer_ip4;
		ctx->user_port = signer_port;
	}
	return VERDICT_ALLOW;
}

SEC("cgroup/connect6")
int sigil_guard6(struct bpf_sock_addr *ctx)
{
	struct sigil_dest_key key = {};
	int verdict;

	key.port = sigil_ctx_port(ctx);
	key.addr[0] = ctx->user_ip6[0];
	key.addr[1] = ctx->user_ip6[1];
	key.addr[2] = ctx->user_ip6[2];
	key.addr[3] = ctx->user_ip6[3];
	verdict = sigil_guard_decide(ctx, &key);
	if (verdict < 0)
		return VERDICT_REFUSE;
	if (verdict > 0) {
		if (sigil_is_v4_mapped(key.addr)) {
			ctx->user_ip6[0] = 0;
			ctx->user_ip6[1] = 0;
			ctx->user_ip6[2] = bpf_htonl(0x0000ffff);
			ctx->user_ip6[3] = signer_ip4;
		} else {
			ctx->user_ip6[0] = signer_ip6[0];
			ctx->user_ip6[1] = signer_ip6[1];
			ctx->user_ip6[2] = signer_ip6[2];
			ctx->user_ip6[3] = signer_ip6[3];
		}
		ctx->user_port = signer_port;
	}
	return VERDICT_ALLOW;
}
