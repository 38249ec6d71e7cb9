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
  /**
   * The kernel exec sequence number of the program image this decision is about, when known: the
   * sink writes nothing if the process has exec'd since (the newer image stays pending).
   */
  execSeq?: number;
}

/** What the matcher writes to (the kernel process map, in production). */
export interface ProcessStateSink {
  /** False when nothing was written because the process exec'd after `entry.execSeq`. */
  set(tgid: number, entry: ProcessStateEntry): void | boolean;
  /**
   * The kernel's current exec sequence number of tgid (undefined: no entry for it). Optional; without
   * it the attestor relies on exec events alone to notice an exec.
   */
  execSeq?(tgid: number): number | undefined;
  delete(tgid: number): void;
  /** The start-up /proc scan is done: from now on a process without an entry is not pending. */
  scanComplete(): void;
}

/**
 * Process events in (from the kernel ring buffer, in production). startTime in ns since boot; execSeq
 * (exec only) is the process's exec sequence number after this exec (1 for the first exec seen).
 */
export type ProcessEvent = { type: 'exec' | 'exit'; tgid: number; startTime: bigint; execSeq?: number };
