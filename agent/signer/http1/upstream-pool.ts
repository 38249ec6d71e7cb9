/**
 * Kept-alive TLS connections per upstream destination (IP, port, server name): at most `maxSockets`
 * each, reused newest first, requests waiting in order when all are busy. Certificates are verified
 * against the given trust context with the SNI host as the name the certificate must carry.
 */
import tls from 'node:tls';
import { UpstreamConnection, type UpstreamOwner } from './upstream-connection.js';

export interface UpstreamTarget {
  address: string;
  port: number;
  servername: string;
}

interface Destination {
  target: UpstreamTarget;
  all: Set<UpstreamConnection>;
  idle: UpstreamConnection[];
  waiting: Array<{ resolve(c: UpstreamConnection): void; reject(err: Error): void }>;
}

export interface UpstreamPoolOptions {
  trust: tls.SecureContext;
  maxSockets: number;
  timeoutMs: number;
}

export class UpstreamPool implements UpstreamOwner {
  readonly #options: UpstreamPoolOptions;
  readonly #destinations = new Map<string, Destination>();
  readonly #destinationOf = new WeakMap<UpstreamConnection, Destination>();
  #closed = false;

  constructor(options: UpstreamPoolOptions) {
    this.#options = options;
  }

  /** A connection ready for one request to `target` (idle, new, or the next one freed). */
  acquire(target: UpstreamTarget): Promise<UpstreamConnection> {
    if (this.#closed) return Promise.reject(new Error('the upstream pool is closed'));
    const key = `${target.address}|${target.port}|${target.servername}`;
    let d = this.#destinations.get(key);
    if (!d) {
      d = { target, all: new Set(), idle: [], waiting: [] };
      this.#destinations.set(key, d);
    }
    const now = Date.now();
    while (d.idle.length > 0) {
      const conn = d.idle.pop() as UpstreamConnection;
      if (conn.alive && conn.idleUntil > now) return Promise.resolve(conn);
      conn.destroy();
      d.all.delete(conn);
    }
    if (d.all.size < this.#options.maxSockets) return Promise.resolve(this.#connect(d));
    return new Promise((resolve, reject) => d.waiting.push({ resolve, reject }));
  }

  #connect(d: Destination): UpstreamConnection {
    const socket = tls.connect({
      host: d.target.address,
      port: d.target.port,
      servername: d.target.servername,
      secureContext: this.#options.trust,
      rejectUnauthorized: true,
    });
    const conn = new UpstreamConnection(socket, this, this.#options.timeoutMs);
    d.all.add(conn);
    this.#destinationOf.set(conn, d);
    return conn;
  }

  released(conn: UpstreamConnection, reusable: boolean): void {
    const d = this.#destinationOf.get(conn);
    if (!d) return;
    if (reusable && !this.#closed) {
      const next = d.waiting.shift();
      if (next) next.resolve(conn);
      else d.idle.push(conn);
      return;
    }
    d.all.delete(conn);
    const i = d.idle.indexOf(conn);
    if (i !== -1) d.idle.splice(i, 1);
    if (d.waiting.length > 0 && d.all.size < this.#options.maxSockets && !this.#closed) (d.waiting.shift() as { resolve(c: UpstreamConnection): void }).resolve(this.#connect(d));
  }

  /** Closes every connection; waiting requests fail. */
  close(): void {
    this.#closed = true;
    for (const d of this.#destinations.values()) {
      for (const w of d.waiting.splice(0)) w.reject(new Error('the upstream pool is closed'));
      for (const c of d.all) c.destroy();
    }
    this.#destinations.clear();
  }
}
