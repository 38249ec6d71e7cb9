/**
 * Typed declaration of the raw addon (build/native/Release/sigil_native.node), loaded by
 * native/index.ts. Steering is used through agent/steering/'s wrapper.
 *
 * Failed syscalls throw an Error with `errno` (negative, as Node does), `code` ('EPERM', ...) and
 * `syscall`; bad arguments throw a TypeError whose message starts with "usage:".
 */
export type ProcessStateName = 'pending' | 'bound' | 'unbound' | 'exempt';

export interface NativeConfig {
  /** Signer's IPv4 loopback address (steered IPv4 and v4-mapped dials go here). */
  signerIPv4: string;
  /** Signer's IPv6 address for native IPv6 dials; default '::1'. */
  signerIPv6?: string;
  signerPort: number;
  /** Which identity-protection programs to load: the lsm/ set (default) or the kprobe taint-only set. */
  protection?: ProtectionMode;
}

/** 'enforce': BPF LSM refuses identity-changing operations on bound processes; 'taint-only': they only unbind. */
export type ProtectionMode = 'enforce' | 'taint-only';

/** The program image a process runs, as the kernel fixed it at exec (sigil_images). */
export interface NativeImage {
  execSeq: number;
  /** SIGIL_TAINT_* bits (bpf/abi.h): 0x1 mm, 0x2 user namespace, 0x4 credentials, 0x8 traced. */
  taint: number;
  /** The process whose exec made this image (a forked child names its parent's exec). */
  originTgid: number;
  originStart: bigint;
  /** st_dev encoding of the executed file's device. */
  dev: number;
  ino: bigint;
  /** The executed file's ctime at exec, ns (stat's st_ctim). */
  ctimeNs: bigint;
}

export interface NativeDestination {
  addr: string;
  port: number;
  destId: number;
  deny?: boolean;
}

export interface NativeProcess {
  state: ProcessStateName;
  bindingId?: number;
  /** Bit sig-1 for each signal (1..16) that opens a debugger in this process's runtime (see abi.h). */
  guardedSignals?: number;
  /** task->start_boottime in ns; /proc/<pid>/stat field 22 = startTime / 10_000_000n. */
  startTime?: bigint;
}

/** What setProcess() takes: the exec sequence number is the kernel's and is never written. */
export interface NativeProcessWrite extends NativeProcess {
  /** Write only if the kernel's exec sequence number of tgid is still this (else return false). */
  expectExecSeq?: number;
}

/** What getProcess() returns. */
export interface NativeProcessEntry extends Required<NativeProcess> {
  /** The kernel's exec sequence number: 1 after the first exec seen, +1 per exec; 0 when none seen. */
  execSeq: number;
}

export interface NativeConnection {
  origAddr: string;
  origPort: number;
  family: 'ipv4' | 'ipv6';
  tgid: number;
  uid: number;
  /** The caller's exec sequence number when it connected (0 if no exec of it was seen). */
  execSeq: number;
  startTime: bigint;
  cookie: bigint;
}

export interface NativeEvent {
  type: 'exec' | 'exit';
  /** Exec only: the executed file's ctime (ns), the image's initial taint, argv and environ as the loader left them. */
  ctimeNs?: bigint;
  taint?: number;
  /** Exec only: the working directory at exec (st_dev encoding, inode). */
  cwdDev?: number;
  cwdIno?: bigint;
  argv?: string[];
  env?: string[];
  /** False when the kernel could not copy all of argv / environ (longer than its buffers, or unreadable). */
  argvComplete?: boolean;
  envComplete?: boolean;
  tgid: number;
  startTime: bigint;
  /** st_dev encoding of the executed file's device (exec only, else 0). */
  dev: number;
  /** inode of the executed file (exec only, else 0). */
  ino: number;
  /** The process's exec sequence number after this exec (exec only, else 0). */
  execSeq: number;
}

export interface NativeAttachedProgram {
  attachType: string;
  id: number;
  name: string;
  tag: string;
}

export interface NativeProgramStats {
  name: string;
  id: number;
  runCount: number;
  runTimeNs: number;
}

/** A program the loaded object ships: what the kernel should show once it is attached. */
export interface NativeExpectedProgram {
  /** libbpf's attach type name: 'cgroup_inet4_connect', ... (as query() names them), 'trace_raw_tp' for tp_btf. */
  attachType: string;
  /** The kernel's name (at most 15 characters), as query() reports it. */
  name: string;
  /** The kernel's tag (hex) of the program as loaded on this host. */
  tag: string;
}

/** One fault found in this handle's attachments and what was done about it. */
export interface NativeLinkRepair {
  name: string;
  attachType: string;
  /**
   * 'missing' (no link), 'detached' (the link's cgroup_id is 0), 'wrong-cgroup', 'replaced' (the link
   * runs another program), 'unpinned' (the pin is gone or names another link), 'dead-pin' (at attach:
   * a pinned link found detached or elsewhere; its pin is dropped, never adopted), 'unreadable',
   * 'out-of-order' (a guard could not be moved back behind its re-attached steering program; counters only).
   */
  problem: 'missing' | 'detached' | 'wrong-cgroup' | 'replaced' | 'unpinned' | 'dead-pin' | 'unreadable' | 'out-of-order';
  /** 'restored' = BPF_LINK_UPDATE back to our program; 'failed' = see `error`, retried on the next repair(). */
  action: 're-attached' | 'restored' | 're-pinned' | 'pin-dropped' | 'failed';
  error?: string;
}

export interface NativeFeatureCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/** One TCP socket as sock_diag reports it (listTcpSockets); destroyTcpSocket takes the same shape. */
export interface NativeTcpSocket {
  family: 'ipv4' | 'ipv6';
  /** TCP_ESTABLISHED = 1, SYN_SENT = 2, ... CLOSE_WAIT = 8, LISTEN = 10 (include/net/tcp_states.h). */
  state: number;
  /** Local end. IPv4 dotted; v4-mapped IPv6 also prints dotted (family says which socket it is). */
  src: string;
  sport: number;
  /** Remote end (0.0.0.0 / :: and 0 for a listener). */
  dst: string;
  dport: number;
  ifindex: number;
  /** Socket cookie: SOCK_DESTROY ends only the socket that still carries it. */
  cookie: bigint;
  uid: number;
  /** Socket inode: /proc/<pid>/fd/N links to socket:[inode]. */
  inode: number;
}

export declare class NativeSteering {
  constructor();
  load(config: NativeConfig): void;
  /**
   * 'attached': nothing was pinned; 'adopted': the pinned set is this object + config;
   * 'upgraded': programs in the pinned links were replaced (BPF_LINK_UPDATE), compatible maps kept.
   * `adopted` is true unless 'attached' (kept for older callers).
   */
  attach(cgroupPath: string, pinDir: string): { outcome: 'attached' | 'adopted' | 'upgraded'; adopted: boolean; repaired?: NativeLinkRepair[] };
  open(pinDir: string): void;
  detach(): void;
  close(): void;
  setDestination(dest: NativeDestination): void;
  deleteDestination(dest: { addr: string; port: number }): boolean;
  listDestinations(): Required<NativeDestination>[];
  /** False (nothing written) when `expectExecSeq` is given and the process has exec'd since. */
  setProcess(tgid: number, proc: NativeProcessWrite): boolean;
  deleteProcess(tgid: number): boolean;
  getProcess(tgid: number): NativeProcessEntry | null;
  /** The kernel's image record of tgid; null when it has none (a process found only by the /proc scan). */
  getImage(tgid: number): NativeImage | null;
  /** The protection mode this set was loaded with. */
  protection(): ProtectionMode;
  processCount(): number;
  setScanComplete(done: boolean): void;
  connectionFor(fd: number): NativeConnection | null;
  counters(): Record<string, number>;
  enableStats(): void;
  programStats(): NativeProgramStats[];
  startEvents(callback: (event: NativeEvent) => void): void;
  stopEvents(): void;
  /** Every program of the loaded object (after load()), with the tag the kernel gave it. */
  expectedPrograms(): NativeExpectedProgram[];
  /**
   * Checks every program of the loaded object against the kernel (link info: attached, to our cgroup,
   * running our tag; pin names our link) and repairs what is wrong at once. [] when all is well, or
   * when this handle did not attach (open()).
   */
  repair(): NativeLinkRepair[];
}

/** Benchmark baselines (bpf/noop.bpf.c): a no-op connect4 on one cgroup and a no-op exec tracepoint. */
export declare class NativeNoopSet {
  constructor(cgroupPath: string);
  /** Kernel run-time stats per baseline (counted while BPF_ENABLE_STATS is held, e.g. by Steering.enableStats()). */
  stats(): NativeProgramStats[];
  close(): void;
}

export interface NativeBinding {
  Steering: typeof NativeSteering;
  NoopSet: typeof NativeNoopSet;
  query(cgroupPath: string): NativeAttachedProgram[];
  probeFeatures(): NativeFeatureCheck[];
  mountBpffs(path: string): void;
  /** One sd_notify(3) datagram to $NOTIFY_SOCKET ("@" = abstract namespace); false when it is unset. */
  sdNotify(state: string): boolean;
  /** Every TCP socket of a family whose state bit (1 << state) is in `states` (sock_diag dump). */
  listTcpSockets(opts: { family: 'ipv4' | 'ipv6'; states: number }): NativeTcpSocket[];
  /**
   * SOCK_DESTROY of that socket (tcp_abort: its owner sees ECONNABORTED, the peer an RST). Needs
   * CAP_NET_ADMIN (EPERM otherwise) and CONFIG_INET_DIAG_DESTROY (EOPNOTSUPP); ENOENT once it is gone.
   */
  destroyTcpSocket(socket: Pick<NativeTcpSocket, 'family' | 'src' | 'sport' | 'dst' | 'dport' | 'cookie'> & { ifindex?: number }): void;
  /** Names of the maps pinned under <pinDir>/maps/, which an upgrade hands to the new object when they still fit. */
  readonly pinnedMaps: readonly string[];
}
