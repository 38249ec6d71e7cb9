/**
 * A count per process (tgid), forgetting a process once its count is back to zero, so the map holds
 * only processes with something open: the signer's in-flight requests and held connections.
 */
export class PerProcessCount {
  readonly #counts = new Map<number, number>();

  of(tgid: number): number {
    return this.#counts.get(tgid) ?? 0;
  }

  /** Adds one for `tgid`; returns its new count. */
  add(tgid: number): number {
    const count = this.of(tgid) + 1;
    this.#counts.set(tgid, count);
    return count;
  }

  remove(tgid: number): void {
    const left = this.of(tgid) - 1;
    if (left <= 0) this.#counts.delete(tgid);
    else this.#counts.set(tgid, left);
  }
}
