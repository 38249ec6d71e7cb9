/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one contract between the BPF programs (bpf/sigil.bpf.c) and user space (native/).
 * Every struct has fixed-width fields and explicit padding; sizes and offsets are asserted below,
 * and both sides compile this same file, so a layout change breaks the build, not the wire.
 * A pinned map survives an upgrade when its sizes still fit, so a layout change that keeps every size
 * must rename the map: test/native/map-layouts.test.ts holds the build to native/map-layouts.json.
 * Addresses and ports are in network byte order unless a field says otherwise.
 */
#ifndef SIGIL_ABI_H
#define SIGIL_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#ifdef __cplusplus
#define SIGIL_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define SIGIL_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif
#define SIGIL_OFFSET(type, field) __builtin_offsetof(type, field)

/* Process map value states. No entry = PENDING before the agent's /proc scan, UNBOUND after. */
enum sigil_proc_state {
	SIGIL_PROC_PENDING = 1,
	SIGIL_PROC_BOUND = 2,
	SIGIL_PROC_UNBOUND = 3,
	SIGIL_PROC_EXEMPT = 4,
};

/*
 * Process map value, keyed by tgid (__u32). What the kernel knows about the program image itself
 * (exec sequence, executed file, taint) lives in its own map (sigil_images) that only the kernel
 * writes: user space rewrites this value whole, and a read-compare-write racing an exec or a taint
 * must never move a process's sequence backwards or clear its taint.
 */
struct sigil_proc {
	__u8 state;          /* enum sigil_proc_state */
	__u8 pad;
	/*
	 * Signals 1..16 (bit sig-1) that make this process's runtime open a debugger (node: SIGUSR1, the
	 * JVM: SIGQUIT starts its attach listener): sent by another process to a BOUND one they taint it,
	 * or are refused in enforce mode. Older writers left this 0 (nothing guarded).
	 */
	__u16 guarded_signals;
	__u32 binding_id;    /* meaningful when BOUND */
	__u64 start_time;    /* task->start_boottime, ns; /proc/<pid>/stat field 22 = this / 10^7 */
};
SIGIL_ASSERT(sizeof(struct sigil_proc) == 16, "sigil_proc size");
SIGIL_ASSERT(SIGIL_OFFSET(struct sigil_proc, guarded_signals) == 2, "sigil_proc.guarded_signals");
SIGIL_ASSERT(SIGIL_OFFSET(struct sigil_proc, binding_id) == 4, "sigil_proc.binding_id");
SIGIL_ASSERT(SIGIL_OFFSET(struct sigil_proc, start_time) == 8, "sigil_proc.start_time");

/*
 * Taint bits (struct sigil_image.taint), set synchronously by the kernel programs and cleared only by
 * the next exec: any of them means the process holds no binding, whatever user space wrote.
 */
#define SIGIL_TAINT_MM 0x1u      /* prctl(PR_SET_MM*): exe file, command line or environment moved */
#define SIGIL_TAINT_USERNS 0x2u  /* in, creating or entering a user namespace other than the host's */
#define SIGIL_TAINT_CREDS 0x4u   /* credentials changed since exec (setuid/setgid/setgroups/capset/...) */
#define SIGIL_TAINT_TRACED 0x8u  /* ptrace-attach-class access by another process, or exec'd while traced */

/*
 * Image map value, keyed by tgid: the program image a process runs, fixed at exec by the kernel.
 * exec_seq is 1 after the first exec seen and +1 per exec; fork copies the whole value, so a child
 * names the same image (origin_tgid/origin_start: the process whose exec made it). A process found
 * only by the /proc scan has no entry until something taints it (then exec_seq 0).
 */
struct sigil_image {
	__u32 exec_seq;
	__u32 taint;         /* SIGIL_TAINT_* */
	__u32 origin_tgid;   /* the process whose exec created this image */
	__u32 dev;           /* executed file's device, kernel dev_t (MAJOR = dev >> 20) */
	__u64 origin_start;  /* that process's start_boottime, ns */
	__u64 ino;           /* executed file's inode number */
	__u64 ctime_ns;      /* executed file's inode ctime at exec: a change marker (stat's st_ctim) */
};
SIGIL_ASSERT(sizeof(struct sigil_image) == 40, "sigil_image size");
SIGIL_ASSERT(SIGIL_OFFSET(struct sigil_image, origin_start) == 16, "sigil_image.origin_start");
SIGIL_ASSERT(SIGIL_OFFSET(struct sigil_image, ino) == 24, "sigil_image.ino");
SIGIL_ASSERT(SIGIL_OFFSET(struct sigil_image, ctime_ns) == 32, "sigil_image.ctime_ns");

/* Destination flags. */
#define SIGIL_DEST_DENY 1u

/* Destinations map key: an IP:port the agent resolved from a policy hostname. */
struct sigil_dest_key {
	__u16 zero;          /* always 0 (keeps the address 4-byte aligned) */
	__u16 port;          /* network order */
	__u32 addr[4];       /* IPv6, or IPv4 as v4-mapped ::ffff:a.b.c.d */
};
SIGIL_ASSERT(sizeof(struct sigil_dest_key) == 20, "sigil_dest_key size");
SIGIL_ASSERT(SIGIL_OFFSET(struct sigil_dest_key, addr) == 4, "sigil_dest_key.addr");

struct sigil_dest {
	__u32 dest_id;       /* the agent's id for the hostname this address came from */
	__u32 flags;         /* SIGIL_DEST_* */
};
SIGIL_ASSERT(sizeof(struct sigil_dest) == 8, "sigil_dest size");

/* Which end of a steered connection a record sits on. */
enum sigil_conn_role {
	SIGIL_ROLE_CLIENT = 1,    /* the workload's socket: getpeername shows the original address */
	SIGIL_ROLE_ACCEPTED = 2,  /* the signer's accepted socket: connectionFor(fd) reads it */
};

/* Record of one steered connection (sigil_clients and sigil_handoff value, sk_storage of the accepted socket). */
struct sigil_conn {
	__u32 addr[4];       /* original destination, IPv4 as v4-mapped */
	__u16 port;          /* original destination port, network order */
	__u8 family;         /* AF_INET (2) if the original address is IPv4 (also v4-mapped), else AF_INET6 (10) */
	__u8 role;           /* enum sigil_conn_role */
	__u32 tgid;
	__u32 uid;
	__u32 exec_seq;      /* the caller's exec sequence number at connect (sigil_images; 0 if none) */
	__u64 start_time;    /* from the process map; 0 if the process had no entry yet */
	__u64 cookie;        /* socket cookie of the client socket */
};
SIGIL_ASSERT(sizeof(struct sigil_conn) == 48, "sigil_conn size");
SIGIL_ASSERT(SIGIL_OFFSET(struct sigil_conn, port) == 16, "sigil_conn.port");
SIGIL_ASSERT(SIGIL_OFFSET(struct sigil_conn, tgid) == 20, "sigil_conn.tgid");
SIGIL_ASSERT(SIGIL_OFFSET(struct sigil_conn, exec_seq) == 28, "sigil_conn.exec_seq");
SIGIL_ASSERT(SIGIL_OFFSET(struct sigil_conn, start_time) == 32, "sigil_conn.start_time");
SIGIL_ASSERT(SIGIL_OFFSET(struct sigil_conn, cookie) == 40, "sigil_conn.cookie");

/*
 * A steered client socket's record in the slot table (sigil_client_slots, an array indexed by the low
 * bits of the socket cookie): `owner` is the cookie of the socket the slot belongs to, 0 when free,
 * claimed with one compare-and-swap at connect and freed when the socket reaches TCP_CLOSE. A socket
 * whose slot another live socket holds keeps its record in sigil_clients instead (an LRU hash).
 */
struct sigil_client_slot {
	__u64 owner;
	struct sigil_conn rec;
	__u64 pad;           /* one 64-byte slot */
};
SIGIL_ASSERT(sizeof(struct sigil_client_slot) == 64, "sigil_client_slot size");
SIGIL_ASSERT(SIGIL_OFFSET(struct sigil_client_slot, rec) == 8, "sigil_client_slot.rec");

/* Handoff map key: the client's local endpoint, seen as the remote endpoint by the accepted socket. */
struct sigil_endpoint_key {
	__u32 addr[4];       /* v4-mapped for IPv4 */
	__u16 port;          /* network order */
	__u16 pad;
};
SIGIL_ASSERT(sizeof(struct sigil_endpoint_key) == 20, "sigil_endpoint_key size");

/*
 * Run-time settings written by user space (single-entry ARRAY map). `identity` names the pinned set:
 * sha256 of the embedded BPF object and its load config, written once the set is attached; an agent
 * whose own identity differs replaces the programs in the pinned links instead of adopting them.
 */
#define SIGIL_IDENTITY_BYTES 32
struct sigil_settings {
	__u32 scan_complete; /* 1 once the agent's /proc scan is done */
	__u32 pad;
	__u8 identity[SIGIL_IDENTITY_BYTES];
};
SIGIL_ASSERT(sizeof(struct sigil_settings) == 40, "sigil_settings size");
SIGIL_ASSERT(SIGIL_OFFSET(struct sigil_settings, identity) == 8, "sigil_settings.identity");

/* Ring buffer events for the attestation work. */
enum sigil_event_type {
	SIGIL_EVENT_EXEC = 1,
	SIGIL_EVENT_EXIT = 2,
};

struct sigil_event {
	__u32 type;          /* enum sigil_event_type */
	__u32 tgid;
	__u64 start_time;    /* task->start_boottime, ns */
	__u32 dev;           /* kernel dev_t of the executed file (EXEC only): MAJOR = dev >> 20 */
	__u32 exec_seq;      /* the process's exec sequence number after this exec (EXEC only) */
	__u64 ino;           /* inode of the executed file (EXEC only) */
};
SIGIL_ASSERT(sizeof(struct sigil_event) == 32, "sigil_event size");
SIGIL_ASSERT(SIGIL_OFFSET(struct sigil_event, dev) == 16, "sigil_event.dev");
SIGIL_ASSERT(SIGIL_OFFSET(struct sigil_event, exec_seq) == 20, "sigil_event.exec_seq");
SIGIL_ASSERT(SIGIL_OFFSET(struct sigil_event, ino) == 24, "sigil_event.ino");

/*
 * An EXEC event: the generic header plus what the loader saw, copied from the new image's memory
 * before any of its code ran (so a process rewriting its argv or environ later cannot change what
 * attestation reads). Regions hold the raw NUL-separated strings; *_len bytes are valid.
 */
#define SIGIL_ARGV_BYTES 4096
#define SIGIL_ENV_BYTES 12288
#define SIGIL_EXEC_ARGV_TRUNCATED 0x1u  /* the command line is longer than SIGIL_ARGV_BYTES - 1 */
#define SIGIL_EXEC_ENV_TRUNCATED 0x2u   /* the environment is longer than SIGIL_ENV_BYTES - 1 */
#define SIGIL_EXEC_ARGV_UNREADABLE 0x4u
#define SIGIL_EXEC_ENV_UNREADABLE 0x8u
struct sigil_exec_event {
	struct sigil_event head;
	__u64 ctime_ns;      /* executed file's inode ctime */
	__u32 taint;         /* taint the image starts with (user namespace, traced) */
	__u32 flags;         /* SIGIL_EXEC_* */
	__u32 argv_len;
	__u32 env_len;
	__u32 cwd_dev;       /* working directory at exec: a relative script name means a file there */
	__u32 pad;
	__u64 cwd_ino;
	__u8 argv[SIGIL_ARGV_BYTES];
	__u8 env[SIGIL_ENV_BYTES];
};
SIGIL_ASSERT(SIGIL_OFFSET(struct sigil_exec_event, ctime_ns) == 32, "sigil_exec_event.ctime_ns");
SIGIL_ASSERT(SIGIL_OFFSET(struct sigil_exec_event, cwd_ino) == 64, "sigil_exec_event.cwd_ino");
SIGIL_ASSERT(SIGIL_OFFSET(struct sigil_exec_event, argv) == 72, "sigil_exec_event.argv");
SIGIL_ASSERT(sizeof(struct sigil_exec_event) == 72 + SIGIL_ARGV_BYTES + SIGIL_ENV_BYTES, "sigil_exec_event size");

/*
 * Per-CPU counters, one per branch. X(NAME, "jsName"): the enum and user space's name table both
 * come from this list, so they cannot drift apart.
 */
#define SIGIL_COUNTERS(X) \
	X(STEERED, "steered") \
	X(PASSED_NOT_LISTED, "passedNotListed") \
	X(PASSED_UNBOUND, "passedUnbound") \
	X(PASSED_EXEMPT, "passedExempt") \
	X(PASSED_NOT_TCP, "passedNotTcp") \
	X(DENIED, "denied") \
	X(STORAGE_FAIL, "storageFail") \
	X(HANDOFF_STORED, "handoffStored") \
	X(HANDOFF_STORE_FAIL, "handoffStoreFail") \
	X(HANDOFF_CLAIMED, "handoffClaimed") \
	X(HANDOFF_MISS, "handoffMiss") \
	X(PEERNAME_REWRITTEN, "peernameRewritten") \
	X(EXEC_SEEN, "execSeen") \
	X(FORK_COPIED, "forkCopied") \
	X(EXIT_SEEN, "exitSeen") \
	X(PROCMAP_FULL, "procmapFull") \
	X(RINGBUF_FULL, "ringbufFull") \
	X(PASSED_TAINTED, "passedTainted") \
	X(TAINTED, "tainted") \
	X(LSM_DENIED, "lsmDenied")

#define SIGIL_COUNTER_ENUM(name, js) SIGIL_CNT_##name,
enum sigil_counter {
	SIGIL_COUNTERS(SIGIL_COUNTER_ENUM)
	SIGIL_CNT_MAX
};
#undef SIGIL_COUNTER_ENUM

/* Map sizes user space may rely on. */
#define SIGIL_MAX_PROCS 65536
#define SIGIL_MAX_DESTS 4096
#define SIGIL_MAX_HANDOFF 16384
/*
 * Slots of sigil_client_slots (a power of two): most steered sockets' records live here. Cookies count
 * up, so connects walk the table; 256 KB stays in cache and TLB reach where 1 MB did not (on the
 * bench VM a steered connect cost ~430-460 ns with 4096 slots, ~770-950 ns with 16384). A socket whose
 * slot a live socket 4096 cookies older still holds uses sigil_clients.
 */
#define SIGIL_CLIENT_SLOTS 4096
/* Steered client sockets between connect and close (~7 MB of preallocated kernel memory). */
#define SIGIL_MAX_CLIENTS 65536
/* Room for ~125 exec events (each reserves a whole struct sigil_exec_event): the addon's pump thread copies
 * events out as soon as it wakes (native/src/events.cc), so this holds one scheduling delay of it. */
#define SIGIL_RINGBUF_BYTES (2 * 1024 * 1024)

#endif /* SIGIL_ABI_H */
