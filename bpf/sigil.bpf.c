// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/*
 * Sigil kernel steering. Connections from bound/pending processes to OCI endpoints are rewritten to
 * the local signer; the original destination and the caller are recorded under the client socket's
 * cookie (a preallocated map: connect allocates nothing), handed to the signer's accepted socket
 * (sockops, sk_storage) and shown back to the caller (getpeername).
 * Exec/fork/exit keep the process map current. Layouts live in abi.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "abi.h"
#include "v4_mapped.h"
#include "dest_filter.h"

#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define IPPROTO_TCP 6
#define EPERM 1
#define ENOENT 2
#define ENOMEM 12
#define PR_SET_MM 35
#define PTRACE_MODE_ATTACH 0x02

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
 * tgid -> program image (struct sigil_image): exec sequence, executed file, taint. Written at exec,
 * copied on fork, tainted by the programs at the end of this file, deleted at exit. Only these programs
 * write it (user space reads), so a sequence never moves backwards and a taint is never cleared but
 * by an exec. A connection carries the sequence it had at connect; attestation refuses an outcome for
 * another exec.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SIGIL_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct sigil_image);
} sigil_images SEC(".maps");

/* OCI endpoint IP:port -> destination id/flags. Written by the agent from DNS. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SIGIL_MAX_DESTS);
	__type(key, struct sigil_dest_key);
	__type(value, struct sigil_dest);
} sigil_dests SEC(".maps");

/*
 * One bit per sigil_dests key (dest_filter.h), a superset written by the agent: a connect whose bit is
 * clear is not listed, known from one word (an inlined array access) instead of a hash lookup.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SIGIL_DEST_FILTER_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} sigil_dest_filter SEC(".maps");

/* Run-time settings (scan_complete, identity of the pinned set). Written by the agent. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sigil_settings);
} sigil_settings SEC(".maps");

/* The signer's accepted socket's record (role ACCEPTED), moved there by sockops; user space reads it by fd. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sigil_conn);
} sigil_records SEC(".maps");

/*
 * Steered client sockets' records (role CLIENT), one 64-byte slot per cookie & (SIGIL_CLIENT_SLOTS - 1)
 * (abi.h, struct sigil_client_slot): claimed by connect4/6 with one compare-and-swap of the owner
 * cookie, freed by sockops when the socket reaches TCP_CLOSE (state callback switched on for steered
 * sockets at TCP_CONNECT_CB). An array access is inlined and touches one slot, where a hash update
 * takes bucket and free-list locks and touches several lines. Only the owner's own connect writes
 * the record, and every reader checks the owner first, so a record is never read as another socket's.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SIGIL_CLIENT_SLOTS);
	__type(key, __u32);
	__type(value, struct sigil_client_slot);
} sigil_client_slots SEC(".maps");

/*
 * Client socket cookie -> its record (role CLIENT), for a socket whose slot another socket holds
 * (or a connect that failed before SYN left holding: no state callback frees it; the slot then only
 * sends its later namesakes here). Same lifetime as a slot's record. Preallocated, so a connect never
 * allocates; LRU, so records of connects that failed before SYN (no source port, a later program
 * refused) cannot fill it: the oldest go first. Cookies are never reused, so a stale record can never
 * be read as another socket's.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SIGIL_MAX_CLIENTS);
	__type(key, __u64);
	__type(value, struct sigil_conn);
} sigil_clients SEC(".maps");

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
	struct sigil_image *image = bpf_map_lookup_elem(&sigil_images, &tgid);

	return image ? image->exec_seq : 0;
}

static __always_inline __u32 sigil_taint_of(__u32 tgid)
{
	struct sigil_image *image = bpf_map_lookup_elem(&sigil_images, &tgid);

	return image ? image->taint : 0;
}

static __always_inline struct sigil_client_slot *sigil_slot_of(__u64 cookie)
{
	__u32 index = (__u32)cookie & (SIGIL_CLIENT_SLOTS - 1);

	return bpf_map_lookup_elem(&sigil_client_slots, &index);
}

/* Records a steered socket: in its slot if free (or already this socket's), else in sigil_clients. */
static __always_inline int sigil_client_store(__u64 cookie, const struct sigil_conn *rec)
{
	struct sigil_client_slot *slot = sigil_slot_of(cookie);

	if (slot) {
		__u64 owner = __sync_val_compare_and_swap(&slot->owner, 0, cookie);

		if (owner == 0 || owner == cookie) {
			/* Written after the claim, read only by this socket's own later callbacks. */
			__builtin_memcpy(&slot->rec, rec, sizeof(*rec));
			return 0;
		}
	}
	return bpf_map_update_elem(&sigil_clients, &cookie, rec, BPF_ANY);
}

/* The record of the steered socket with this cookie, or NULL. */
static __always_inline struct sigil_conn *sigil_client_find(__u64 cookie)
{
	struct sigil_client_slot *slot = sigil_slot_of(cookie);

	if (slot && slot->owner == cookie)
		return &slot->rec;
	return bpf_map_lookup_elem(&sigil_clients, &cookie);
}

/* The socket is closed: free its slot, or drop its record from sigil_clients. */
static __always_inline void sigil_client_forget(__u64 cookie)
{
	struct sigil_client_slot *slot = sigil_slot_of(cookie);

	if (slot && __sync_val_compare_and_swap(&slot->owner, cookie, 0) == cookie)
		return;
	bpf_map_delete_elem(&sigil_clients, &cookie);
}

/* False when key's filter bit is clear: then it is not in sigil_dests (the filter is a superset). */
static __always_inline int sigil_maybe_listed(const struct sigil_dest_key *key)
{
	__u32 bit = sigil_dest_filter_bit(key);
	__u32 word = bit / 64;
	__u64 *bits = bpf_map_lookup_elem(&sigil_dest_filter, &word);

	return bits && (*bits & (1ull << (bit % 64)));
}

/* The connect address is already the signer's: the other program on this hook steered it. */
static __always_inline int sigil_is_signer4(const struct bpf_sock_addr *ctx)
{
	return ctx->user_ip4 == signer_ip4 && (__u16)ctx->user_port == signer_port;
}

/*
 * Shared part of connect4/connect6: decide, and on "steer" record the connection under the socket's
 * cookie. Returns 1 to steer, 0 to pass untouched, -EPERM to refuse.
 *
 * Guards: the guard programs (sigil_guard4/6) are a second, independent copy of this steering on
 * the same hooks, so that one program detached from outside leaves no fail-open window
 * (docs/threat-model.md, "Detached programs"). Both run on every connect; whichever runs first
 * steers, which rewrites the destination to the signer address, and the signer is never a listed
 * destination, so the other one then passes. A guard takes exactly the steering program's decision
 * but counts only what it steers (and a failed record), so passes and refusals are not counted twice.
 */
static __always_inline int sigil_connect_decide(struct bpf_sock_addr *ctx, const struct sigil_dest_key *key, int guard)
{
	struct sigil_conn rec = {};
	struct sigil_image *image;
	struct sigil_dest *dest;
	__u64 start_time = 0, cookie;
	__u32 tgid;
	__u8 state;

	if (ctx->type != SOCK_STREAM || ctx->protocol != IPPROTO_TCP) {
		if (!guard)
			sigil_count(SIGIL_CNT_PASSED_NOT_TCP);
		return 0;
	}
	if (!sigil_maybe_listed(key)) {
		if (!guard)
			sigil_count(SIGIL_CNT_PASSED_NOT_LISTED);
		return 0;
	}
	dest = bpf_map_lookup_elem(&sigil_dests, key);
	if (!dest) {
		if (!guard)
			sigil_count(SIGIL_CNT_PASSED_NOT_LISTED);
		return 0;
	}
	tgid = bpf_get_current_pid_tgid() >> 32;
	state = sigil_proc_state(tgid, &start_time);
	if (state == SIGIL_PROC_EXEMPT) {
		if (!guard)
			sigil_count(SIGIL_CNT_PASSED_EXEMPT);
		return 0;
	}
	/* One lookup for both the taint and the exec sequence the record carries; only a process that
	 * would be steered needs it. */
	image = 0;
	if (state == SIGIL_PROC_BOUND || state == SIGIL_PROC_PENDING) {
		image = bpf_map_lookup_elem(&sigil_images, &tgid);
		if (image && image->taint) {
			/* A taint outranks whatever user space wrote: the process is unbound from this connect on. */
			if (!guard)
				sigil_count(SIGIL_CNT_PASSED_TAINTED);
			state = SIGIL_PROC_UNBOUND;
		}
	}
	if (state != SIGIL_PROC_BOUND && state != SIGIL_PROC_PENDING) {
		if (dest->flags & SIGIL_DEST_DENY) {
			if (!guard)
				sigil_count(SIGIL_CNT_DENIED);
			return -EPERM;
		}
		if (!guard)
			sigil_count(SIGIL_CNT_PASSED_UNBOUND);
		return 0;
	}
	cookie = bpf_get_socket_cookie(ctx);
	rec.addr[0] = key->addr[0];
	rec.addr[1] = key->addr[1];
	rec.addr[2] = key->addr[2];
	rec.addr[3] = key->addr[3];
	rec.port = key->port;
	rec.family = sigil_is_v4_mapped(key->addr) ? AF_INET : AF_INET6;
	rec.role = SIGIL_ROLE_CLIENT;
	rec.tgid = tgid;
	rec.uid = (__u32)bpf_get_current_uid_gid();
	rec.exec_seq = image ? image->exec_seq : 0;
	rec.start_time = start_time;
	rec.cookie = cookie;
	if (sigil_client_store(cookie, &rec)) {
		/* Fail closed: a steerable connection we cannot record must not reach the endpoint unsigned. */
		sigil_count(SIGIL_CNT_STORAGE_FAIL);
		return -ENOMEM;
	}
	sigil_count(SIGIL_CNT_STEERED);
	return 1;
}

/* user_port holds the port in the low 16 bits, network order. */
static __always_inline __u16 sigil_ctx_port(const struct bpf_sock_addr *ctx)
{
	return (__u16)ctx->user_port;
}

/*
 * One connect4 body for the steering program and its guard; `guard` is a constant after inlining, so
 * each program carries only its own decision.
 */
static __always_inline int sigil_steer4(struct bpf_sock_addr *ctx, int guard)
{
	struct sigil_dest_key key = {};
	int verdict;

	if (guard && sigil_is_signer4(ctx))
		return VERDICT_ALLOW; /* steered by sigil_connect4 already */
	key.port = sigil_ctx_port(ctx);
	sigil_set_v4_mapped(key.addr, ctx->user_ip4);
	verdict = sigil_connect_decide(ctx, &key, guard);
	if (verdict < 0)
		return VERDICT_REFUSE;
	if (verdict > 0) {
		ctx->user_ip4 = signer_ip4;
		ctx->user_port = signer_port;
	}
	return VERDICT_ALLOW;
}

static __always_inline int sigil_steer6(struct bpf_sock_addr *ctx, int guard)
{
	struct sigil_dest_key key = {};
	int verdict;

	key.port = sigil_ctx_port(ctx);
	key.addr[0] = ctx->user_ip6[0];
	key.addr[1] = ctx->user_ip6[1];
	key.addr[2] = ctx->user_ip6[2];
	key.addr[3] = ctx->user_ip6[3];
	verdict = sigil_connect_decide(ctx, &key, guard);
	if (verdict < 0)
		return VERDICT_REFUSE;
	if (verdict > 0) {
		if (sigil_is_v4_mapped(key.addr)) {
			/*
			 * A v4-mapped dial stays IPv4 on the wire: go to ::ffff:<signer IPv4>. Written word by
			 * word: through sigil_set_v4_mapped the compiler emits other context stores, and these
			 * are the ones the verifier is known to accept.
			 */
			ctx->user_ip6[0] = 0;
			ctx->user_ip6[1] = 0;
			ctx->user_ip6[2] = SIGIL_V4_MAPPED_WORD2;
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

SEC("cgroup/connect4")
int sigil_connect4(struct bpf_sock_addr *ctx)
{
	return sigil_steer4(ctx, 0);
}

SEC("cgroup/connect6")
int sigil_connect6(struct bpf_sock_addr *ctx)
{
	return sigil_steer6(ctx, 0);
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
	if (sigil_sockops_remote_port(skops) != signer_port)
		return 0; /* not steered: the steered dial goes to the signer port */
	rec = sigil_client_find(bpf_get_socket_cookie(skops));
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

/*
 * A steered socket is about to send its SYN (still in connect, process context): ask for its state
 * changes, so that its record goes when it reaches TCP_CLOSE, however the connection ends (RST,
 * timeout, close before the handshake, the normal close, a failure after this point).
 */
static __always_inline void sigil_watch_client(struct bpf_sock_ops *skops)
{
	__u64 cookie;

	if (sigil_sockops_remote_port(skops) != signer_port)
		return; /* not steered: the steered dial goes to the signer port */
	cookie = bpf_get_socket_cookie(skops);
	if (sigil_client_find(cookie))
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG);
}

/* Only steered client sockets ask for state changes (sigil_watch_client): drop the record at close. */
static __always_inline void sigil_client_closing(struct bpf_sock_ops *skops)
{
	__u64 cookie;

	if (skops->args[1] != BPF_TCP_CLOSE)
		return;
	cookie = bpf_get_socket_cookie(skops);
	sigil_client_forget(cookie);
}

SEC("sockops")
int sigil_sockops(struct bpf_sock_ops *skops)
{
	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		sigil_watch_client(skops);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		sigil_client_closing(skops);
		break;
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
	struct sigil_conn *rec;

	if (sigil_ctx_port(ctx) != signer_port)
		return 0; /* not steered: a steered socket's peer is the signer port */
	rec = sigil_client_find(bpf_get_socket_cookie(ctx));
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

static __always_inline int sigil_emit_exit(__u32 tgid, __u64 start_time)
{
	struct sigil_event *event = bpf_ringbuf_reserve(&sigil_events, sizeof(*event), 0);

	if (!event) {
		sigil_count(SIGIL_CNT_RINGBUF_FULL);
		return -ENOMEM;
	}
	__builtin_memset(event, 0, sizeof(*event));
	event->type = SIGIL_EVENT_EXIT;
	event->tgid = tgid;
	event->start_time = start_time;
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

/*
 * inode ctime across layouts: i_ctime (< 6.6), __i_ctime (6.6-6.10), i_ctime_sec/_nsec (6.11+).
 * Since 6.13 bit 31 of i_ctime_nsec is a flag (I_CTIME_QUERIED, multigrain timestamps), not time.
 */
#define SIGIL_CTIME_NSEC_MASK 0x7fffffffu
struct inode___pre66 {
	struct timespec64 i_ctime;
} __attribute__((preserve_access_index));
struct inode___pre611 {
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));

static __always_inline __u64 sigil_inode_ctime_ns(struct inode *inode)
{
	struct inode___pre66 *v1 = (void *)inode;
	struct inode___pre611 *v2 = (void *)inode;

	if (bpf_core_field_exists(inode->i_ctime_sec))
		return (__u64)BPF_CORE_READ(inode, i_ctime_sec) * 1000000000ull +
		       (BPF_CORE_READ(inode, i_ctime_nsec) & SIGIL_CTIME_NSEC_MASK);
	if (bpf_core_field_exists(v2->__i_ctime))
		return (__u64)BPF_CORE_READ(v2, __i_ctime.tv_sec) * 1000000000ull + BPF_CORE_READ(v2, __i_ctime.tv_nsec);
	return (__u64)BPF_CORE_READ(v1, i_ctime.tv_sec) * 1000000000ull + BPF_CORE_READ(v1, i_ctime.tv_nsec);
}

/* Not the host's user namespace (level 0 is init_user_ns). */
static __always_inline int sigil_foreign_userns(const struct cred *cred)
{
	return BPF_CORE_READ(cred, user_ns, level) != 0;
}

/*
 * Copies [start, end) of the new image's memory into dst (size bytes, a power of two); at most
 * size - 1 bytes, so the verifier sees the length bounded by the mask. Returns the bytes copied and
 * sets *truncated, or -1 when the memory could not be read.
 */
static __always_inline int sigil_copy_user_area(__u8 *dst, __u32 size, __u64 start, __u64 end, int *truncated)
{
	__u64 len = end > start ? end - start : 0;

	*truncated = len > size - 1;
	if (*truncated)
		len = size - 1;
	len &= size - 1;
	if (len == 0)
		return 0;
	if (bpf_probe_read_user(dst, len, (const void *)start))
		return -1;
	return len;
}

/* The initial taint of a new image: what the process already is when the image starts. */
static __always_inline __u32 sigil_exec_taint(struct task_struct *task)
{
	__u32 taint = 0;

	if (sigil_foreign_userns(task->real_cred) || sigil_foreign_userns(task->cred))
		taint |= SIGIL_TAINT_USERNS;
	if (task->ptrace)
		taint |= SIGIL_TAINT_TRACED; /* a tracer controls the new image from its first instruction */
	return taint;
}

/*
 * A new program image: nothing known about it yet, so PENDING until the agent attests it. The image
 * record and the event name the file that was executed (bprm->file), not what /proc/<pid>/exe may
 * later show, and the event carries argv and environ as the loader left them.
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(sigil_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	struct sigil_proc proc = {};
	struct sigil_image image = {};
	struct inode *inode = bprm->file->f_inode;
	struct mm_struct *mm = task->mm;
	struct sigil_exec_event *event;
	__u32 tgid = task->tgid;
	int len, truncated;

	image.exec_seq = sigil_exec_seq(tgid) + 1;
	image.taint = sigil_exec_taint(task);
	image.origin_tgid = tgid;
	image.origin_start = task->start_boottime;
	image.dev = inode->i_sb->s_dev;
	image.ino = inode->i_ino;
	image.ctime_ns = sigil_inode_ctime_ns(inode);
	/* The image first: a connect that sees the new PENDING state also sees the new image. */
	if (bpf_map_update_elem(&sigil_images, &tgid, &image, BPF_ANY))
		sigil_count(SIGIL_CNT_PROCMAP_FULL);
	proc.state = SIGIL_PROC_PENDING;
	proc.start_time = task->start_boottime;
	sigil_proc_put(tgid, &proc);
	sigil_count(SIGIL_CNT_EXEC_SEEN);

	event = bpf_ringbuf_reserve(&sigil_events, sizeof(*event), 0);
	if (!event) {
		/* The process stays PENDING: a connect waits for an attestation that times out (fail closed). */
		sigil_count(SIGIL_CNT_RINGBUF_FULL);
		return 0;
	}
	event->head.type = SIGIL_EVENT_EXEC;
	event->head.tgid = tgid;
	event->head.start_time = proc.start_time;
	event->head.dev = image.dev;
	event->head.exec_seq = image.exec_seq;
	event->head.ino = image.ino;
	event->ctime_ns = image.ctime_ns;
	event->taint = image.taint;
	event->flags = 0;
	event->pad = 0;
	event->cwd_dev = task->fs->pwd.dentry->d_inode->i_sb->s_dev;
	event->cwd_ino = task->fs->pwd.dentry->d_inode->i_ino;
	len = sigil_copy_user_area(event->argv, SIGIL_ARGV_BYTES, mm->arg_start, mm->arg_end, &truncated);
	if (len < 0)
		event->flags |= SIGIL_EXEC_ARGV_UNREADABLE;
	if (truncated)
		event->flags |= SIGIL_EXEC_ARGV_TRUNCATED;
	event->argv_len = len < 0 ? 0 : len;
	len = sigil_copy_user_area(event->env, SIGIL_ENV_BYTES, mm->env_start, mm->env_end, &truncated);
	if (len < 0)
		event->flags |= SIGIL_EXEC_ENV_UNREADABLE;
	if (truncated)
		event->flags |= SIGIL_EXEC_ENV_TRUNCATED;
	event->env_len = len < 0 ? 0 : len;
	bpf_ringbuf_submit(event, 0);
	return 0;
}

/* fork without exec runs the same program: the new process inherits the parent's state and image. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(sigil_fork, struct task_struct *parent, struct task_struct *child)
{
	struct sigil_proc *parent_proc, proc;
	struct sigil_image *parent_image, image = {};
	__u32 parent_tgid = parent->tgid;
	__u32 child_tgid = child->tgid;
	int have_image = 0;

	if (child->pid != child->tgid)
		return 0; /* a new thread, not a new process */
	/* Same program image, same exec sequence number: the child's connections compare like the parent's. */
	parent_image = bpf_map_lookup_elem(&sigil_images, &parent_tgid);
	if (parent_image) {
		image = *parent_image;
		have_image = 1;
	}
	if (sigil_foreign_userns(child->real_cred)) {
		/* clone(CLONE_NEWUSER): the child starts in a user namespace of its own. */
		image.taint |= SIGIL_TAINT_USERNS;
		if (!have_image) {
			image.origin_tgid = child_tgid;
			image.origin_start = child->start_boottime;
		}
		have_image = 1;
		sigil_count(SIGIL_CNT_TAINTED);
	}
	if (have_image && bpf_map_update_elem(&sigil_images, &child_tgid, &image, BPF_ANY))
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
	bpf_map_delete_elem(&sigil_images, &tgid);
	sigil_count(SIGIL_CNT_EXIT_SEEN);
	sigil_emit_exit(tgid, start_time);
	return 0;
}

/*
 * ---- Identity protection ----
 * What could make a running process act as another program: moving its exe/argv/env (PR_SET_MM),
 * a user namespace of its own, changed credentials, or another process controlling its memory
 * (ptrace attach, process_vm_writev, /proc/<pid>/mem, pidfd_getfd: all the ptrace ATTACH check).
 * Each taints the process synchronously, before its next connect, until its next exec. Where BPF LSM
 * is active (`enforce`, the lsm/ programs) the same operations on a BOUND process are refused with
 * EPERM instead, so the workload keeps its identity and the attacker gets an error; elsewhere
 * (`taint-only`, kprobes on the same security_* functions) they only taint. The loader loads one of
 * the two sets; commit_creds is watched in both.
 */

/* Sets bits in tgid's image; a process without one (found by the /proc scan) gets one with seq 0. */
static __always_inline void sigil_taint(__u32 tgid, __u64 start_time, __u32 bits)
{
	struct sigil_image *image;

	if (tgid == 0)
		return; /* a task we could not name (e.g. an mm with no owner) */
	image = bpf_map_lookup_elem(&sigil_images, &tgid);

	if (!image) {
		struct sigil_image fresh = {};

		fresh.origin_tgid = tgid;
		fresh.origin_start = start_time;
		/* NOEXIST: a racing exec or taint may have made one meanwhile; either way look it up again. */
		bpf_map_update_elem(&sigil_images, &tgid, &fresh, BPF_NOEXIST);
		image = bpf_map_lookup_elem(&sigil_images, &tgid);
		if (!image) {
			sigil_count(SIGIL_CNT_PROCMAP_FULL);
			return;
		}
	}
	if ((image->taint & bits) != bits) {
		/*
		 * Plain read-modify-write (32-bit atomics need -mcpu=v3): two racing taints can lose one of
		 * their bits, never both, and any bit unbinds, so no race leaves a tainted process clean.
		 */
		image->taint |= bits;
		sigil_count(SIGIL_CNT_TAINTED);
	}
}

/* Reads through bpf_probe_read_kernel: the task may come from a kprobe argument (no BTF type). */
static __always_inline void sigil_taint_task(struct task_struct *task, __u32 bits)
{
	sigil_taint(BPF_CORE_READ(task, tgid), BPF_CORE_READ(task, group_leader, start_boottime), bits);
}

static __always_inline void sigil_taint_current(__u32 bits)
{
	sigil_taint_task((struct task_struct *)bpf_get_current_task(), bits);
}

static __always_inline int sigil_is_bound(__u32 tgid)
{
	struct sigil_proc *proc = bpf_map_lookup_elem(&sigil_procs, &tgid);

	return proc && proc->state == SIGIL_PROC_BOUND && !sigil_taint_of(tgid);
}

/* enforce: refuse for a bound process, taint anyone else. Returns the LSM verdict. */
static __always_inline int sigil_guard(struct task_struct *subject, __u32 bits)
{
	if (sigil_is_bound(BPF_CORE_READ(subject, tgid))) {
		sigil_count(SIGIL_CNT_LSM_DENIED);
		return -EPERM;
	}
	sigil_taint_task(subject, bits);
	return 0;
}

static __always_inline struct task_struct *sigil_current(void)
{
	return (struct task_struct *)bpf_get_current_task();
}

/* Same ids in old and new: setuid(getuid()) and friends change nothing and are let through. */
static __always_inline int sigil_uids_differ(const struct cred *a, const struct cred *b)
{
	return BPF_CORE_READ(a, uid.val) != BPF_CORE_READ(b, uid.val) || BPF_CORE_READ(a, euid.val) != BPF_CORE_READ(b, euid.val) ||
	       BPF_CORE_READ(a, suid.val) != BPF_CORE_READ(b, suid.val) || BPF_CORE_READ(a, fsuid.val) != BPF_CORE_READ(b, fsuid.val);
}

static __always_inline int sigil_gids_differ(const struct cred *a, const struct cred *b)
{
	return BPF_CORE_READ(a, gid.val) != BPF_CORE_READ(b, gid.val) || BPF_CORE_READ(a, egid.val) != BPF_CORE_READ(b, egid.val) ||
	       BPF_CORE_READ(a, sgid.val) != BPF_CORE_READ(b, sgid.val) || BPF_CORE_READ(a, fsgid.val) != BPF_CORE_READ(b, fsgid.val);
}

/* kernel_cap_t is 8 bytes on every supported kernel (u32[2] before 6.3, u64 after). */
static __always_inline __u64 sigil_caps(const kernel_cap_t *caps)
{
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), caps);
	return v;
}

static __always_inline int sigil_caps_differ(const struct cred *a, const struct cred *b)
{
	return sigil_caps(&a->cap_effective) != sigil_caps(&b->cap_effective) ||
	       sigil_caps(&a->cap_permitted) != sigil_caps(&b->cap_permitted) ||
	       sigil_caps(&a->cap_inheritable) != sigil_caps(&b->cap_inheritable) ||
	       sigil_caps(&a->cap_bset) != sigil_caps(&b->cap_bset) ||
	       sigil_caps(&a->cap_ambient) != sigil_caps(&b->cap_ambient);
}

SEC("lsm/task_prctl")
int BPF_PROG(sigil_lsm_prctl, int option, unsigned long arg2, unsigned long arg3, unsigned long arg4,
	     unsigned long arg5, int ret)
{
	if (ret || option != PR_SET_MM)
		return ret;
	return sigil_guard(sigil_current(), SIGIL_TAINT_MM);
}

SEC("lsm/userns_create")
int BPF_PROG(sigil_lsm_userns, const struct cred *cred, int ret)
{
	if (ret)
		return ret;
	return sigil_guard(sigil_current(), SIGIL_TAINT_USERNS);
}

SEC("lsm/ptrace_access_check")
int BPF_PROG(sigil_lsm_ptrace, struct task_struct *child, unsigned int mode, int ret)
{
	if (ret || !(mode & PTRACE_MODE_ATTACH))
		return ret;
	return sigil_guard(child, SIGIL_TAINT_TRACED);
}

SEC("lsm/ptrace_traceme")
int BPF_PROG(sigil_lsm_traceme, struct task_struct *parent, int ret)
{
	if (ret)
		return ret;
	return sigil_guard(sigil_current(), SIGIL_TAINT_TRACED);
}

SEC("lsm/task_fix_setuid")
int BPF_PROG(sigil_lsm_setuid, struct cred *new, const struct cred *old, int flags, int ret)
{
	if (ret || !sigil_uids_differ(new, old))
		return ret;
	return sigil_guard(sigil_current(), SIGIL_TAINT_CREDS);
}

SEC("lsm/task_fix_setgid")
int BPF_PROG(sigil_lsm_setgid, struct cred *new, const struct cred *old, int flags, int ret)
{
	if (ret || !sigil_gids_differ(new, old))
		return ret;
	return sigil_guard(sigil_current(), SIGIL_TAINT_CREDS);
}

SEC("lsm/capset")
int BPF_PROG(sigil_lsm_capset, struct cred *new, const struct cred *old, const kernel_cap_t *effective,
	     const kernel_cap_t *inheritable, const kernel_cap_t *permitted, int ret)
{
	if (ret || !sigil_caps_differ(new, old))
		return ret;
	return sigil_guard(sigil_current(), SIGIL_TAINT_CREDS);
}

/* A signal another process sends that would open a debugger in a bound process (sigil_proc.guarded_signals). */
static __always_inline int sigil_signal_guarded(struct task_struct *target, int sig)
{
	__u32 tgid = BPF_CORE_READ(target, tgid);
	struct sigil_proc *proc;

	if (sig < 1 || sig > 16 || tgid == (bpf_get_current_pid_tgid() >> 32))
		return 0;
	proc = bpf_map_lookup_elem(&sigil_procs, &tgid);
	return proc && proc->state == SIGIL_PROC_BOUND && (proc->guarded_signals & (1u << (sig - 1)));
}

SEC("lsm/task_kill")
int BPF_PROG(sigil_lsm_kill, struct task_struct *p, struct kernel_siginfo *info, int sig, const struct cred *cred, int ret)
{
	if (ret || !sigil_signal_guarded(p, sig))
		return ret;
	sigil_count(SIGIL_CNT_LSM_DENIED);
	return -EPERM;
}

/*
 * taint-only: where BPF LSM is not usable, the same operations taint from syscall tracepoints, which
 * every kernel Sigil runs on has (fentry and kprobes may be refused or missing). A sys_enter program
 * runs before the syscall acts, so the taint is in place before the process can connect again; the
 * sys_exit ones look at what an open returned before the caller can use the fd.
 */
#define CLONE_NEWUSER 0x10000000
#define PTRACE_TRACEME 0
#define PTRACE_ATTACH 16
#define PTRACE_SEIZE 0x4206

/* tid -> tgid for the threads of every process (sched_process_fork below), so a syscall naming a thread taints its process. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SIGIL_MAX_PROCS);
	__type(key, __u32);
	__type(value, __u32);
} sigil_threads SEC(".maps");

static __always_inline __u32 sigil_tgid_of(__u32 pid)
{
	__u32 *tgid = bpf_map_lookup_elem(&sigil_threads, &pid);

	return tgid ? *tgid : pid;
}

/* Taints the process a syscall names by pid (0 start time: only used when it has no image yet). */
static __always_inline void sigil_taint_pid(__u32 pid, __u32 bits)
{
	if (pid == 0 || pid > 0x7fffffff)
		return;
	sigil_taint(sigil_tgid_of(pid), 0, bits);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sigil_thread_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 tid = child->pid, tgid = child->tgid;

	if (tid != tgid)
		bpf_map_update_elem(&sigil_threads, &tid, &tgid, BPF_ANY);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sigil_thread_exit, struct task_struct *task)
{
	__u32 tid = task->pid;

	if (tid != task->tgid)
		bpf_map_delete_elem(&sigil_threads, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_prctl")
int sigil_taint_prctl(struct trace_event_raw_sys_enter *ctx)
{
	if (ctx->args[0] == PR_SET_MM)
		sigil_taint_current(SIGIL_TAINT_MM);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_unshare")
int sigil_taint_unshare(struct trace_event_raw_sys_enter *ctx)
{
	if (ctx->args[0] & CLONE_NEWUSER)
		sigil_taint_current(SIGIL_TAINT_USERNS);
	return 0;
}

/*
 * Joining any namespace: for an unprivileged process only possible from a user namespace of its own.
 * Loaded in both modes (sigil_ns_: no LSM hook sees setns).
 */
SEC("tracepoint/syscalls/sys_enter_setns")
int sigil_ns_setns(struct trace_event_raw_sys_enter *ctx)
{
	sigil_taint_current(SIGIL_TAINT_USERNS);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_ptrace")
int sigil_taint_ptrace(struct trace_event_raw_sys_enter *ctx)
{
	long request = ctx->args[0];

	if (request == PTRACE_TRACEME)
		sigil_taint_current(SIGIL_TAINT_TRACED);
	else if (request == PTRACE_ATTACH || request == PTRACE_SEIZE)
		sigil_taint_pid(ctx->args[1], SIGIL_TAINT_TRACED);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_process_vm_writev")
int sigil_taint_vm_writev(struct trace_event_raw_sys_enter *ctx)
{
	sigil_taint_pid(ctx->args[0], SIGIL_TAINT_TRACED);
	return 0;
}

/* The file behind fd in the current process, or NULL. */
static __always_inline struct file *sigil_current_file(long fd)
{
	struct task_struct *task = sigil_current();
	struct file **fds = BPF_CORE_READ(task, files, fdt, fd);
	unsigned int max = BPF_CORE_READ(task, files, fdt, max_fds);
	struct file *file = 0;

	if (fd < 0 || fd >= max)
		return 0;
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	return file;
}

/* pidfd_getfd copies an fd out of the pidfd's process (a steered socket, say): that process is the target. */
SEC("tracepoint/syscalls/sys_enter_pidfd_getfd")
int sigil_taint_getfd(struct trace_event_raw_sys_enter *ctx)
{
	struct file *file = sigil_current_file(ctx->args[0]);
	struct pid *pid;

	if (!file)
		return 0;
	pid = BPF_CORE_READ(file, private_data);
	sigil_taint_pid(BPF_CORE_READ(pid, numbers[0].nr), SIGIL_TAINT_TRACED);
	return 0;
}

#define PROC_SUPER_MAGIC 0x9fa0

/* An open that returned /proc/<pid>/mem (any path form, relative to any dirfd): taint the mm's owner. */
static __always_inline void sigil_check_mem_open(long fd)
{
	struct file *file;
	struct dentry *dentry;
	struct mm_struct *mm;
	char name[4] = {};

	if (fd < 0)
		return;
	file = sigil_current_file(fd);
	if (!file)
		return;
	dentry = BPF_CORE_READ(file, f_path.dentry);
	if (BPF_CORE_READ(dentry, d_sb, s_magic) != PROC_SUPER_MAGIC)
		return;
	bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(dentry, d_name.name));
	if (name[0] != 'm' || name[1] != 'e' || name[2] != 'm' || name[3] != 0)
		return;
	mm = BPF_CORE_READ(file, private_data);
	if (!mm || !bpf_core_field_exists(mm->owner))
		return;
	if (BPF_CORE_READ(mm, owner, tgid) != (bpf_get_current_pid_tgid() >> 32))
		sigil_taint_task(BPF_CORE_READ(mm, owner), SIGIL_TAINT_TRACED);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int sigil_taint_openat(struct trace_event_raw_sys_exit *ctx)
{
	sigil_check_mem_open(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat2")
int sigil_taint_openat2(struct trace_event_raw_sys_exit *ctx)
{
	sigil_check_mem_open(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_open")
int sigil_taint_open(struct trace_event_raw_sys_exit *ctx)
{
	sigil_check_mem_open(ctx->ret);
	return 0;
}

/* A debugger-opening signal from another process: the target loses its binding before it can act on it. */
SEC("tp_btf/signal_generate")
int BPF_PROG(sigil_taint_signal, int sig, struct kernel_siginfo *info, struct task_struct *task, int group, int result)
{
	if (sigil_signal_guarded(task, sig))
		sigil_taint_task(task, SIGIL_TAINT_TRACED);
	return 0;
}

/*
 * Both modes: a credential change after exec taints (in enforce mode the lsm/ programs refuse it for
 * bound processes first). Taken at entry, whether or not the call then changes anything: a bound
 * workload has no business calling these.
 */
#define SIGIL_CREDS_SYSCALL(call)                                       \
	SEC("tracepoint/syscalls/sys_enter_" #call)                     \
	int sigil_creds_##call(struct trace_event_raw_sys_enter *ctx)    \
	{                                                               \
		sigil_taint_current(SIGIL_TAINT_CREDS);                 \
		return 0;                                               \
	}
SIGIL_CREDS_SYSCALL(setuid)
SIGIL_CREDS_SYSCALL(setgid)
SIGIL_CREDS_SYSCALL(setreuid)
SIGIL_CREDS_SYSCALL(setregid)
SIGIL_CREDS_SYSCALL(setresuid)
SIGIL_CREDS_SYSCALL(setresgid)
SIGIL_CREDS_SYSCALL(setfsuid)
SIGIL_CREDS_SYSCALL(setfsgid)
SIGIL_CREDS_SYSCALL(setgroups)
SIGIL_CREDS_SYSCALL(capset)


SEC("cgroup/connect4")
int sigil_guard4(struct bpf_sock_addr *ctx)
{
	return sigil_steer4(ctx, 1);
}

SEC("cgroup/connect6")
int sigil_guard6(struct bpf_sock_addr *ctx)
{
	return sigil_steer6(ctx, 1);
}
