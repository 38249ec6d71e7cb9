/**
 * Watches the agent's own attachments and repairs them: every `intervalMs` (and whenever `check()` is
 * called, e.g. after a policy apply) each program of the loaded object is checked against the kernel
 * (link info: attached, to the steered cgroup, running our tag, pinned) and a missing, detached or
 * replaced one is re-attached at once. Every fault is logged and counted; one that could not be
 * repaired keeps the agent degraded (`problems`) until a later check succeeds.
 *
 * Also the source of the "shipped" program set the fleet compares the kernel's view against: it comes
 * from the object this agent loaded, never from what the kernel happens to show.
 */
import type { Logger } from 'pino';
import type { ExpectedProgram, KernelSteering, LinkRepair } from './steering.js';

export const ATTACH_CHECK_INTERVAL_MS = 1_000;

/** A repair with the time it was made, as heartbeats carry it. */
export interface RecordedRepair extends LinkRepair {
  at: string;
}

export interface AttachWatcherOptions {
  steering: Pick<KernelSteering, 'repair' | 'expectedPrograms' | 'repairedAtAttach'>;
  log: Logger;
  intervalMs?: number;
  now?: () => Date;
}

/** At most this many repairs wait for the next heartbeat (the counters keep the full tally). */
const MAX_PENDING = 64;

export class AttachWatcher {
  readonly #options: AttachWatcherOptions;
  readonly #totals = new Map<string, { program: string; problem: string; action: string; count: number }>();
  #pending: RecordedRepair[] = [];
  #problems: string[] = [];
  #timer: NodeJS.Timeout | undefined;
  #shipped: ExpectedProgram[] | undefined;

  constructor(options: AttachWatcherOptions) {
    this.#options = options;
    for (const repair of options.steering.repairedAtAttach) this.#record(repair, 'at attach');
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.check(), this.#options.intervalMs ?? ATTACH_CHECK_INTERVAL_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One check-and-repair pass now; returns what it found (and did). Never throws. */
  check(): LinkRepair[] {
    let repairs: LinkRepair[];
    try {
      repairs = this.#options.steering.repair();
    } catch (err) {
      this.#problems = [`attachment check failed: ${(err as Error).message}`];
      this.#options.log.error({ err }, 'attachment check failed');
      return [];
    }
    for (const repair of repairs) this.#record(repair, 'while running');
    this.#problems = repairs.filter((r) => r.action === 'failed')
      .map((r) => `program ${r.name} (${r.attachType}) ${r.problem}, repair failed: ${r.error ?? 'unknown error'}`);
    return repairs;
  }

  /** Faults not repaired yet; empty when every program is attached, ours and pinned. */
  get problems(): readonly string[] {
    return this.#problems;
  }

  /** Repairs since the last call (for the heartbeat). */
  drain(): RecordedRepair[] {
    const out = this.#pending;
    this.#pending = [];
    return out;
  }

  /** Running totals by program, problem and action (for /metrics). */
  totals(): Array<{ program: string; problem: string; action: string; count: number }> {
    return [...this.#totals.values()];
  }

  /** The cgroup programs this build ships, with this kernel's tags: what BPF_PROG_QUERY should show. */
  shippedCgroupPrograms(): ExpectedProgram[] {
    this.#shipped ??= this.#options.steering.expectedPrograms().filter((p) => p.attachType.startsWith('cgroup_'));
    return this.#shipped;
  }

  #record(repair: LinkRepair, when: string): void {
    const key = `${repair.name}/${repair.problem}/${repair.action}`;
    const total = this.#totals.get(key) ?? { program: repair.name, problem: repair.problem, action: repair.action, count: 0 };
    total.count++;
    this.#totals.set(key, total);
    this.#pending.push({ ...repair, at: (this.#options.now?.() ?? new Date()).toISOString() });
    if (this.#pending.length > MAX_PENDING) this.#pending.splice(0, this.#pending.length - MAX_PENDING);
    const fields = { program: repair.name, attachType: repair.attachType, problem: repair.problem, action: repair.action, ...(repair.error ? { error: repair.error } : {}) };
    if (repair.action === 'failed') this.#options.log.error(fields, `kernel program ${repair.name} ${repair.problem} (${when}); repair failed, retrying`);
    else this.#options.log.warn(fields, `kernel program ${repair.name} was ${repair.problem} (${when}); ${repair.action}`);
  }
}
