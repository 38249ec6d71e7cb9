/**
 * Test fixtures for the signer: a verifying upstream (an HTTPS server on 127.77.x.y that checks OCI
 * signatures with the stand-ins' strict verifier, test/standins/oci-request-verifier.ts), fakes for the kernel/attestation/DNS/credential
 * ports, and a client agent that dials the signer the way a kernel-redirected connect would.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import https from 'node:https';
import type http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { LocalCa } from '../../../agent/signer/local-ca.js';
import type {
  ConnectionAttributor, ConnectionRecord, CredentialProvider, DestinationIndex, ResolvedWorkload, SessionCredential, WorkloadResolver,
} from '../../../agent/signer/ports.js';
import { AgentError } from '../../../agent/errors.js';
import {
  SignatureRejected, isBodyExcludedOperation, parseSignatureAuthorization, signedRequestOf, verifyBodyHash, verifySignedHeaders,
} from '../../standins/oci-request-verifier.js';

export const OS_HOST = 'objectstorage.us-ashburn-1.oraclecloud.com';

export async function tempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `sigil-test-${prefix}-`));
}

// --- the verifying upstream -------------------------------------------------------------------

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  authorization: string | undefined;
  keyId: string | undefined;
  /** Undefined when the signature verified; else why not. */
  failure: string | undefined;
  bodyBytes: number;
}

/**
 * Verifies a request with the stand-ins' strict verifier (test/standins/oci-request-verifier.ts) and
 * the session key the upstream knows for its keyId; returns why it fails, or undefined.
 */
function verify(req: http.IncomingMessage, keys: ReadonlyMap<string, crypto.KeyObject>, acceptedHosts: readonly string[], body: Buffer): string | undefined {
  try {
    const signed = signedRequestOf(req);
    const { keyId } = parseSignatureAuthorization(req.headers.authorization);
    const key = keys.get(keyId);
    if (!key) return 'unknown keyId';
    const checked = verifySignedHeaders(signed, key, { acceptedHosts });
    if (checked.bodyHashRequired) verifyBodyHash(req.headers, body);
    return undefined;
  } catch (err) {
    if (err instanceof SignatureRejected) return err.reason;
    throw err;
  }
}

function keyIdOf(authorization: string | undefined): string | undefined {
  try {
    return parseSignatureAuthorization(authorization).keyId;
  } catch {
    return /keyId="([^"]*)"/.exec(authorization ?? '')?.[1];
  }
}

/** Host names the upstream answers to (the signer tests steer both to it). */
export const UPSTREAM_HOSTS = [OS_HOST, 'iaas.us-ashburn-1.oraclecloud.com'];

export interface Upstream {
  address: string;
  port: number;
  caFile: string;
  seen: SeenRequest[];
  /** Public keys by keyId the upstream accepts. */
  keys: Map<string, crypto.KeyObject>;
  /** Answers to requests for paths ending in /hold, waiting to be released. */
  held: Array<() => void>;
  close(): Promise<void>;
}

function signsBodyHash(req: http.IncomingMessage): boolean {
  const method = (req.method ?? '').toUpperCase();
  return ['POST', 'PUT', 'PATCH'].includes(method) && !isBodyExcludedOperation(method, req.url ?? '/');
}

/** An Object Storage-like upstream that verifies every request and streams bodies through a hash. */
export async function startUpstream(address: string): Promise<Upstream> {
  const dir = await tempDir('upstream-ca');
  const ca = await LocalCa.open({ stateDir: dir });
  const keys = new Map<string, crypto.KeyObject>();
  const seen: SeenRequest[] = [];
  const objects = new Map<string, string>();
  const held: Array<() => void> = [];
  const server = https.createServer({
    SNICallback: (name, cb) => { ca.secureContextFor(name).then((c) => cb(null, c), (e: Error) => cb(e)); },
  }, (req, res) => {
    const hash = crypto.createHash('sha256');
    let bodyBytes = 0;
    // Bodies up to 1 MiB are kept for the body-hash check; larger ones (uploads) are only hashed.
    const kept: Buffer[] = [];
    req.on('data', (chunk: Buffer) => { hash.update(chunk); bodyBytes += chunk.length; if (bodyBytes <= 1 << 20) kept.push(chunk); });
    req.on('end', () => {
      const bodySha = hash.digest('base64');
      const failure = bodyBytes > 1 << 20 && signsBodyHash(req)
        ? 'signed body larger than the upstream checks'
        : verify(req, keys, UPSTREAM_HOSTS, Buffer.concat(kept));
      const keyId = keyIdOf(req.headers.authorization);
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, authorization: req.headers.authorization, keyId, failure, bodyBytes });
      const json = (status: number, body: unknown, extra: Record<string, string> = {}) => {
        const text = JSON.stringify(body);
        res.writeHead(status, { 'content-type': 'application/json', 'opc-request-id': crypto.randomUUID(), ...extra });
        res.end(text);
      };
      if (failure) return json(401, { code: 'NotAuthenticated', message: 'The required information to complete authentication was not provided or was incorrect.' });
      const url = new URL(req.url ?? '/', 'https://x');
      const m = /^\/n\/([^/]+)\/b\/([^/]+)\/o\/?(.*)$/.exec(url.pathname);
      if (req.method === 'GET' && (url.pathname === '/n' || url.pathname === '/n/')) return json(200, 'testns');
      if (m && req.method === 'PUT') { objects.set(m[3] as string, bodySha); return json(200, {}, { etag: bodySha, 'opc-content-md5': 'x' }); }
      if (m && req.method === 'GET' && m[3] === '') return json(200, { objects: [...objects.keys()].map((name) => ({ name })) });
      if (m && req.method === 'GET') {
        const sha = objects.get(decodeURIComponent(m[3] as string)) ?? objects.get(m[3] as string);
        if (!sha) return json(404, { code: 'ObjectNotFound', message: 'no such object' });
        res.writeHead(200, { 'content-type': 'application/octet-stream', etag: sha, 'x-test-header': 'kept' });
        return res.end(`object ${sha}`);
      }
      if (m && req.method === 'DELETE') { objects.delete(m[3] as string); res.writeHead(204); return res.end(); }
      if (url.pathname.endsWith('/hold')) return void held.push(() => json(200, { held: true }));
      return json(200, { ok: true, path: url.pathname });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    address, port, caFile: ca.exportPath, seen, keys, held,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

// --- fakes for the ports -----------------------------------------------------------------------

/** Attributes connections by the client's source address, the way the kernel would by cookie. */
export class FakeAttributor implements ConnectionAttributor {
  readonly bySource = new Map<string, ConnectionRecord>();
  connectionFor(socket: net.Socket): ConnectionRecord | null {
    return this.bySource.get(socket.remoteAddress ?? '') ?? null;
  }
}

export class FakeResolver implements WorkloadResolver {
  readonly byTgid = new Map<number, ResolvedWorkload>();
  async resolve(rec: ConnectionRecord): Promise<ResolvedWorkload> {
    const w = this.byTgid.get(rec.tgid);
    if (!w) throw new AgentError('SIGIL_ERR_ATTEST_UNBOUND', `process ${rec.tgid} is bound to nothing`);
    return w;
  }
}

export class FakeDestinations implements DestinationIndex {
  readonly byHost = new Map<string, Set<string>>();
  addressesOf(hostname: string): ReadonlySet<string> {
    return this.byHost.get(hostname) ?? new Set();
  }
}

/** Session credentials with real RSA-2048 keys; the upstream learns each public key by keyId. */
export class FakeCredentials implements CredentialProvider {
  readonly creds = new Map<string, SessionCredential>();
  readonly failures = new Map<string, string>();
  readonly tokens: string[] = [];
  readonly privatePems: string[] = [];

  add(bindingId: string, upstream: Upstream): SessionCredential {
    const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const token = `eyJ.fake-upst-${bindingId}-${crypto.randomBytes(12).toString('hex')}`;
    const cred = { keyId: `ST$${token}`, privateKey, expiresAt: new Date(Date.now() + 3600_000) };
    this.creds.set(bindingId, cred);
    this.tokens.push(token);
    this.privatePems.push(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
    upstream.keys.set(cred.keyId, publicKey);
    return cred;
  }

  async get(bindingId: string): Promise<SessionCredential> {
    const why = this.failures.get(bindingId);
    if (why) throw new AgentError('SIGIL_ERR_CRED_EXCHANGE_FAILED', why);
    const c = this.creds.get(bindingId);
    if (!c) throw new AgentError('SIGIL_ERR_CRED_UNKNOWN_BINDING', `no credential for ${bindingId}`);
    return c;
  }
}

// --- clients ----------------------------------------------------------------------------------

/**
 * An https.Agent whose connections go to the signer whatever the URL says, from a chosen source
 * address: what the kernel's connect rewrite does for a steered process.
 */
export class SteeredAgent extends https.Agent {
  constructor(readonly signer: { host: string; port: number }, readonly source: string, options: https.AgentOptions) {
    super({ keepAlive: true, ...options });
  }
  override createConnection(options: tls.ConnectionOptions, cb?: (err: Error | null, s: net.Socket) => void): net.Socket {
    void cb;
    return tls.connect({ ...options, host: this.signer.host, port: this.signer.port, localAddress: this.source } as tls.ConnectionOptions);
  }
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request through an agent; resolves with the whole reply. */
export function request(agent: https.Agent, options: https.RequestOptions & { body?: string | Buffer }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const { body, ...rest } = options;
    const req = https.request({ agent, ...rest } as https.RequestOptions, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
