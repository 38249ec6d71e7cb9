/**
 * Private typed declaration of the raw addon (build/native/Release/sigil_native.node).
 * Only agent/steering/ imports this; everything else uses the wrapper there.
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

export interface NativeFeatureCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export declare class NativeSteering {
  constructor();
  load(config: NativeConfig): void;
  /**
   * 'attached': nothing was pinned; 'adopted': the pinned set is this object + config;
   * 'upgraded': programs in the pinned links were replaced (BPF_LINK_UPDATE), compatible maps kept.
   * `adopted` is true unless 'attached' (kept for older callers).
   */
  attach(cgroupPath: string, pinDir: string): { outcome: 'attached' | 'adopted' | 'upgraded'; adopted: boolean };
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
}
