import test from 'ava';
import fs from 'node:fs/promises';
import tls from 'node:tls';
import { Writable } from 'node:stream';
import common from 'oci-common';
import * as objectstorage from 'oci-objectstorage';
import { createLogger } from '../../../agent/log.js';
import { signerSettings } from '../../../agent/signer/config.js';
import { LocalCa } from '../../../agent/signer/local-ca.js';
import { writePlaceholderConfig } from '../../../agent/signer/placeholder-config.js';
import type { BindingSpec } from '../../../protocol/bindings.js';
import { SignerServer } from '../../../agent/signer/server.js';
import {
  FakeAttributor, FakeCredentials, FakeDestinations, FakeResolver, OS_HOST, SteeredAgent, request, startUpstream, tempDir, type Upstream,
} from './fixtures.js';

const SIGNER_ADDR = '127.77.41.1';
const UPSTREAM_ADDR = '127.77.41.2';
const MAX_BODY = 64 * 1024;

const logLines: string[] = [];
const capture = new Writable({ write(chunk: Buffer, _enc, cb) { logLines.push(chunk.toString()); cb(); } });

let upstream: Upstream;
let signer: SignerServer;
let ca: LocalCa;
let stateDir: string;
const attributor = new FakeAttributor();
const resolver = new FakeResolver();
const destinations = new FakeDestinations();
const credentials = new FakeCredentials();

function binding(id: string, extra: Partial<BindingSpec> = {}): BindingSpec {
  return { id, spiffeId: `spiffe://test.example/${id}`, workload: id, selectors: [], destinations: [OS_HOST], ttlSeconds: 900, source: 'oci', ...extra };
}

let nextSource = 10;
/** Registers a steered process: its own source address, tgid and bindings. Returns the source. */
function steer(bindings: BindingSpec[], origAddr = UPSTREAM_ADDR): { source: string; tgid: number } {
  const n = nextSource++;
  const source = `127.77.41.${n}`;
  const tgid = 1000 + n;
  attributor.bySource.set(source, { origAddr, origPort: upstream.port, family: 4, tgid, uid: 1000, startTime: 1n, cookie: BigInt(n) });
  resolver.byTgid.set(tgid, { tgid, exePath: `/usr/bin/app${n}`, exeSha256: 'ab'.repeat(32), spiffeId: bindings[0]?.spiffeId ?? 'spiffe://x', bindings });
  return { source, tgid };
}

function agentFor(source: string): SteeredAgent {
  return new SteeredAgent({ host: SIGNER_ADDR, port: signer.port }, source, { ca: ca.certPem });
}

/** What the upstream saw signed with this credential (tests run concurrently). */
function seenWith(cred: { keyId: string }): typeof upstream.seen {
  return upstream.seen.filter((r) => r.keyId === cred.keyId);
}

function auditFor(tgid: number): Array<Record<string, unknown>> {
  return logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e['event'] === 'request' && e['tgid'] === tgid);
}

/** A raw TLS connection to the signer from `source`; resolves with everything received until close. */
function rawExchange(source: string, options: { servername?: string; alpn?: string[]; send?: string[]; sendDelayMs?: number }): Promise<{ secure: boolean; data: string; error?: string }> {
  return new Promise((resolve) => {
    let secure = false;
    let data = '';
    const s = tls.connect({
      host: SIGNER_ADDR, port: signer.port, localAddress: source, ca: ca.certPem,
      ...(options.servername === undefined ? {} : { servername: options.servername }),
      ...(options.alpn ? { ALPNProtocols: options.alpn } : {}),
    } as tls.ConnectionOptions, async () => {
      secure = true;
      for (const chunk of options.send ?? []) {
        s.write(chunk);
        if (options.sendDelayMs) await new Promise((r) => setTimeout(r, options.sendDelayMs));
      }
    });
    s.on('data', (d: Buffer) => { data += d.toString(); });
    s.on('error', (err) => resolve({ secure, data, error: err.message }));
    s.on('close', () => resolve({ secure, data }));
    s.setTimeout(8000, () => s.destroy());
  });
}

test.before(async () => {
  upstream = await startUpstream(UPSTREAM_ADDR);
  stateDir = await tempDir('signer-state');
  ca = await LocalCa.open({ stateDir });
  destinations.byHost.set(OS_HOST, new Set([UPSTREAM_ADDR]));
  destinations.byHost.set('iaas.us-ashburn-1.oraclecloud.com', new Set([UPSTREAM_ADDR]));
  const log = createLogger({ level: 'debug' }, capture);
  signer = await SignerServer.listen({
    attributor, resolver, destinations, credentials, ca, log, agentId: 'agent-test',
    settings: signerSettings({
      listenHosts: [SIGNER_ADDR],
      limits: { maxSignedBodyBytes: MAX_BODY, headersTimeoutMs: 1500, maxHeaderSize: 8192, maxConcurrentPerProcess: 8 },
      upstream: { caFile: upstream.caFile },
    }),
  });
});

test.after.always(async () => {
  await signer?.close();
  await upstream?.close();
  if (stateDir) await fs.rm(stateDir, { recursive: true, force: true });
});

test('the official SDK with a placeholder config calls Object Storage through the signer; upstream sees the session key', async (t) => {
  const b = binding('os-rw');
  const cred = credentials.add(b.id, upstream);
  const { source, tgid } = steer([b]);
  const dir = await tempDir('oci-config');
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }));
  const written = await writePlaceholderConfig({ dir, region: 'us-ashburn-1' });
  const provider = new common.ConfigFileAuthenticationDetailsProvider(written.configPath, 'DEFAULT');
  const agent = agentFor(source);
  t.teardown(() => agent.destroy());
  const client = new objectstorage.ObjectStorageClient({ authenticationDetailsProvider: provider }, { httpOptions: { agent } });
  client.endpoint = `https://${OS_HOST}:${upstream.port}`;

  const ns = await client.getNamespace({});
  t.is(ns.value, 'testns');
  await client.putObject({ namespaceName: 'testns', bucketName: 'bk', objectName: 'hello|world.txt', putObjectBody: 'hello signer', contentLength: 12 });
  const got = await client.getObject({ namespaceName: 'testns', bucketName: 'bk', objectName: 'hello|world.txt' });
  t.truthy(got.eTag);
  const listed = await client.listObjects({ namespaceName: 'testns', bucketName: 'bk' });
  t.true(listed.listObjects.objects.some((o) => o.name === 'hello%7Cworld.txt' || o.name === 'hello|world.txt'));
  await client.deleteObject({ namespaceName: 'testns', bucketName: 'bk', objectName: 'hello|world.txt' });

  const mine = seenWith(cred);
  t.is(mine.length, 5);
  // The SDK's placeholder signature never reached the service: every request it saw is ours.
  t.false(upstream.seen.some((r) => r.keyId?.includes('sigilplaceholder')));
  for (const r of mine) {
    t.is(r.failure, undefined, `${r.method} ${r.url}: ${r.failure}`);
    t.is(r.headers['opc-obo-token'], undefined);
  }
  t.deepEqual(mine.map((r) => r.method), ['GET', 'PUT', 'GET', 'GET', 'DELETE']);

  const events = auditFor(tgid);
  t.is(events.length, 5);
  for (const e of events) {
    t.like(e, { agentId: 'agent-test', spiffeId: b.spiffeId, binding: 'os-rw', exePath: `/usr/bin/app${tgid - 1000}`, exeSha256: 'ab'.repeat(32), host: OS_HOST });
    t.is(typeof e['latencyMs'], 'number');
    t.regex(String(e['time']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'ISO 8601 time');
  }
  t.deepEqual(events.map((e) => e['status']), [200, 200, 200, 200, 204]);
});

test('the client\'s own Authorization, dates and obo token are replaced; response headers come back unchanged', async (t) => {
  const b = binding('os-replace');
  const cred = credentials.add(b.id, upstream);
  const { source } = steer([b]);
  const agent = agentFor(source);
  t.teardown(() => agent.destroy());
  await request(agent, { host: OS_HOST, port: upstream.port, method: 'PUT', path: '/n/testns/b/bk/o/a.txt', headers: { 'content-type': 'text/plain' }, body: 'abc' });
  const reply = await request(agent, {
    host: OS_HOST, port: upstream.port, method: 'GET', path: '/n/testns/b/bk/o/a.txt',
    headers: { authorization: 'Signature version="1",keyId="evil/evil/evil",algorithm="rsa-sha256",headers="host",signature="AAAA"', 'x-date': 'Thu, 01 Jan 1970 00:00:00 GMT', date: 'Thu, 01 Jan 1970 00:00:00 GMT', 'opc-obo-token': 'stolen' },
  });
  t.is(reply.status, 200);
  t.is(reply.headers['x-test-header'], 'kept');
  t.regex(reply.body, /^object /);
  const seen = seenWith(cred)[1];
  t.is(seen?.method, 'GET');
  t.is(seen?.failure, undefined);
  t.false(upstream.seen.some((r) => r.keyId === 'evil/evil/evil'));
  t.is(seen?.headers['opc-obo-token'], undefined);
  t.not(seen?.headers['x-date'], 'Thu, 01 Jan 1970 00:00:00 GMT');
  t.is(seen?.headers['date'], undefined);
});

test('a signed JSON body is hashed and signed with content headers', async (t) => {
  const b = binding('os-post');
  const cred = credentials.add(b.id, upstream);
  const { source } = steer([b]);
  const agent = agentFor(source);
  t.teardown(() => agent.destroy());
  const body = JSON.stringify({ name: 'bucket-é', compartmentId: 'ocid1.compartment.oc1..x' });
  const reply = await request(agent, { host: OS_HOST, port: upstream.port, method: 'POST', path: '/n/testns/b/?x=%7C|', headers: { 'transfer-encoding': 'chunked', 'x-content-sha256': 'forged' }, body });
  t.is(reply.status, 200, reply.body);
  const seen = seenWith(cred)[0];
  t.is(seen?.failure, undefined);
  t.is(seen?.headers['content-length'], String(Buffer.byteLength(body)));
  t.is(seen?.headers['content-type'], 'application/json');
  t.regex(seen?.authorization ?? '', /headers="x-date \(request-target\) host content-type content-length x-content-sha256"/);
});

test('a connection the kernel has no record of is closed before TLS', async (t) => {
  const r = await rawExchange('127.77.41.250', { servername: OS_HOST });
  t.false(r.secure);
  t.is(r.data, '');
  // The log line may land just after the close: waited for, deadline 5 s.
  const deadline = Date.now() + 5_000;
  while (!logLines.some((l) => l.includes('SIGIL_ERR_SIGNER_UNATTRIBUTED')) && Date.now() < deadline) await new Promise((r2) => setTimeout(r2, 20));
  t.true(logLines.some((l) => l.includes('SIGIL_ERR_SIGNER_UNATTRIBUTED')));
});

test('an unbound process is relayed unchanged to the destination it dialled: TLS with the real server, nothing signed', async (t) => {
  const { source, tgid } = steer([binding('x')]);
  resolver.byTgid.delete(tgid);
  const upstreamCa = await fs.readFile(upstream.caFile, 'utf8');
  const r = await new Promise<{ secure: boolean; data: string; error?: string }>((resolve) => {
    let secure = false;
    let data = '';
    // Trusting only the upstream's CA: the handshake succeeds only with the real server, not the signer.
    const s = tls.connect({ host: SIGNER_ADDR, port: signer.port, localAddress: source, ca: upstreamCa, servername: OS_HOST } as tls.ConnectionOptions, () => {
      secure = true;
      s.write(`GET /n/ HTTP/1.1\r\nHost: ${OS_HOST}\r\nConnection: close\r\n\r\n`);
    });
    s.on('data', (d: Buffer) => { data += d.toString(); });
    s.on('error', (err) => resolve({ secure, data, error: err.message }));
    s.on('close', () => resolve({ secure, data }));
    s.setTimeout(8000, () => s.destroy());
  });
  t.true(r.secure, r.error);
  t.regex(r.data, /^HTTP\/1\.1 401/, 'the server saw the request exactly as sent: unsigned');
  t.true(logLines.some((l) => l.includes('SIGIL_ERR_ATTEST_UNBOUND') && l.includes('relayed unchanged')));
});

test('the handshake fails for an SNI outside the bindings, one not resolving to the dialled IP, or none', async (t) => {
  const b = binding('os-sni');
  credentials.add(b.id, upstream);
  const { source } = steer([b]);
  const other = await rawExchange(source, { servername: 'iaas.us-ashburn-1.oraclecloud.com' });
  t.false(other.secure);
  const none = await rawExchange(source, {});
  t.false(none.secure);
  const { source: wrongIp } = steer([b], '127.77.41.99');
  const moved = await rawExchange(wrongIp, { servername: OS_HOST });
  t.false(moved.secure);
  const h2only = await rawExchange(source, { servername: OS_HOST, alpn: ['h2'] });
  t.false(h2only.secure);
  const ok = await rawExchange(source, { servername: OS_HOST, alpn: ['h2', 'http/1.1'], send: [`GET /n/ HTTP/1.1\r\nHost: ${OS_HOST}:${upstream.port}\r\nConnection: close\r\n\r\n`] });
  t.true(ok.secure);
  t.regex(ok.data, /^HTTP\/1.1 200/);
});

test('Host different from the SNI gets 421 in OCI error shape', async (t) => {
  const b = binding('os-421', { destinations: [OS_HOST, 'iaas.us-ashburn-1.oraclecloud.com'] });
  const cred = credentials.add(b.id, upstream);
  const { source, tgid } = steer([b]);
  const agent = agentFor(source);
  t.teardown(() => agent.destroy());
  const reply = await request(agent, { host: OS_HOST, servername: OS_HOST, port: upstream.port, path: '/n/', headers: { host: 'iaas.us-ashburn-1.oraclecloud.com' } });
  t.is(reply.status, 421);
  t.like(JSON.parse(reply.body), { code: 'Misdirected' });
  t.regex(reply.body, /SIGIL_ERR_SIGNER_MISDIRECTED/);
  const wrongPort = await request(agent, { host: OS_HOST, port: upstream.port, path: '/n/', headers: { host: `${OS_HOST}:1` } });
  t.is(wrongPort.status, 421);
  t.is(seenWith(cred).length, 0);
  t.deepEqual(auditFor(tgid).map((e) => e['status']), [421, 421]);
});

test('a chunked PutObject (body not signed) gets 411 before anything is forwarded; with its length it passes', async (t) => {
  const b = binding('os-411');
  const cred = credentials.add(b.id, upstream);
  const { source } = steer([b]);
  const agent = agentFor(source);
  t.teardown(() => agent.destroy());
  const chunked = await request(agent, { host: OS_HOST, port: upstream.port, method: 'PUT', path: '/n/testns/b/bk/o/chunked.bin', headers: { 'transfer-encoding': 'chunked' }, body: 'abc' });
  t.is(chunked.status, 411);
  t.like(JSON.parse(chunked.body), { code: 'LengthRequired' });
  t.is(seenWith(cred).length, 0, 'nothing reached the upstream');
  const sized = await request(agent, { host: OS_HOST, port: upstream.port, method: 'PUT', path: '/n/testns/b/bk/o/sized.bin', headers: { 'content-length': '3' }, body: 'abc' });
  t.is(sized.status, 200, sized.body);
  t.is(seenWith(cred)[0]?.failure, undefined);
});

test('a method the binding does not allow gets 403; allowed ones pass', async (t) => {
  const b = binding('os-ro', { methods: ['GET', 'HEAD'] });
  const cred = credentials.add(b.id, upstream);
  const { source, tgid } = steer([b]);
  const agent = agentFor(source);
  t.teardown(() => agent.destroy());
  const del = await request(agent, { host: OS_HOST, port: upstream.port, method: 'DELETE', path: '/n/testns/b/bk/o/x' });
  t.is(del.status, 403);
  t.like(JSON.parse(del.body), { code: 'NotAllowed' });
  t.regex(JSON.parse(del.body).message as string, /no binding allowing DELETE/);
  const get = await request(agent, { host: OS_HOST, port: upstream.port, method: 'GET', path: '/n/' });
  t.is(get.status, 200);
  t.deepEqual(seenWith(cred).map((r) => r.method), ['GET']);
  t.deepEqual(auditFor(tgid).map((e) => [e['status'], e['binding']]), [[403, undefined], [200, 'os-ro']]);
});

test('a signed body over the limit gets 413, declared or streamed', async (t) => {
  const b = binding('os-413');
  const cred = credentials.add(b.id, upstream);
  const { source } = steer([b]);
  const agent = agentFor(source);
  t.teardown(() => agent.destroy());
  const big = 'x'.repeat(MAX_BODY + 1);
  const declared = await request(agent, { host: OS_HOST, port: upstream.port, method: 'POST', path: '/20160918/things', headers: { 'content-type': 'application/json' }, body: big });
  t.is(declared.status, 413);
  t.like(JSON.parse(declared.body), { code: 'PayloadTooLarge' });
  const chunked = await request(agent, { host: OS_HOST, port: upstream.port, method: 'POST', path: '/20160918/things', headers: { 'transfer-encoding': 'chunked' }, body: big });
  t.is(chunked.status, 413);
  t.is(seenWith(cred).length, 0);
});

test('a credential the provider cannot give yields 503 with its reason', async (t) => {
  const b = binding('os-broken');
  credentials.failures.set(b.id, 'token exchange refused: trust not configured');
  const { source } = steer([b]);
  const agent = agentFor(source);
  t.teardown(() => agent.destroy());
  const reply = await request(agent, { host: OS_HOST, port: upstream.port, path: '/n/' });
  t.is(reply.status, 503);
  const body = JSON.parse(reply.body) as { code: string; message: string };
  t.is(body.code, 'CredentialUnavailable');
  t.regex(body.message, /trust not configured/);
});

test('malformed requests, oversized headers, smuggling forms and slow clients get errors while another client is served', async (t) => {
  const b = binding('os-abuse');
  credentials.add(b.id, upstream);
  const { source } = steer([b]);
  const { source: good } = steer([b]);
  const agent = agentFor(good);
  t.teardown(() => agent.destroy());
  const hostLine = `Host: ${OS_HOST}:${upstream.port}\r\n`;
  const served = (async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      statuses.push((await request(agent, { host: OS_HOST, port: upstream.port, path: '/n/' })).status);
      await new Promise((r) => setTimeout(r, 150));
    }
    return statuses;
  })();
  const [garbage, huge, smuggle, slow, absolute] = await Promise.all([
    rawExchange(source, { servername: OS_HOST, send: ['GET /n/ HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'] }),
    rawExchange(source, { servername: OS_HOST, send: [`GET /n/ HTTP/1.1\r\n${hostLine}X-Big: ${'a'.repeat(10_000)}\r\n\r\n`] }),
    rawExchange(source, { servername: OS_HOST, send: [`POST /n/ HTTP/1.1\r\n${hostLine}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`] }),
    rawExchange(source, { servername: OS_HOST, send: ['GET /n/ HTTP/1.1\r\n', 'Host: x'], sendDelayMs: 100 }),
    rawExchange(source, { servername: OS_HOST, send: [`GET https://${OS_HOST}/n/ HTTP/1.1\r\n${hostLine}Connection: close\r\n\r\n`] }),
  ]);
  t.regex(garbage.data, /^HTTP\/1.1 400/);
  t.regex(huge.data, /^HTTP\/1.1 431/);
  t.regex(smuggle.data, /^HTTP\/1.1 400/);
  t.regex(slow.data, /^HTTP\/1.1 408/); // headersTimeout, well before the client's own 8 s give-up
  t.true(slow.secure);
  t.regex(absolute.data, /^HTTP\/1.1 400/);
  t.deepEqual(await served, [200, 200, 200, 200, 200, 200]);
});

test('requests over the per-process concurrency limit get 429 while the others are served', async (t) => {
  const b = binding('os-429');
  const cred = credentials.add(b.id, upstream);
  const { source } = steer([b]);
  const agent = new SteeredAgent({ host: SIGNER_ADDR, port: signer.port }, source, { ca: ca.certPem, maxSockets: 20 });
  t.teardown(() => agent.destroy());
  const early: number[] = [];
  const replies = Array.from({ length: 10 }, () => request(agent, { host: OS_HOST, port: upstream.port, path: '/20160918/hold' }).then((r) => {
    early.push(r.status);
    return r;
  }));
  // Eight reach the upstream and wait there; the ninth and tenth are refused by the signer. Both
  // awaited as events before a generous deadline, while the eight are still held.
  const deadline = Date.now() + 20_000;
  while ((seenWith(cred).length < 8 || early.length < 2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.is(seenWith(cred).length, 8, 'eight requests reached the upstream before the deadline');
  t.deepEqual(early, [429, 429], 'only the two over the limit were answered while eight were held');
  for (const release of upstream.held.splice(0)) release();
  const statuses = (await Promise.all(replies)).map((r) => r.status).sort();
  t.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 200, 200, 429, 429]);
  t.is(seenWith(cred).length, 8);
});

/** A TLS connection to `port` from `source`, held open; `secure` false when the signer closed it first. */
function holdTls(port: number, source: string): Promise<{ secure: boolean; socket: tls.TLSSocket }> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: SIGNER_ADDR, port, localAddress: source, ca: ca.certPem, servername: OS_HOST } as tls.ConnectionOptions, () => resolve({ secure: true, socket }));
    socket.on('error', () => resolve({ secure: false, socket }));
    socket.on('close', () => resolve({ secure: false, socket }));
  });
}

test('connections over the per-process limit are closed before TLS; other processes are served, and a closed one frees its place', async (t) => {
  const lines: string[] = [];
  const small = await SignerServer.listen({
    attributor, resolver, destinations, credentials, ca, agentId: 'agent-test',
    log: createLogger({ level: 'info' }, new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(chunk.toString()); cb(); } })),
    settings: signerSettings({ listenHosts: [SIGNER_ADDR], limits: { maxConnectionsPerProcess: 2 }, upstream: { caFile: upstream.caFile } }),
  });
  t.teardown(() => small.close());
  const b = binding('os-conns');
  credentials.add(b.id, upstream);
  const one = steer([b]);
  const other = steer([b]);
  const held = [await holdTls(small.port, one.source), await holdTls(small.port, one.source)];
  t.deepEqual(held.map((h) => h.secure), [true, true]);
  const third = await holdTls(small.port, one.source);
  t.false(third.secure, 'a third connection of the same process is closed');
  const deadline = Date.now() + 5_000;
  while (!lines.some((l) => l.includes('SIGIL_ERR_SIGNER_TOO_MANY_CONNECTIONS')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.true(lines.some((l) => l.includes('SIGIL_ERR_SIGNER_TOO_MANY_CONNECTIONS') && l.includes(`"tgid":${one.tgid}`)));
  const another = await holdTls(small.port, other.source);
  t.true(another.secure, 'another process is served meanwhile');
  // One of the two closes: its place is free again (the count follows the socket's close).
  await new Promise<void>((resolve) => { held[0]!.socket.once('close', () => resolve()); held[0]!.socket.destroy(); });
  let again = { secure: false } as { secure: boolean; socket?: tls.TLSSocket };
  for (const until = Date.now() + 5_000; !again.secure && Date.now() < until;) {
    again = await holdTls(small.port, one.source);
    if (!again.secure) await new Promise((r) => setTimeout(r, 50));
  }
  t.true(again.secure, 'a new connection after one closed');
  for (const h of [...held, another, again]) h.socket?.destroy();
});

test.after('the captured log holds no token, key or signature', (t) => {
  const text = logLines.join('');
  t.true(logLines.length > 20);
  for (const token of credentials.tokens) t.false(text.includes(token), 'token leaked');
  for (const pem of credentials.privatePems) t.false(text.includes(pem.split('\n')[1] as string), 'key leaked');
  for (const r of upstream.seen) {
    const sig = /signature="([^"]+)"/.exec(r.authorization ?? '')?.[1];
    if (sig) t.false(text.includes(sig), 'signature leaked');
  }
  t.false(text.includes('ST$'));
  t.false(/Signature version/.test(text));
});

// A resumed TLS session never reaches SNICallback (OpenSSL asks for no certificate); Node's https.Agent
// resumes by default, so every connection after a client's first one takes this path.
interface RawAnswer { text: string; reused: boolean; session: Buffer | undefined }
function rawGet(source: string, session?: Buffer): Promise<RawAnswer> {
  return new Promise((resolve) => {
    let text = '';
    let reused = false;
    let ticket: Buffer | undefined;
    const s = tls.connect({ host: SIGNER_ADDR, port: signer.port, localAddress: source, ca: ca.certPem, servername: OS_HOST, ...(session ? { session } : {}) } as tls.ConnectionOptions, () => {
      reused = s.isSessionReused();
      s.write(`GET /n/ HTTP/1.1\r\nhost: ${OS_HOST}\r\nconnection: close\r\n\r\n`);
    });
    s.on('session', (t: Buffer) => { ticket = t; });
    s.on('data', (d: Buffer) => { text += d.toString(); });
    s.on('error', () => undefined);
    s.on('close', () => resolve({ text, reused, session: ticket }));
  });
}

test('a resumed TLS session is served, and checked against the caller\'s bindings like a fresh one', async (t) => {
  const b = binding('os-resumed');
  const cred = credentials.add(b.id, upstream);
  const { source } = steer([b]);
  const first = await rawGet(source);
  t.regex(first.text, /^HTTP\/1\.1 200 /);
  t.truthy(first.session);
  const resumed = await rawGet(source, first.session);
  t.true(resumed.reused, 'the second connection resumed the first one\'s session');
  t.regex(resumed.text, /^HTTP\/1\.1 200 /);
  t.is(seenWith(cred).length, 2);

  // The same session offered by a process whose bindings do not include the host gets no answer.
  const other = steer([binding('iaas-only', { destinations: ['iaas.us-ashburn-1.oraclecloud.com'] })]);
  t.is((await rawGet(other.source, first.session)).text, '');
  t.is(seenWith(cred).length, 2);
});
