import type { ProcessStateEntry, ProcessStateSink } from '../attest/types.js';
import type { KernelSteering } from '../steering/index.js';

/**
 * Attestation's decisions, written into the kernel's process map. The agent's own tgid is never
 * written: it is EXEMPT (set by `exemptSelf()` before the signer serves) and attestation must not turn
 * it into `unbound`, which a `deny` destination would refuse.
 */
export class KernelProcessSink implements ProcessStateSink {
  constructor(
    private readonly steering: KernelSteering,
    private readonly selfTgid: number = process.pid,
  ) {}

  /** False when the process exec'd after the image the decision is about (nothing written). */
  set(tgid: number, entry: ProcessStateEntry): boolean {
    if (tgid === this.selfTgid) return true;
    return this.steering.setProcess(tgid, {
      state: entry.state,
      bindingId: entry.bindingIndex,
      startTime: entry.startTime,
      ...(entry.execSeq === undefined ? {} : { expectExecSeq: entry.execSeq }),
    });
  }

  execSeq(tgid: number): number | undefined {
    return this.steering.getProcess(tgid)?.execSeq;
  }

  delete(tgid: number): void {
    if (tgid === this.selfTgid) return;
    this.steering.deleteProcess(tgid);
  }

  scanComplete(): void {
    this.steering.setScanComplete(true);
  }
}
