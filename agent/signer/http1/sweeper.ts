/**
 * One timer for every client connection's deadline (headers, whole request, keep-alive), checked
 * every `intervalMs`, instead of a timer set and cleared per request. Deadlines fire late by at most
 * one interval, never early.
 */
export interface Expiring {
  /** Epoch ms; Infinity for none. */
  readonly deadline: number;
  expire(): void;
}

export class ConnectionSweeper {
  readonly #items = new Set<Expiring>();
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(intervalMs: number) {
    this.#intervalMs = Math.max(10, intervalMs);
  }

  add(item: Expiring): void {
    this.#items.add(item);
    if (!this.#timer) {
      this.#timer = setInterval(() => this.#sweep(), this.#intervalMs);
      this.#timer.unref();
    }
  }

  delete(item: Expiring): void {
    this.#items.delete(item);
    if (this.#items.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #sweep(): void {
    const now = Date.now();
    for (const item of this.#items) if (item.deadline <= now) item.expire();
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#items.clear();
  }
}
