import type { ImageRecord, ProcessEvent, ProcessStateEntry, ProcessStateSink } from '../attest/index.js';
import type { KernelSteering, ProcessEvent as KernelEvent } from '../steering/index.js';

/** A ring-buffer event as attestation takes it: an exec carries what the kernel recorded at exec. */
export function toProcessEvent(event: KernelEvent): ProcessEvent {
  const base = { type: event.type, tgid: event.tgid, startTime: event.startTime };
  if (event.type !== 'exec') return base;
  return {
    ...base,
    execSeq: event.execSeq,
    ...(event.argv === undefined || event.env === undefined || event.ctimeNs === undefined
      ? {}
      : {
          exec: {
            dev: event.dev,
            ino: BigInt(event.ino),
            ctimeNs: event.ctimeNs,
            ...(event.cwdDev === undefined || event.cwdIno === undefined ? {} : { cwd: { dev: event.cwdDev, ino: event.cwdIno } }),
            argv: event.argv,
            env: event.env,
            argvComplete: event.argvComplete === true,
            envComplete: event.envComplete === true,
          },
        }),
  };
}

/**
 * Attestation's decisions, written into the kernel's process map. The agent's own tgid is never
 * written: it is EXEMPT (set by `exemptSelf()` before the signer serves) and attestation must not turn
 * it into `unbound`, which a `deny` destination would refuse.
 *
 * `onBoundChange` hears every write that moves a process between `bound` and `unbound` (as the kernel
 * had it, so a restarted agent sees changes made by its predecessor's policy too): its connections
 * were made on the other path and must be ended. From `pending` nothing is ended: those connections
 * were steered, and the signer serves or relays them by the outcome.
 */
export class KernelProcessSink implements ProcessStateSink {
  constructor(
    private readonly steering: KernelSteering,
    private readonly selfTgid: number = process.pid,
    private readonly onBoundChange?: (tgid: number, bound: boolean) => void,
  ) {}

  /** False when the process exec'd after the image the decision is about (nothing written). */
  set(tgid: number, entry: ProcessStateEntry): boolean {
    if (tgid === this.selfTgid) return true;
    const before = this.onBoundChange ? this.steering.getProcess(tgid)?.state : undefined;
    const written = this.steering.setProcess(tgid, {
      state: entry.state,
      bindingId: entry.bindingIndex,
      ...(entry.guardedSignals ? { guardedSignals: entry.guardedSignals } : {}),
      startTime: entry.startTime,
      ...(entry.execSeq === undefined ? {} : { expectExecSeq: entry.execSeq }),
    });
    const switched = (before === 'bound' && entry.state === 'unbound') || (before === 'unbound' && entry.state === 'bound');
    if (written && switched) this.onBoundChange?.(tgid, entry.state === 'bound');
    return written;
  }

  execSeq(tgid: number): number | undefined {
    return this.steering.getProcess(tgid)?.execSeq;
  }

  image(tgid: number): ImageRecord | null {
    return this.steering.getImage(tgid);
  }

  delete(tgid: number): void {
    if (tgid === this.selfTgid) return;
    this.steering.deleteProcess(tgid);
  }

  scanComplete(): void {
    this.steering.setScanComplete(true);
  }
}
