import type { WorkloadUsage } from '../../protocol/fleet.js';
import type { AuditEvent } from '../signer/index.js';

/**
 * Counts the signer's audit events per workload identity, for heartbeats (inventory: who used what,
 * when). Bounded: one entry per identity and per destination it used. Metrics count by status.
 */
export class UsageTracker {
  readonly #byIdentity = new Map<string, { requests: number; lastUsedAt: number; destinations: Set<string> }>();

  readonly record = (event: AuditEvent): void => {
    if (event.binding === undefined || event.errorCode !== undefined) return;
    const entry = this.#byIdentity.get(event.spiffeId) ?? { requests: 0, lastUsedAt: 0, destinations: new Set<string>() };
    entry.requests++;
    entry.lastUsedAt = Date.now();
    entry.destinations.add(event.host);
    this.#byIdentity.set(event.spiffeId, entry);
  };

  /** Per identity: live processes (from attestation) and what they did through the signer. */
  workloads(processes: ReadonlyMap<string, number>): WorkloadUsage[] {
    const ids = new Set([...processes.keys(), ...this.#byIdentity.keys()]);
    return [...ids].sort().map((spiffeId) => {
      const u = this.#byIdentity.get(spiffeId);
      return {
        spiffeId,
        processes: processes.get(spiffeId) ?? 0,
        requestsSigned: u?.requests ?? 0,
        ...(u?.lastUsedAt ? { lastUsedAt: new Date(u.lastUsedAt).toISOString() } : {}),
        destinations: u ? [...u.destinations].sort() : [],
      };
    });
  }
}
