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

  set(tgid: number, entry: ProcessStateEntry): void {
    if (tgid === this.selfTgid) return;
    this.steering.setProcess(tgid, { state: entry.state, bindingId: entry.bindingIndex, startTime: entry.startTime });
  }

  delete(tgid: number): void {
    if (tgid === this.selfTgid) return;
    this.steering.deleteProcess(tgid);
  }

  scanComplete(): void {
    this.steering.setScanComplete(true);
  }
}
