/**
 * Sends signed requests on to the original destination: TLS to the IP the process dialled, with the
 * SNI host as server name, verifying the certificate against the system store plus an optional
 * extra CA file. One keep-alive pool per destination.
 */
import fs from 'node:fs/promises';
import https from 'node:https';
import type http from 'node:http';
import tls from 'node:tls';
import type { UpstreamSettings } from './config.js';

export interface UpstreamTarget {
  /** The original destination IP from the kernel record. */
  address: string;
  port: number;
  /** The SNI host: TLS server name and the name the certificate must carry. */
  servername: string;
}

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
    const certs = get('system');
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
  readonly #settings: UpstreamSettings;
  readonly #agents = new Map<string, https.Agent>();
  /**
   * The trust roots parsed once. Handing agents `ca` instead would re-parse every root for each new
   * upstream connection and concatenate all the PEM text into the pool key of every request
   * (https.Agent#getName): together about a tenth of the signer's CPU under load.
   */
  readonly #trust: tls.SecureContext;

  private constructor(ca: string[], settings: UpstreamSettings) {
    this.#settings = settings;
    this.#trust = tls.createSecureContext({ ca, minVersion: 'TLSv1.2' });
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

  #agentFor(target: UpstreamTarget): https.Agent {
    const key = `${target.address}|${target.port}|${target.servername}`;
    let agent = this.#agents.get(key);
    if (!agent) {
      agent = new https.Agent({
        keepAlive: true,
        maxSockets: this.#settings.maxSocketsPerDestination,
        secureContext: this.#trust,
        servername: target.servername,
      });
      this.#agents.set(key, agent);
    }
    return agent;
  }

  /** Starts the upstream request; the caller writes the body and handles 'response' and 'error'. */
  request(target: UpstreamTarget, req: UpstreamRequest): http.ClientRequest {
    return https.request({
      host: target.address,
      port: target.port,
      servername: target.servername,
      method: req.method,
      path: req.path,
      headers: req.headers as unknown as http.OutgoingHttpHeaders,
      agent: this.#agentFor(target),
      timeout: this.#settings.timeoutMs,
      rejectUnauthorized: true,
    });
  }

  /** Closes every pooled connection. */
  close(): void {
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
  }
}
