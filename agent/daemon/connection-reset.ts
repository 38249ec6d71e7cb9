import type { Logger } from 'pino';
import { endConnections, type Endpoint, type EndResult } from '../steering/index.js';

/**
 * Makes binding changes reach connections a workload already holds. A process that became bound
 * may hold direct (unsigned) keep-alive connections to an OCI endpoint; one that lost its binding
 * holds steered ones to the signer. Both are ended (SOCK_DESTROY) right after the kernel's process
 * state changed, so the client's next request opens a new connection and takes the new path.
 *
 * Changes are collected and ended together once the current policy application has written them
 * (one sock_diag dump per batch, not per process).
 */
export class ConnectionReset {
  readonly #pending = new Set<number>();
  #scheduled = false;
  #totals = { processes: 0, ended: 0, failed: 0 };

  constructor(
    private readonly parts: {
      /** Where the connections to end lead: every policy destination address and the signer's own. */
      remotes: () => Endpoint[];
      log: Logger;
      /** Replaces SOCK_DESTROY (tests). */
      end?: (tgids: Iterable<number>, remotes: Iterable<Endpoint>) => EndResult;
    },
  ) {}

  /** A process moved between bound and unbound (KernelProcessSink's onBoundChange). */
  changed(tgid: number): void {
    this.#pending.add(tgid);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Ends the collected processes' connections now. */
  flush(): EndResult | undefined {
    this.#scheduled = false;
    if (this.#pending.size === 0) return undefined;
    const tgids = [...this.#pending];
    this.#pending.clear();
    const { log } = this.parts;
    try {
      const result = (this.parts.end ?? endConnections)(tgids, this.parts.remotes());
      this.#totals.processes += tgids.length;
      this.#totals.ended += result.ended;
      this.#totals.failed += result.errors.length;
      log.info({ tgids, matched: result.matched, ended: result.ended }, 'binding changed: existing connections of these processes ended');
      if (result.errors.length > 0) log.warn({ tgids, errors: result.errors }, 'some connections could not be ended; they keep their old path until they close');
      return result;
    } catch (err) {
      this.#totals.failed += 1;
      log.warn({ err, tgids }, 'cannot end connections after a binding change (needs CAP_NET_ADMIN and CONFIG_INET_DIAG_DESTROY); they keep their old path until they close');
      return undefined;
    }
  }

  /** Since start: processes whose connections were ended, sockets ended, failures. */
  get totals(): Readonly<{ processes: number; ended: number; failed: number }> {
    return this.#totals;
  }
}
