import dns from 'node:dns';
import net from 'node:net';
import { SteeringError, SteeringErrorCode } from './errors.js';
import { AGENT_SETTINGS } from '../settings.js';
import { unmapV4 } from '../../common/addresses.js';
import { onAbort } from '../../common/abort.js';

/** One policy destination: a hostname and port, optionally refused to unbound processes. */
export interface DestinationSpec {
  hostname: string;
  port: number;
  deny?: boolean;
}

/** What the resolver writes to: KernelSteering, or a fake in unit tests. */
export interface DestinationTable {
  setDestination(dest: { addr: string; port: number; destId: number; deny?: boolean }): void;
  deleteDestination(dest: { addr: string; port: number }): boolean;
}

export interface ResolvedAddress {
  address: string;
  /** Seconds; Infinity for overrides and IP literals. */
  ttl: number;
}

export type Lookup = (hostname: string) => Promise<ResolvedAddress[]>;

export interface ResolverOptions {
  table: DestinationTable;
  /** host -> IPs, used instead of DNS (air-gapped hosts, tests). */
  resolve?: Record<string, string[]>;
  /**
   * How long an address that a newer DNS answer no longer lists stays steered (clients may have
   * cached it). Default 5 minutes. Hostnames are re-resolved at least every half of it.
   */
  graceMs?: number;
  /** TTL bounds, so a 0 TTL cannot spin and a huge one cannot pin an address forever. */
  minTtlMs?: number;
  maxTtlMs?: number;
  /** Replaces DNS resolution (tests). */
  lookup?: Lookup;
  now?: () => number;
  /**
   * Told when the set of destinations with no address changes (empty: all resolve again), so the
   * agent logs a degraded destination once per change instead of at every refresh.
   */
  onUnresolved?: (unresolved: UnresolvedDestination[]) => void;
}

export interface UnresolvedDestination {
  hostname: string;
  /** The last lookup error, or 'not resolved yet'. */
  reason: string;
}

/** A checked and resolved destination set, not yet current (DestinationResolver.prepare). */
export interface PreparedDestinations {
  readonly specs: readonly DestinationSpec[];
  readonly at: number;
  readonly answers: Map<string, ResolvedAddress[] | Error>;
}

/** TTL assumed when only getaddrinfo (no TTL) answered. */
const LOOKUP_TTL_SECONDS = 60;

/** resolve4/6 with TTLs; falls back to getaddrinfo (/etc/hosts etc.) when DNS has nothing. */
export async function dnsLookup(hostname: string): Promise<ResolvedAddress[]> {
  const [v4, v6] = await Promise.allSettled([
    dns.promises.resolve4(hostname, { ttl: true }),
    dns.promises.resolve6(hostname, { ttl: true }),
  ]);
  const found = [v4, v6].flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
  if (found.length > 0) return found;
  const all = await dns.promises.lookup(hostname, { all: true });
  return all.map((a) => ({ address: a.address, ttl: LOOKUP_TTL_SECONDS }));
}

interface Entry {
  addr: string;
  port: number;
  hostname: string;
  destId: number;
  deny: boolean;
  /** Last time DNS (or the override) still returned this address. */
  seenAt: number;
}

/**
 * Keeps the kernel's destinations map equal to the resolution of a set of hostnames, `resolve`
 * overrides for hosts without DNS.
 *
 * A destination in the policy never leaves the map while it is in the policy: each hostname is
 * re-resolved when its TTL runs out and at least every `graceMs / 2` (an override or a long TTL
 * would otherwise let its entries age out while still wanted); a failed lookup keeps the last good
 * addresses; an address goes only when the policy drops its hostname, or when a newer successful
 * answer no longer lists it and `graceMs` has passed since it was last listed.
 */
export class DestinationResolver {
  private readonly options: Required<Omit<ResolverOptions, 'resolve' | 'lookup' | 'onUnresolved'>> & Pick<ResolverOptions, 'resolve' | 'onUnresolved'>;
  private readonly lookup: Lookup;
  private specs: readonly DestinationSpec[] = [];
  private readonly destIds = new Map<string, number>();
  private readonly entries = new Map<string, Entry>();
  private readonly nextRefresh = new Map<string, number>();
  /** When each hostname last resolved successfully: entries older than that answer are superseded. */
  private readonly answeredAt = new Map<string, number>();
  /** The last lookup error of each hostname that failed (why a destination is degraded). */
  private readonly lastFailure = new Map<string, string>();
  private unresolvedNow: string[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(options: ResolverOptions) {
    this.options = {
      table: options.table,
      resolve: options.resolve,
      graceMs: options.graceMs ?? AGENT_SETTINGS.dnsGraceSeconds.default * 1000,
      minTtlMs: options.minTtlMs ?? 5_000,
      maxTtlMs: options.maxTtlMs ?? 3_600_000,
      now: options.now ?? Date.now,
      onUnresolved: options.onUnresolved,
    };
    this.lookup = options.lookup ?? dnsLookup;
  }

  /**
   * Phase one of a policy change: checks and resolves a destination set without touching the map or
   * the current set, so a bundle that fails later in its preparation changes nothing here.
   * Throws only for a spec that can never be steered (a bad port); a hostname that does not resolve
   * is not an error: it is steered once it does (see commit's answer).
   */
  async prepare(specs: readonly DestinationSpec[]): Promise<PreparedDestinations> {
    for (const s of specs) {
      if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535) {
        throw new SteeringError(SteeringErrorCode.BadDestination, `destination ${s.hostname}: bad port ${s.port}`);
      }
    }
    const normalised = specs.map((s) => ({ ...s, hostname: s.hostname.toLowerCase() }));
    const at = this.options.now();
    return { specs: normalised, at, answers: await this.resolveAll([...new Set(normalised.map((s) => s.hostname))]) };
  }

  /** Phase two: makes a prepared set current and writes the map. Returns the hostnames with no address yet. */
  commit(prepared: PreparedDestinations): string[] {
    this.specs = prepared.specs;
    this.nextRefresh.clear();
    const wanted = new Set(this.specs.map((s) => s.hostname));
    for (const host of this.answeredAt.keys()) if (!wanted.has(host)) this.answeredAt.delete(host);
    this.applyAnswers(prepared.answers, prepared.at);
    return this.settle(prepared.at);
  }

  /** prepare + commit: replaces the destination set and resolves it now. */
  async setDestinations(specs: readonly DestinationSpec[]): Promise<string[]> {
    return this.commit(await this.prepare(specs));
  }

  /**
   * Re-resolves hostnames that are due (all with force) and drops superseded addresses past their
   * grace. Returns the hostnames that have no address at all (the rest keep working).
   */
  async refresh({ force = false }: { force?: boolean } = {}): Promise<string[]> {
    const now = this.options.now();
    const due = [...new Set(this.specs.map((s) => s.hostname))].filter((h) => force || (this.nextRefresh.get(h) ?? 0) <= now);
    this.applyAnswers(await this.resolveAll(due), now);
    return this.settle(now);
  }

  /** Hostnames of the current set that have no address (degraded destinations). */
  unresolved(): string[] {
    return [...this.unresolvedNow];
  }

  private async resolveAll(hostnames: readonly string[]): Promise<Map<string, ResolvedAddress[] | Error>> {
    const answers = new Map<string, ResolvedAddress[] | Error>();
    await Promise.all(hostnames.map(async (hostname) => {
      try {
        answers.set(hostname, await this.resolveHost(hostname));
      } catch (err) {
        answers.set(hostname, err instanceof Error ? err : new Error(String(err)));
      }
    }));
    return answers;
  }

  private applyAnswers(answers: Map<string, ResolvedAddress[] | Error>, now: number): void {
    for (const [hostname, answer] of answers) {
      if (answer instanceof Error) {
        // The last good addresses stay (sweep only drops what a newer answer left out); try again soon.
        this.lastFailure.set(hostname, answer.message);
        this.nextRefresh.set(hostname, now + this.options.minTtlMs);
        continue;
      }
      this.lastFailure.delete(hostname);
      this.nextRefresh.set(hostname, now + this.refreshAfterMs(answer));
      this.answeredAt.set(hostname, now);
      for (const spec of this.specs.filter((s) => s.hostname === hostname)) {
        for (const { address } of answer) this.upsert(spec, address, now);
      }
    }
  }

  /** Sweeps, then tells onUnresolved once per change of the set of hostnames with no address. */
  private settle(now: number): string[] {
    this.sweep(now);
    const unresolved = [...new Set(this.specs.map((s) => s.hostname))].filter((h) => !this.hasAddresses(h)).sort();
    const changed = unresolved.length !== this.unresolvedNow.length || unresolved.some((h, i) => h !== this.unresolvedNow[i]);
    this.unresolvedNow = unresolved;
    if (changed) this.options.onUnresolved?.(unresolved.map((hostname) => ({ hostname, reason: this.lastFailure.get(hostname) ?? 'not resolved yet' })));
    return unresolved;
  }

  /** Re-resolves on a timer until stop() or the signal fires; errors go to onError. */
  start(options: { intervalMs?: number; signal?: AbortSignal; onError?: (err: unknown) => void } = {}): void {
    this.stop();
    this.timer = setInterval(() => { this.refresh().catch((err: unknown) => options.onError?.(err)); }, options.intervalMs ?? 1_000);
    this.timer.unref();
    if (options.signal) onAbort(options.signal, () => this.stop());
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The hostname a destination id stands for (the signer maps a record's destId back). */
  hostnameFor(destId: number): string | undefined {
    for (const [hostname, id] of this.destIds) if (id === destId) return hostname;
    return undefined;
  }

  destIdFor(hostname: string): number | undefined {
    return this.destIds.get(hostname.toLowerCase());
  }

  /** Addresses currently steered for a hostname (fresh and in-grace): the signer's SNI check. */
  addressesFor(hostname: string): Set<string> {
    const host = hostname.toLowerCase();
    return new Set([...this.entries.values()].filter((e) => e.hostname === host).map((e) => e.addr));
  }

  /** The answer's shortest TTL, but never later than half the grace, nor sooner than minTtlMs. */
  private refreshAfterMs(addresses: ResolvedAddress[]): number {
    const ttlMs = Math.min(...addresses.map((a) => a.ttl * 1000), this.options.maxTtlMs, this.options.graceMs / 2);
    return Math.max(ttlMs, this.options.minTtlMs);
  }

  private hasAddresses(hostname: string): boolean {
    return this.addressesFor(hostname).size > 0;
  }

  private async resolveHost(hostname: string): Promise<ResolvedAddress[]> {
    const override = this.options.resolve?.[hostname];
    if (override) return override.map((address) => ({ address: normalise(address), ttl: Infinity }));
    if (net.isIP(hostname)) return [{ address: normalise(hostname), ttl: Infinity }];
    const found = await this.lookup(hostname);
    if (found.length === 0) throw new Error('no addresses');
    return found.map((a) => ({ address: normalise(a.address), ttl: a.ttl }));
  }

  private destIdOf(hostname: string): number {
    let id = this.destIds.get(hostname);
    if (id === undefined) {
      id = this.destIds.size + 1;
      this.destIds.set(hostname, id);
    }
    return id;
  }

  private upsert(spec: DestinationSpec, addr: string, now: number): void {
    const key = `${addr}|${spec.port}`;
    const entry: Entry = { addr, port: spec.port, hostname: spec.hostname, destId: this.destIdOf(spec.hostname), deny: spec.deny === true, seenAt: now };
    const old = this.entries.get(key);
    this.entries.set(key, entry);
    if (!old || old.destId !== entry.destId || old.deny !== entry.deny) {
      this.options.table.setDestination({ addr, port: spec.port, destId: entry.destId, deny: entry.deny });
    }
  }

  /**
   * Removes entries whose spec is gone, and those a newer answer left out more than the grace period
   * ago. Age alone never removes an entry: with DNS unreachable the last good answer stays steered.
   */
  private sweep(now: number): void {
    const wanted = new Set(this.specs.map((s) => `${s.hostname}|${s.port}`));
    for (const [key, e] of this.entries) {
      const superseded = e.seenAt < (this.answeredAt.get(e.hostname) ?? -Infinity);
      const expired = superseded && now - e.seenAt > this.options.graceMs;
      if (!wanted.has(`${e.hostname}|${e.port}`) || expired) {
        this.entries.delete(key);
        this.options.table.deleteDestination({ addr: e.addr, port: e.port });
      }
    }
  }
}

/** v4-mapped text becomes plain IPv4, so one IP has one key. */
function normalise(address: string): string {
  const v4 = unmapV4(address);
  if (v4 !== undefined) return v4;
  if (!net.isIP(address)) throw new Error(`not an IP address: ${address}`);
  return address;
}
