/**
 * The signer's upstream client against an upstream that frames its answers every way HTTP/1.1
 * allows (a raw TLS server writing exact bytes): chunked with a trailer, until close, a 1xx before
 * the answer, 204, HEAD, and a smuggling-shaped response. The client must get each body whole, and
 * the upstream connection is reused only after a response that ended cleanly on a persistent one.
 */
import test from 'ava';
import fs from 'node:fs/promises';
import type net from 'node:net';
import tls from 'node:tls';
import { createLogger } from '../../../agent/log.js';
import { signerSettings } from '../../../agent/signer/config.js';
import { LocalCa } from '../../../agent/signer/local-ca.js';
import { SignerServer } from '../../../agent/signer/server.js';
import {
  FakeAttributor, FakeCredentials, FakeDestinations, FakeResolver, OS_HOST, SteeredAgent, request, tempDir, type Upstream,
} from './fixtures.js';

const SIGNER_ADDR = '127.77.44.1';
const UPSTREAM_ADDR = '127.77.44.2';
const SOURCE = '127.77.44.10';

/** What the raw upstream answers, by request path. */
const ANSWERS: Record<string, string> = {
  '/chunked': 'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nx-trailer: t\r\n\r\n',
  '/early-hints': 'HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok',
  '/no-content': 'HTTP/1.1 204 No Content\r\nopc-request-id: up-204\r\n\r\n',
  '/sized': 'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n',
  '/smuggle': 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\nok',
};
const CLOSE_DELIMITED = 'HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end';

let signer: SignerServer;
let server: tls.Server;
let stateDir: string;
let caDir: string;
let ca: LocalCa;
/** Every upstream connection the signer opened, and the request lines seen on each. */
const connections: string[][] = [];

test.before(async () => {
  caDir = await tempDir('framing-upstream-ca');
  const upstreamCa = await LocalCa.open({ stateDir: caDir });
  server = tls.createServer({ SNICallback: (name, cb) => { upstreamCa.secureContextFor(name).then((c) => cb(null, c), (e: Error) => cb(e)); } }, (socket) => {
    const lines: string[] = [];
    connections.push(lines);
    let pending = '';
    socket.on('data', (d: Buffer) => {
      pending += d.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end !== -1; end = pending.indexOf('\r\n\r\n')) {
        const head = pending.slice(0, end);
        pending = pending.slice(end + 4);
        const line = head.slice(0, head.indexOf('\r\n'));
        lines.push(line);
        const path = line.split(' ')[1] ?? '';
        if (path === '/close-delimited') {
          socket.end(CLOSE_DELIMITED);
          return;
        }
        socket.write(ANSWERS[path] ?? 'HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, UPSTREAM_ADDR, resolve));
  const port = (server.address() as net.AddressInfo).port;
  stateDir = await tempDir('framing-signer');
  ca = await LocalCa.open({ stateDir });
  const attributor = new FakeAttributor();
  const resolver = new FakeResolver();
  const destinations = new FakeDestinations();
  const credentials = new FakeCredentials();
  destinations.byHost.set(OS_HOST, new Set([UPSTREAM_ADDR]));
  const b = { id: 'framing', spiffeId: 'spiffe://test.example/framing', workload: 'framing', selectors: [], destinations: [OS_HOST], ttlSeconds: 900, source: 'oci' };
  credentials.add(b.id, { keys: new Map() } as unknown as Upstream);
  attributor.bySource.set(SOURCE, { origAddr: UPSTREAM_ADDR, origPort: port, family: 4, tgid: 4343, uid: 0, startTime: 1n, cookie: 1n });
  resolver.byTgid.set(4343, { tgid: 4343, exePath: '/usr/bin/framing', exeSha256: 'cd'.repeat(32), spiffeId: b.spiffeId, bindings: [b] });
  signer = await SignerServer.listen({
    attributor, resolver, destinations, credentials, ca, log: createLogger({ level: 'warn' }), agentId: 'agent-framing',
    settings: signerSettings({ listenHosts: [SIGNER_ADDR], upstream: { caFile: upstreamCa.exportPath } }),
  });
});

test.after.always(async () => {
  await signer?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  for (const d of [stateDir, caDir]) if (d) await fs.rm(d, { recursive: true, force: true });
});

test.serial('every framing reaches the client whole; reuse only after a clean end on a persistent connection', async (t) => {
  const agent = new SteeredAgent({ host: SIGNER_ADDR, port: signer.port }, SOURCE, { ca: ca.certPem, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const port = (server.address() as net.AddressInfo).port;
  const get = (path: string, method = 'GET') => request(agent, { host: OS_HOST, port, path, method });

  const chunked = await get('/chunked');
  t.is(chunked.status, 200);
  t.is(chunked.body, 'hello world', 'chunked body decoded and sent on whole');
  t.is(chunked.headers['transfer-encoding'], 'chunked');
  const hints = await get('/early-hints');
  t.is(hints.status, 200, 'the 103 before the answer is skipped');
  t.is(hints.body, 'ok');
  const noContent = await get('/no-content');
  t.is(noContent.status, 204);
  t.is(noContent.body, '');
  const head = await get('/sized', 'HEAD');
  t.is(head.status, 200);
  t.is(head.headers['content-length'], '100', 'a HEAD answer keeps its Content-Length and has no body');
  t.deepEqual(connections.map((c) => c.length), [4], 'four requests on one upstream connection');

  const untilClose = await get('/close-delimited');
  t.is(untilClose.status, 200);
  t.is(untilClose.body, 'until the end', 'a body delimited by the close is relayed (chunked to the client)');
  const after = await get('/chunked');
  t.is(after.body, 'hello world');
  t.deepEqual(connections.map((c) => c.length), [5, 1], 'a new upstream connection after the one that closed');

  const smuggled = await get('/smuggle');
  t.is(smuggled.status, 502, 'a response with Content-Length and Transfer-Encoding is refused');
  t.regex(smuggled.body, /SIGIL_ERR_SIGNER_UPSTREAM_FAILED/);
  const last = await get('/chunked');
  t.is(last.body, 'hello world');
  t.is(connections.length, 3, 'the connection that sent the bad response was not reused');
});
