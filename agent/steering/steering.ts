import type { Socket } from 'node:net';
import type {
  NativeAttachedProgram, NativeConnection, NativeEvent, NativeExpectedProgram, NativeImage, NativeLinkRepair, NativeProgramStats,
  NativeSteering, ProcessStateName, ProtectionMode,
} from '../../native/binding.js';
import { ensureBpffs, DEFAULT_BPFFS } from './bpffs.js';
import { findCgroup2Mount } from './mounts.js';
import { loadNative } from '../../native/index.js';
import { chooseProtection, lsmRefused, type ProtectionChoice, type ProtectionSetting } from './protection.js';
import { SteeringError, SteeringErrorCode } from './errors.js';

export type ProcessState = ProcessStateName;
export type SteeredConnection = NativeConnection;
export type AttachedProgram = NativeAttachedProgram;
export type ProgramStats = NativeProgramStats;
/** A program this build ships (attach type, kernel name, tag as loaded here). */
export type ExpectedProgram = NativeExpectedProgram;
/** One attachment fault found and what was done about it (see NativeLinkRepair). */
export type LinkRepair = NativeLinkRepair;
export type ProcessImage = NativeImage;
export type { ProtectionMode };
/** What `KernelSteering.attach()` found under the pin dir and did about it. */
export type AttachOutcome = 'attached' | 'adopted' | 'upgraded';

/** An exec or exit seen by the kernel, for attestation. */
export type ProcessEvent = NativeEvent;

export interface ProcessEntry {
  state: ProcessState;
  bindingId: number;
  /** Signals from other processes that taint (or, enforce, are refused): see bpf/abi.h sigil_proc. */
  guardedSignals: number;
  /** Kernel start time in ns; compare with /proc/<pid>/stat field 22 via startTimeToTicks(). */
  startTime: bigint;
  /** The kernel's exec sequence number (1 after the first exec seen, +1 per exec, copied on fork; 0 if none seen). */
  execSeq: number;
}

export interface Destination {
  /** IPv4 or IPv6 text; IPv4 matches both AF_INET and v4-mapped AF_INET6 dials. */
  addr: string;
  port: number;
  destId: number;
  /** Refuse (EPERM) unbound processes instead of letting them through unsigned. */
  deny: boolean;
}

export interface SteeringOptions {
  signerIPv4: string;
  /** Default '::1'. */
  signerIPv6?: string;
  signerPort: number;
  /** Cgroup (v2) whose sockets are steered; default: the cgroup2 root. */
  cgroupPath?: string;
  /** bpffs directory for the pinned links and maps; default /sys/fs/bpf/sigil. */
  pinDir?: string;
  /** Identity-protection mode to ask for (see protection.ts); default 'auto'. */
  protection?: ProtectionSetting;
}

/** USER_HZ is 100 on every Linux ABI Sigil targets: /proc/<pid>/stat field 22 = ns / 10^7. */
export function startTimeToTicks(startTimeNs: bigint): bigint {
  return startTimeNs / 10_000_000n;
}

/** The kernel fd behind a connected net.Socket (Linux, TCP), for connectionFor(). */
export function socketFd(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new TypeError('socketFd: socket has no kernel fd (not connected, or not TCP)');
  return fd;
}

/** The kernel's view of what is attached to a cgroup (BPF_PROG_QUERY), not what any agent believes. */
export function queryCgroup(cgroupPath: string): AttachedProgram[] {
  return loadNative().query(cgroupPath);
}

/**
 * One set of Sigil's BPF programs and maps. Create with `KernelSteering.attach()` (load + attach, or
 * adopt a set a previous agent pinned) or `KernelSteering.openPinned()` (maps only, e.g. a signer in
 * another process). `close()` releases this process's handles; pinned links keep steering until
 * `detach()`.
 */
export class KernelSteering {
  private native: NativeSteering | undefined;
  private readonly listeners = new Set<(event: ProcessEvent) => void>();

  private constructor(
    native: NativeSteering,
    /** The cgroup the programs are attached to ('' when opened from pins). */
    readonly cgroupPath: string,
    readonly pinDir: string,
    /**
     * 'attached' (nothing was pinned), 'adopted' (the pinned set came from this same object and
     * signer config) or 'upgraded' (another build or config was pinned: its programs were replaced
     * inside the pinned links, so the hooks were never empty; maps whose kind and sizes still fit
     * were kept with their contents, the others start empty and the agent refills them).
     */
    readonly outcome: AttachOutcome,
    /** The identity-protection mode the programs run in, and why (for doctor, /readyz, heartbeats). */
    readonly protectionChoice: ProtectionChoice,
    /** Faults found in the pinned set at attach (dead links dropped, missing programs attached). */
    readonly repairedAtAttach: readonly LinkRepair[] = [],
  ) {
    this.native = native;
  }

  /** Loads the programs and attaches them to `cgroupPath` with pins under `pinDir` (adopting existing pins). */
  static async attach(options: SteeringOptions): Promise<KernelSteering> {
    const cgroupPath = options.cgroupPath ?? (await findCgroup2Mount());
    const pinDir = options.pinDir ?? `${DEFAULT_BPFFS}/sigil`;
    await ensureBpffs(pinDir);
    const native = new (loadNative().Steering)();
    const setting = options.protection ?? 'auto';
    let choice = chooseProtection(setting);
    const load = (mode: ProtectionMode): void =>
      native.load({
        signerIPv4: options.signerIPv4,
        signerPort: options.signerPort,
        ...(options.signerIPv6 === undefined ? {} : { signerIPv6: options.signerIPv6 }),
        protection: mode,
      });
    try {
      try {
        load(choice.mode);
      } catch (err) {
        // BPF LSM listed as active but LSM programs refused (a host policy, a hardened kernel): auto falls back.
        const refused = choice.mode === 'enforce' ? lsmRefused(err) : undefined;
        if (setting !== 'auto' || refused === undefined) throw err;
        choice = { mode: 'taint-only', reason: refused };
        load(choice.mode);
      }
      const { outcome, repaired } = native.attach(cgroupPath, pinDir);
      return new KernelSteering(native, cgroupPath, pinDir, outcome, choice, repaired ?? []);
    } catch (err) {
      native.close();
      throw err;
    }
  }

  /** Opens the maps of a set pinned under `pinDir` without loading or attaching anything. */
  static openPinned(pinDir: string): KernelSteering {
    const native = new (loadNative().Steering)();
    native.open(pinDir);
    return new KernelSteering(native, '', pinDir, 'adopted', { mode: native.protection(), reason: 'maps opened from pins; the attaching agent chose the mode' });
  }

  /** True when an existing pinned set was taken over (adopted or upgraded) instead of attaching a second one. */
  get adopted(): boolean {
    return this.outcome !== 'attached';
  }

  private get handle(): NativeSteering {
    if (!this.native) throw new SteeringError(SteeringErrorCode.Closed, 'steering handle is closed');
    return this.native;
  }

  setDestination(dest: { addr: string; port: number; destId: number; deny?: boolean }): void {
    this.handle.setDestination(dest);
  }

  /** True if the entry existed. */
  deleteDestination(dest: { addr: string; port: number }): boolean {
    return this.handle.deleteDestination(dest);
  }

  listDestinations(): Destination[] {
    return this.handle.listDestinations();
  }

  /**
   * Writes a process's state. The exec sequence number is the kernel's and is never written; with
   * `expectExecSeq`, nothing is written (false) when the process has exec'd since, so a decision about
   * an older program image never overwrites the PENDING state of a newer one.
   */
  setProcess(tgid: number, entry: { state: ProcessState; bindingId?: number; guardedSignals?: number; startTime?: bigint; expectExecSeq?: number }): boolean {
    return this.handle.setProcess(tgid, entry);
  }

  deleteProcess(tgid: number): boolean {
    return this.handle.deleteProcess(tgid);
  }

  getProcess(tgid: number): ProcessEntry | null {
    return this.handle.getProcess(tgid);
  }

  /** What the kernel fixed at exec for tgid (file, exec sequence, taint); null when it has no record. */
  getImage(tgid: number): ProcessImage | null {
    return this.handle.getImage(tgid);
  }

  processCount(): number {
    return this.handle.processCount();
  }

  /** After the /proc scan: processes without an entry count as unbound instead of pending. */
  setScanComplete(done: boolean): void {
    this.handle.setScanComplete(done);
  }

  /** Exempts this process (and children it forks without exec) so the signer's upstream dials go out. */
  exemptSelf(): void {
    this.handle.setProcess(process.pid, { state: 'exempt' });
  }

  /** The record of a socket the signer accepted: who dialled, and where they meant to go. */
  connectionFor(socketOrFd: Socket | number): SteeredConnection | null {
    return this.handle.connectionFor(typeof socketOrFd === 'number' ? socketOrFd : socketFd(socketOrFd));
  }

  /** Per-branch counters summed over CPUs (steered, denied, handoffMiss, ...). */
  counters(): Record<string, number> {
    return this.handle.counters();
  }

  /** Turns on kernel run-time stats (kept on until close()). */
  enableStats(): void {
    this.handle.enableStats();
  }

  /** Run count and total ns per attached program (needs enableStats()). */
  programStats(): ProgramStats[] {
    return this.handle.programStats();
  }

  /** The programs this build loaded (every hook, tracing included), with this kernel's tags. */
  expectedPrograms(): ExpectedProgram[] {
    return this.handle.expectedPrograms();
  }

  /** Checks each of our programs against the kernel and repairs what is wrong at once; [] when all is well. */
  repair(): LinkRepair[] {
    return this.handle.repair();
  }

  query(): AttachedProgram[] {
    if (!this.cgroupPath) return [];
    return queryCgroup(this.cgroupPath);
  }

  /** Subscribes to exec/exit events; returns the unsubscribe function. Events flow while anyone listens. */
  onProcessEvent(listener: (event: ProcessEvent) => void): () => void {
    if (this.listeners.size === 0) {
      this.handle.startEvents((event) => { for (const l of this.listeners) l(event); });
    }
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.native) this.native.stopEvents();
    };
  }

  /** Removes the links and pins: steering stops for every process. */
  detach(): void {
    this.handle.detach();
  }

  /** Releases this process's handles (pinned links stay attached). Idempotent. */
  close(): void {
    this.listeners.clear();
    this.native?.close();
    this.native = undefined;
  }
}
