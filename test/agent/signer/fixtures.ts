/**
 * Test fixtures for the signer: a verifying upstream (an HTTPS server on 127.77.x.y that checks OCI
 * signatures with its own, independent parsing), fakes for the kernel/attestation/DNS/credential
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

const UNSIGNED_BODY = [/^PUT \/n\/[^/]+\/b\/[^/]+\/[ou]\/./, /^POST \/streams\/[^/]+\/messages$/];

/** Parses `Signature a="b",c="d"` as a set of parameters (any order). */
function parseSignature(value: string): Map<string, string> | undefined {
  if (!value.startsWith('Signature ')) return undefined;
  const params = new Map<string, string>();
  for (const m of value.slice(10).matchAll(/([a-zA-Z]+)="([^"]*)"/g)) params.set(m[1] as string, m[2] as string);
  return params;
}

/** Verifies a request as OCI does; returns why it fails, or undefined. */
function verify(req: http.IncomingMessage, keys: ReadonlyMap<string, crypto.KeyObject>, bodySha: string, bodyBytes: number): string | undefined {
  const auth = parseSignature(req.headers.authorization ?? '');
  if (!auth) return 'no Signature authorization';
  if (auth.get('version') !== '1' || auth.get('algorithm') !== 'rsa-sha256') return 'bad version/algorithm';
  const key = keys.get(auth.get('keyId') ?? '');
  if (!key) return `unknown keyId`;
  const names = (auth.get('headers') ?? '').toLowerCase().split(' ');
  const method = req.method ?? '';
  const pathOnly = (req.url ?? '').split('?')[0];
  const dateName = names.includes('x-date') ? 'x-date' : 'date';
  const required = ['(request-target)', 'host', dateName];
  const bodySigned = ['POST', 'PUT', 'PATCH'].includes(method) && !UNSIGNED_BODY.some((re) => re.test(`${method} ${pathOnly}`));
  if (bodySigned) required.push('x-content-sha256', 'content-type', 'content-length');
  for (const r of required) if (!names.includes(r)) return `missing signed header ${r}`;
  const when = Date.parse(String(req.headers[dateName] ?? ''));
  if (!(Math.abs(Date.now() - when) <= 300_000)) return 'clock skew';
  if (bodySigned && (req.headers['x-content-sha256'] !== bodySha || Number(req.headers['content-length']) !== bodyBytes)) return 'body hash/length mismatch';
  const lines = names.map((n) => (n === '(request-target)' ? `${n}: ${method.toLowerCase()} ${req.url}` : `${n}: ${String(req.headers[n] ?? '')}`));
  const ok = crypto.verify('sha256', Buffer.from(lines.join('\n')), key, Buffer.from(auth.get('signature') ?? '', 'base64'));
  return ok ? undefined : 'signature does not verify';
}

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
    req.on('data', (chunk: Buffer) => { hash.update(chunk); bodyBytes += chunk.length; });
    req.on('end', () => {
      const bodySha = hash.digest('base64');
      const failure = verify(req, keys, bodySha, bodyBytes);
      const keyId = parseSignature(req.headers.authorization ?? '')?.get('keyId');
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
