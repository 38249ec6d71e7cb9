/**
 * A signer under attack: the real SignerServer over real TLS in front of the verifying upstream from
 * the signer's own fixtures, plus raw clients that send exactly the bytes a test chooses and a
 * well-behaved client that keeps being served meanwhile.
 *
 *   const world = await startSignerWorld({ subnet: '127.77.170' });
 *   const bad = world.steer('abuser');             // a steered process with its own binding and credential
 *   const reply = await tlsExchange(world, bad.source, { servername: OS_HOST, send: ['GET / HTTP/1.1\r\n\r\n'] });
 *   world.seenWith(bad.cred)                       // what reached the upstream signed with that credential
 */
import fs from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import { Writable } from 'node:stream';
import { createLogger } from '../../agent/log.js';
import { signerSettings, type SignerLimits } from '../../agent/signer/config.js';
import { LocalCa } from '../../agent/signer/local-ca.js';
import type { SessionCredential } from '../../agent/signer/ports.js';
import { SignerServer } from '../../agent/signer/server.js';
import type { BindingSpec } from '../../protocol/bindings.js';
import {
  FakeAttributor, FakeCredentials, FakeDestinations, FakeResolver, OS_HOST, SteeredAgent, request, startUpstream, tempDir, type Upstream,
} from '../agent/signer/fixtures.js';

export { OS_HOST, request };

export interface Steered {
  source: string;
  tgid: number;
  binding: BindingSpec;
  cred: SessionCredential;
}

export interface SignerWorld {
  signer: SignerServer;
  upstream: Upstream;
  ca: LocalCa;
  signerAddr: string;
  /** Every log line the signer wrote (JSON). */
  logLines: string[];
  credentials: FakeCredentials;
  /** A new steered process (own source address, tgid, binding and credential). */
  steer(bindingId: string, extra?: Partial<BindingSpec>): Steered;
  /** A source address the kernel has no record for (a direct dial). */
  unsteeredSource(): string;
  /** An https.Agent whose connections go to the signer from `source`. */
  agentFor(source: string): SteeredAgent;
  /** What the upstream saw signed with this credential. */
  seenWith(cred: { keyId: string }): Upstream['seen'];
  close(): Promise<void>;
}

export async function startSignerWorld(options: { subnet: string; limits?: Partial<SignerLimits> }): Promise<SignerWorld> {
  const signerAddr = `${options.subnet}.1`;
  const upstream = await startUpstream(`${options.subnet}.2`);
  const stateDir = await tempDir('hardening-signer');
  const ca = await LocalCa.open({ stateDir });
  const attributor = new FakeAttributor();
  const resolver = new FakeResolver();
  const destinations = new FakeDestinations();
  const credentials = new FakeCredentials();
  destinations.byHost.set(OS_HOST, new Set([upstream.address]));
  const logLines: string[] = [];
  const capture = new Writable({ write(chunk: Buffer, _enc, cb) { logLines.push(chunk.toString()); cb(); } });
  const signer = await SignerServer.listen({
    attributor, resolver, destinations, credentials, ca, log: createLogger({ level: 'debug' }, capture), agentId: 'agent-hardening',
    settings: signerSettings({
      listenHosts: [signerAddr],
      limits: { headersTimeoutMs: 2000, handshakeTimeoutMs: 3000, maxHeaderSize: 8192, maxSignedBodyBytes: 64 * 1024, ...options.limits },
      upstream: { caFile: upstream.caFile },
    }),
  });

  let next = 10;
  return {
    signer, upstream, ca, signerAddr, logLines, credentials,
    steer(bindingId, extra = {}) {
      const n = next++;
      if (n > 240) throw new Error('out of source addresses');
      const source = `${options.subnet}.${n}`;
      const tgid = 70_000 + n;
      const binding: BindingSpec = {
        id: bindingId, spiffeId: `spiffe://hardening.test/${bindingId}`, workload: bindingId, selectors: [], destinations: [OS_HOST], ttlSeconds: 900, source: 'oci', ...extra,
      };
      const cred = credentials.add(bindingId, upstream);
      attributor.bySource.set(source, { origAddr: upstream.address, origPort: upstream.port, family: 4, tgid, uid: 1000, startTime: 1n, cookie: BigInt(n) });
      resolver.byTgid.set(tgid, { tgid, exePath: `/usr/bin/hardening-${n}`, exeSha256: 'cd'.repeat(32), spiffeId: binding.spiffeId, bindings: [binding] });
      return { source, tgid, binding, cred };
    },
    unsteeredSource: () => `${options.subnet}.250`,
    agentFor: (source) => new SteeredAgent({ host: signerAddr, port: signer.port }, source, { ca: ca.certPem }),
    seenWith: (cred) => upstream.seen.filter((r) => r.keyId === cred.keyId),
    async close() {
      await signer.close();
      await upstream.close();
      await fs.rm(stateDir, { recursive: true, force: true });
    },
  };
}

export interface Exchange {
  /** The TLS handshake completed. */
  secure: boolean;
  alpn: string | false;
  /** Everything received (latin1, so arbitrary bytes survive). */
  data: string;
  error?: string;
  /** ms from connect to close. */
  elapsedMs: number;
}

export interface ExchangeOptions {
  servername?: string;
  alpn?: string[];
  /** Chunks written after the handshake, `delayMs` apart. */
  send?: Array<string | Buffer>;
  delayMs?: number;
  /** Give up (and destroy) after this long; default 6 s. */
  timeoutMs?: number;
}

/** A raw TLS connection to the signer from `source`; resolves with everything received until close. */
export function tlsExchange(world: SignerWorld, source: string, options: ExchangeOptions): Promise<Exchange> {
  return new Promise((resolve) => {
    const started = performance.now();
    let secure = false;
    let data = '';
    let error: string | undefined;
    const s = tls.connect({
      host: world.signerAddr, port: world.signer.port, localAddress: source, ca: world.ca.certPem,
      ...(options.servername === undefined ? {} : { servername: options.servername }),
      ...(options.alpn ? { ALPNProtocols: options.alpn } : {}),
    } as tls.ConnectionOptions, async () => {
      secure = true;
      for (const chunk of options.send ?? []) {
        if (s.destroyed) return;
        s.write(chunk);
        if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
      }
    });
    s.on('data', (d: Buffer) => { data += d.toString('latin1'); });
    s.on('error', (err) => { error = err.message; });
    s.on('close', () => resolve({ secure, alpn: s.alpnProtocol ?? false, data, elapsedMs: performance.now() - started, ...(error ? { error } : {}) }));
    s.setTimeout(options.timeoutMs ?? 6000, () => s.destroy());
  });
}

/** Plain TCP to the signer port: sends `bytes` (maybe nothing) and collects what comes back until close. */
export function tcpExchange(world: SignerWorld, source: string, bytes: Buffer | undefined, timeoutMs = 6000): Promise<{ data: Buffer; elapsedMs: number; timedOut: boolean }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const chunks: Buffer[] = [];
    let timedOut = false;
    const s = net.connect({ host: world.signerAddr, port: world.signer.port, localAddress: source }, () => {
      if (bytes) s.write(bytes);
    });
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', () => undefined);
    s.on('close', () => resolve({ data: Buffer.concat(chunks), elapsedMs: performance.now() - started, timedOut }));
    s.setTimeout(timeoutMs, () => { timedOut = true; s.destroy(); });
  });
}

/** The status of the first HTTP response in `data`, or undefined when there is none. */
export function firstStatus(data: string): number | undefined {
  const m = /^HTTP\/1\.1 (\d{3}) /.exec(data);
  return m ? Number(m[1]) : undefined;
}

/** The JSON body of the first response (the signer's own errors are small, one per connection). */
export function firstBody(data: string): Record<string, unknown> | undefined {
  const at = data.indexOf('\r\n\r\n');
  if (at < 0) return undefined;
  try {
    return JSON.parse(data.slice(at + 4)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * A well-behaved client on its own steered process that keeps sending GetNamespace through the
 * signer until stopped; stop() resolves with every status it got (a failed request counts as -1).
 */
export function keepServing(world: SignerWorld, good: Steered, options: { pauseMs?: number; atLeast?: number } = {}): { stop(): Promise<number[]> } {
  const { pauseMs = 50, atLeast = 3 } = options;
  const agent = world.agentFor(good.source);
  const statuses: number[] = [];
  let running = true;
  const loop = (async () => {
    // Keeps going until stopped and at least `atLeast` requests are done, so some overlap the attack.
    while (running || statuses.length < atLeast) {
      try {
        statuses.push((await request(agent, { host: OS_HOST, port: world.upstream.port, path: '/n/' })).status);
      } catch {
        statuses.push(-1);
      }
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      agent.destroy();
      return statuses;
    },
  };
}
