/**
 * The narrow boundary between attestation and the kernel. In production the steering part plugs in
 * the eBPF process map and ring-buffer events; tests plug an in-memory sink and synthesized events.
 */

/** What the kernel's process map holds for one tgid, as attestation decides it. */
export type ProcessState = 'pending' | 'bound' | 'unbound';

export interface ProcessStateEntry {
  state: ProcessState;
  /** Index of the workload in the attestor's workload table (1-based; 0 when not bound). */
  bindingIndex: number;
  /** Start time in ns since boot (task->start_boottime), as the kernel reports it. */
  startTime: bigint;
}

/** What the matcher writes to (the kernel process map, in production). */
export interface ProcessStateSink {
  set(tgid: number, entry: ProcessStateEntry): void;
  delete(tgid: number): void;
  /** The start-up /proc scan is done: from now on a process without an entry is not pending. */
  scanComplete(): void;
}

/** Process events in (from the kernel ring buffer, in production). startTime in ns since boot. */
export type ProcessEvent = { type: 'exec' | 'exit'; tgid: number; startTime: bigint };
