import dns from 'node:dns';
import net from 'node:net';
import { SteeringError, SteeringErrorCode } from './errors.js';

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
  private readonly options: Required<Omit<ResolverOptions, 'resolve' | 'lookup'>> & Pick<ResolverOptions, 'resolve'>;
  private readonly lookup: Lookup;
  private specs: DestinationSpec[] = [];
  private readonly destIds = new Map<string, number>();
  private readonly entries = new Map<string, Entry>();
  private readonly nextRefresh = new Map<string, number>();
  /** When each hostname last resolved successfully: entries older than that answer are superseded. */
  private readonly answeredAt = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(options: ResolverOptions) {
    this.options = {
      table: options.table,
      resolve: options.resolve,
      graceMs: options.graceMs ?? 5 * 60_000,
      minTtlMs: options.minTtlMs ?? 5_000,
      maxTtlMs: options.maxTtlMs ?? 3_600_000,
      now: options.now ?? Date.now,
    };
    this.lookup = options.lookup ?? dnsLookup;
  }

  /** Replaces the destination set and resolves it now. Rejects only if a hostname never resolved. */
  async setDestinations(specs: DestinationSpec[]): Promise<void> {
    for (const s of specs) {
      if (!Number.isInteger(s.port) || s.port < 1 || s.port > 65535) throw new TypeError(`destination ${s.hostname}: bad port ${s.port}`);
    }
    this.specs = specs.map((s) => ({ ...s, hostname: s.hostname.toLowerCase() }));
    this.nextRefresh.clear();
    const wanted = new Set(this.specs.map((s) => s.hostname));
    for (const host of this.answeredAt.keys()) if (!wanted.has(host)) this.answeredAt.delete(host);
    await this.refresh({ force: true });
  }

  /** Re-resolves hostnames that are due (all with force) and drops superseded addresses past their grace. */
  async refresh({ force = false }: { force?: boolean } = {}): Promise<void> {
    const now = this.options.now();
    const hostnames = [...new Set(this.specs.map((s) => s.hostname))];
    const failures: string[] = [];
    await Promise.all(hostnames.map(async (hostname) => {
      if (!force && (this.nextRefresh.get(hostname) ?? 0) > now) return;
      try {
        const addresses = await this.resolveHost(hostname);
        this.nextRefresh.set(hostname, now + this.refreshAfterMs(addresses));
        this.answeredAt.set(hostname, now);
        for (const spec of this.specs.filter((s) => s.hostname === hostname)) {
          for (const { address } of addresses) this.upsert(spec, address, now);
        }
      } catch (err) {
        // The last good addresses stay (sweep only drops what a newer answer left out); try again soon.
        failures.push(`${hostname}: ${(err as Error).message}`);
        this.nextRefresh.set(hostname, now + this.options.minTtlMs);
      }
    }));
    this.sweep(now);
    const unresolved = failures.filter((f) => !this.hasAddresses(f.slice(0, f.indexOf(':'))));
    if (unresolved.length > 0) {
      throw new SteeringError(SteeringErrorCode.Resolve, `cannot resolve ${unresolved.join('; ')}`);
    }
  }

  /** Re-resolves on a timer until stop() or the signal fires; errors go to onError. */
  start(options: { intervalMs?: number; signal?: AbortSignal; onError?: (err: unknown) => void } = {}): void {
    this.stop();
    this.timer = setInterval(() => { this.refresh().catch((err: unknown) => options.onError?.(err)); }, options.intervalMs ?? 1_000);
    this.timer.unref();
    options.signal?.addEventListener('abort', () => this.stop(), { once: true });
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
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (!net.isIP(address)) throw new Error(`not an IP address: ${address}`);
  return address;
}
