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
  /** The kernel's image record of tgid (null: none). Optional; without it nothing is known of images or taint. */
  image?(tgid: number): ImageRecord | null;
  delete(tgid: number): void;
  /** The start-up /proc scan is done: from now on a process without an entry is not pending. */
  scanComplete(): void;
}

/** The executed file as the kernel fixed it at exec (device in st_dev encoding, inode, ctime). */
export interface ExecutedFile {
  dev: number;
  ino: bigint;
  ctimeNs: bigint;
}

/** What the kernel recorded at exec, before any of the new image's code ran. */
export interface ExecRecord extends ExecutedFile {
  /** The working directory at exec: a relative script name must still resolve in it. */
  cwd?: { dev: number; ino: bigint };
  argv: readonly string[];
  env: readonly string[];
  /** False when the kernel could not copy all of argv / environ: no script, no binding that needs the env. */
  argvComplete: boolean;
  envComplete: boolean;
}

/** The kernel's image record of a live process (sigil_images). */
export interface ImageRecord extends ExecutedFile {
  /** 0 when no exec of the process was seen (the record exists only to hold a taint). */
  execSeq: number;
  /** SIGIL_TAINT_* bits; non-zero means the process holds no binding until its next exec. */
  taint: number;
  /** The process whose exec made this image: a child forked without exec names its ancestor. */
  originTgid: number;
  originStart: bigint;
}

/**
 * Process events in (from the kernel ring buffer, in production). startTime in ns since boot; execSeq
 * (exec only) is the process's exec sequence number after this exec (1 for the first exec seen);
 * `exec` (exec only, when the kernel sent it) is what was executed, with argv and environ.
 */
export type ProcessEvent = { type: 'exec' | 'exit'; tgid: number; startTime: bigint; execSeq?: number; exec?: ExecRecord };
