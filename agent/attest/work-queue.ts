/**
 * A queue of keyed jobs run by one worker function with bounded concurrency. A key is queued at most
 * once (re-adding a queued key is a no-op) and never runs twice at once, so the queue holds at most
 * one slot per live key: a burst of short-lived processes cannot grow it beyond the live ones once
 * their exits `remove()` them. Jobs start from setImmediate, so a long queue yields to I/O between
 * jobs instead of running back to back in one turn of the event loop.
 */
export class KeyedWorkQueue<K> {
  private readonly waiting = new Set<K>();
  private readonly running = new Set<K>();
  private scheduled = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly concurrency: number,
    private readonly worker: (key: K) => Promise<void>,
  ) {}

  add(key: K): void {
    this.waiting.add(key);
    this.schedule();
  }

  /** Drops a queued job (a running one finishes; the worker must check that its key still matters). */
  remove(key: K): void {
    this.waiting.delete(key);
    this.notifyIfIdle();
  }

  clear(): void {
    this.waiting.clear();
    this.notifyIfIdle();
  }

  /** Jobs queued or running. */
  get size(): number {
    return this.waiting.size + this.running.size;
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.startJobs();
    });
  }

  private startJobs(): void {
    for (const key of this.waiting) {
      if (this.running.size >= this.concurrency) return;
      if (this.running.has(key)) continue; // runs again once the current job ends
      this.waiting.delete(key);
      this.running.add(key);
      this.worker(key)
        .catch(() => undefined) // the worker reports its own failures
        .finally(() => {
          this.running.delete(key);
          if (this.waiting.size > 0) this.schedule();
          this.notifyIfIdle();
        });
    }
  }

  private notifyIfIdle(): void {
    if (this.size !== 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
