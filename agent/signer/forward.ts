/**
 * Sends signed requests on to the original destination: TLS to the IP the process dialled, with the
 * SNI host as server name, verifying the certificate against the system store plus an optional
 * extra CA file. One keep-alive pool per destination (http1/upstream-pool.ts), no node:https.
 */
import fs from 'node:fs/promises';
import tls from 'node:tls';
import type { UpstreamSettings } from './config.js';
import type { UpstreamConnection } from './http1/index.js';
import { UpstreamPool, type UpstreamTarget } from './http1/index.js';

export type { UpstreamTarget };

export interface UpstreamRequest {
  method: string;
  /** Request target exactly as signed. */
  path: string;
  /** Raw header list `[name, value, name, value, …]`, order kept. */
  headers: string[];
}

const SYSTEM_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt', // Debian, Ubuntu
  '/etc/pki/tls/certs/ca-bundle.crt', // Fedora, RHEL, Oracle Linux
  '/etc/ssl/ca-bundle.pem', // SUSE
  '/etc/ssl/cert.pem', // Alpine
];

/** The host's trust store: Node's own reader where it has one, else the distribution bundle. */
async function systemCaCertificates(): Promise<string[]> {
  const get = (tls as unknown as { getCACertificates?: (kind: string) => string[] }).getCACertificates;
  if (typeof get === 'function') {
    // Distinct roots only: on Debian it lists each root once per place it finds it (four times here),
    // and every copy is parsed into the trust context (4.4 MB against 2.5 MB).
    const certs = [...new Set(get('system'))];
    if (certs.length > 0) return certs;
  }
  for (const file of SYSTEM_BUNDLES) {
    try {
      return [await fs.readFile(file, 'utf8')];
    } catch {
      // try the next distribution's location
    }
  }
  return [...tls.rootCertificates];
}

export class Forwarder {
  readonly #pool: UpstreamPool;

  private constructor(ca: string[], settings: UpstreamSettings) {
    // The trust roots parsed once, for every upstream connection.
    const trust = tls.createSecureContext({ ca, minVersion: 'TLSv1.2' });
    this.#pool = new UpstreamPool({ trust, maxSockets: settings.maxSocketsPerDestination, timeoutMs: settings.timeoutMs });
  }

  /** Reads the trust roots once; a missing or unreadable `caFile` is an error naming the file. */
  static async create(settings: UpstreamSettings): Promise<Forwarder> {
    // A copy: Node 22+ returns tls.getCACertificates() frozen.
    const ca = [...(await systemCaCertificates())];
    if (settings.caFile !== undefined) {
      try {
        ca.push(await fs.readFile(settings.caFile, 'utf8'));
      } catch (err) {
        throw new Error(`upstream.caFile ${settings.caFile}: ${(err as Error).message}`, { cause: err });
      }
    }
    return new Forwarder(ca, settings);
  }

  /** A kept-alive connection to the destination, ready for one request. */
  connection(target: UpstreamTarget): Promise<UpstreamConnection> {
    return this.#pool.acquire(target);
  }

  /** Gives back a connection that was not used after all. */
  giveBack(conn: UpstreamConnection): void {
    this.#pool.released(conn, conn.alive);
  }

  /** Closes every pooled connection. */
  close(): void {
    this.#pool.close();
  }
}

/** The request head as sent upstream: request line, the header fields in order, the empty line. */
export function requestHead(req: UpstreamRequest): string {
  let text = `${req.method} ${req.path} HTTP/1.1\r\n`;
  const h = req.headers;
  for (let i = 0; i + 1 < h.length; i += 2) text += `${h[i]}: ${h[i + 1]}\r\n`;
  return `${text}\r\n`;
}
