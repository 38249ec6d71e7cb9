/**
 * Bad input on the signer's port, from a steered (bound) process: every form is refused with a clear
 * error, nothing it sent reaches the upstream, and another process on the same signer keeps being
 * served meanwhile. The table in docs/hardening.md lists each case and what was observed.
 */
import test from 'ava';
import crypto from 'node:crypto';
import tls from 'node:tls';
import {
  OS_HOST, firstBody, firstStatus, keepServing, request, startSignerWorld, tcpExchange, tlsExchange, type SignerWorld, type Steered,
} from './support.js';

let world: SignerWorld;
let host: string;

test.before(async () => {
  world = await startSignerWorld({ subnet: '127.77.170' });
  host = `Host: ${OS_HOST}:${world.upstream.port}\r\n`;
});

test.after.always(async () => {
  await world?.close();
});

interface Row {
  name: string;
  /** The raw request bytes, sent after the TLS handshake. */
  send: () => string;
  status: number;
  /** What the error message must say. */
  says: RegExp;
}

/** Runs every row on its own connection (all at once) while a good client is served; checks both. */
async function refusesAll(t: import('ava').ExecutionContext, label: string, rows: Row[]): Promise<void> {
  const bad = world.steer(`bad-${label}`);
  const good = world.steer(`good-${label}`);
  const serving = keepServing(world, good);
  const replies = await Promise.all(rows.map((row) => tlsExchange(world, bad.source, { servername: OS_HOST, send: [row.send()] })));
  const statuses = await serving.stop();
  rows.forEach((row, i) => {
    const data = replies[i]?.data ?? '';
    const how = `secure=${replies[i]?.secure} error=${replies[i]?.error} after ${Math.round(replies[i]?.elapsedMs ?? 0)} ms`;
    t.is(firstStatus(data), row.status, `${row.name}: ${JSON.stringify(data.slice(0, 200))} ${how}`);
    const body = firstBody(data);
    t.is(typeof body?.['code'], 'string', `${row.name}: OCI error shape`);
    t.regex(String(body?.['message']), row.says, row.name);
  });
  t.deepEqual(world.seenWith(bad.cred), [], 'nothing the bad client sent reached the upstream');
  t.true(statuses.length >= 3 && statuses.every((s) => s === 200), `the good client was served: ${statuses.join(',')}`);
}

const GET = (extra = '') => `GET /n/ HTTP/1.1\r\n${host}${extra}Connection: close\r\n\r\n`;

test('malformed request lines and headers get 400 (or 421) with the reason', async (t) => {
  await refusesAll(t, 'malformed', [
    { name: 'garbage request line', send: () => 'GARBAGE\r\n\r\n', status: 400, says: /HPE_INVALID_METHOD/ },
    { name: 'lower-case method', send: () => `get /n/ HTTP/1.1\r\n${host}\r\n`, status: 400, says: /HPE_INVALID_METHOD/ },
    { name: 'method with a non-token byte', send: () => `G@T /n/ HTTP/1.1\r\n${host}\r\n`, status: 400, says: /HPE_INVALID_METHOD/ },
    { name: 'request line without version (HTTP/0.9)', send: () => `GET /n/\r\n${host}\r\n`, status: 400, says: /HTTP\/0\.9 is not supported/ },
    { name: 'HTTP/1.0', send: () => `GET /n/ HTTP/1.0\r\n${host}\r\n`, status: 400, says: /HTTP\/1\.0 is not supported/ },
    { name: 'unknown version', send: () => `GET /n/ HTTP/9.9\r\n${host}\r\n`, status: 400, says: /HPE_INVALID_VERSION/ },
    { name: 'extra token after the version', send: () => `GET /n/ HTTP/1.1 x\r\n${host}\r\n`, status: 400, says: /HPE_INVALID_VERSION/ },
    { name: 'control byte in the target', send: () => `GET /n/\x01 HTTP/1.1\r\n${host}\r\n`, status: 400, says: /HPE_INVALID_URL/ },
    { name: 'space in the target', send: () => `GET /n/ a HTTP/1.1\r\n${host}\r\n`, status: 400, says: /malformed HTTP request/ },
    { name: 'no Host', send: () => 'GET /n/ HTTP/1.1\r\nConnection: close\r\n\r\n', status: 400, says: /exactly one Host header/ },
    { name: 'two Host headers', send: () => GET(host), status: 400, says: /exactly one Host header/ },
    { name: 'two Content-Type headers', send: () => GET('Content-Type: a/b\r\nContent-Type: c/d\r\n'), status: 400, says: /at most one Content-Type/ },
    { name: 'space in a header name', send: () => GET('Bad Header: x\r\n'), status: 400, says: /HPE_INVALID_HEADER_TOKEN/ },
    { name: 'header line without a colon', send: () => GET('BadHeader\r\n'), status: 400, says: /HPE_INVALID_HEADER_TOKEN/ },
    { name: 'empty header name', send: () => GET(': v\r\n'), status: 400, says: /HPE_INVALID_HEADER_TOKEN/ },
    { name: 'NUL in a header value', send: () => GET('X-A: a\0b\r\n'), status: 400, says: /HPE_INVALID_HEADER_TOKEN/ },
    { name: 'bare CR in a header value', send: () => GET('X-A: a\rb\r\n'), status: 400, says: /HPE_LF_EXPECTED/ },
    { name: 'LF-only line endings', send: () => `GET /n/ HTTP/1.1\n${host.trim()}\n\n`, status: 400, says: /malformed HTTP request/ },
    { name: 'space before the colon', send: () => GET('X-A : b\r\n'), status: 400, says: /HPE_INVALID_HEADER_TOKEN/ },
    { name: 'separator in a header name', send: () => GET('X(A): b\r\n'), status: 400, says: /HPE_INVALID_HEADER_TOKEN/ },
    { name: 'unknown method', send: () => `FOO /n/ HTTP/1.1\r\n${host}\r\n`, status: 400, says: /HPE_INVALID_METHOD/ },
    { name: 'byte above 0x7e in the target', send: () => `GET /n/\u00e9 HTTP/1.1\r\n${host}\r\n`, status: 400, says: /HPE_INVALID_URL/ },
    { name: 'asterisk-form target', send: () => `OPTIONS * HTTP/1.1\r\n${host}Connection: close\r\n\r\n`, status: 400, says: /origin-form/ },
    { name: 'absolute-form target', send: () => `GET https://${OS_HOST}/n/ HTTP/1.1\r\n${host}Connection: close\r\n\r\n`, status: 400, says: /origin-form/ },
    { name: 'CONNECT', send: () => `CONNECT ${OS_HOST}:443 HTTP/1.1\r\n${host}\r\n`, status: 400, says: /CONNECT is not supported/ },
    { name: 'Host not the SNI', send: () => `GET /n/ HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n`, status: 421, says: /does not match the TLS server name/ },
    { name: 'Host with another port', send: () => `GET /n/ HTTP/1.1\r\nHost: ${OS_HOST}:1\r\nConnection: close\r\n\r\n`, status: 421, says: /does not match the TLS server name/ },
  ]);
});

test('request smuggling forms are refused before anything is forwarded', async (t) => {
  const POST = (headers: string, body: string) => `POST /20160918/things HTTP/1.1\r\n${host}${headers}\r\n${body}`;
  const PUT = (headers: string, body: string) => `PUT /n/testns/b/bk/o/smuggled HTTP/1.1\r\n${host}${headers}\r\n${body}`;
  await refusesAll(t, 'smuggling', [
    { name: 'Transfer-Encoding + Content-Length', send: () => POST('Content-Length: 4\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n'), status: 400, says: /HPE_INVALID_TRANSFER_ENCODING/ },
    { name: 'Content-Length after Transfer-Encoding', send: () => POST('Transfer-Encoding: chunked\r\nContent-Length: 4\r\n', '0\r\n\r\n'), status: 400, says: /HPE_INVALID_CONTENT_LENGTH/ },
    { name: 'duplicate Content-Length, different values', send: () => POST('Content-Length: 4\r\nContent-Length: 5\r\n', 'abcde'), status: 400, says: /HPE_UNEXPECTED_CONTENT_LENGTH/ },
    { name: 'duplicate Content-Length, same value', send: () => POST('Content-Length: 4\r\nContent-Length: 4\r\n', 'abcd'), status: 400, says: /HPE_UNEXPECTED_CONTENT_LENGTH/ },
    { name: 'Content-Length list', send: () => POST('Content-Length: 4, 4\r\n', 'abcd'), status: 400, says: /HPE_INVALID_CONTENT_LENGTH/ },
    { name: 'negative Content-Length', send: () => POST('Content-Length: -1\r\n', 'abcd'), status: 400, says: /HPE_INVALID_CONTENT_LENGTH/ },
    { name: 'Transfer-Encoding: chunked, identity', send: () => POST('Transfer-Encoding: chunked, identity\r\n', '4\r\nabcd\r\n0\r\n\r\n'), status: 400, says: /HPE_INVALID_TRANSFER_ENCODING/ },
    { name: 'Transfer-Encoding: identity', send: () => POST('Transfer-Encoding: identity\r\n', 'abcd'), status: 400, says: /HPE_INVALID_TRANSFER_ENCODING/ },
    { name: 'Transfer-Encoding: xchunked', send: () => POST('Transfer-Encoding: xchunked\r\n', '4\r\nabcd\r\n0\r\n\r\n'), status: 400, says: /HPE_INVALID_TRANSFER_ENCODING/ },
    { name: 'Transfer-Encoding twice', send: () => POST('Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', '4\r\nabcd\r\n0\r\n\r\n'), status: 400, says: /HPE_INVALID_TRANSFER_ENCODING/ },
    { name: 'space before the colon of Transfer-Encoding', send: () => POST('Transfer-Encoding : chunked\r\n', '4\r\nabcd\r\n0\r\n\r\n'), status: 400, says: /HPE_INVALID_HEADER_TOKEN/ },
    { name: 'obs-fold header', send: () => POST('X-A: a\r\n b\r\nContent-Length: 0\r\n', ''), status: 400, says: /HPE_INVALID_HEADER_TOKEN/ },
    { name: 'obs-fold Transfer-Encoding', send: () => POST('Transfer-Encoding:\r\n chunked\r\n', '4\r\nabcd\r\n0\r\n\r\n'), status: 400, says: /HPE_INVALID_HEADER_TOKEN/ },
    { name: 'chunk size not hex', send: () => POST('Transfer-Encoding: chunked\r\n', 'zz\r\nabcd\r\n0\r\n\r\n'), status: 400, says: /HPE_INVALID_CHUNK_SIZE/ },
    { name: 'negative chunk size', send: () => POST('Transfer-Encoding: chunked\r\n', '-1\r\nabcd\r\n0\r\n\r\n'), status: 400, says: /HPE_INVALID_CHUNK_SIZE/ },
    { name: 'chunk size overflow', send: () => POST('Transfer-Encoding: chunked\r\n', 'ffffffffffffffffffff\r\nabcd\r\n0\r\n\r\n'), status: 400, says: /HPE_INVALID_CHUNK_SIZE/ },
    { name: 'chunk longer than its size', send: () => POST('Transfer-Encoding: chunked\r\n', '4\r\nabcdXX\r\n0\r\n\r\n'), status: 400, says: /HPE_STRICT/ },
    { name: 'Content-Length with a sign', send: () => POST('Content-Length: +4\r\n', 'abcd'), status: 400, says: /HPE_INVALID_CONTENT_LENGTH/ },
    { name: 'Content-Length of 16 digits', send: () => POST('Content-Length: 1000000000000000\r\n', 'abcd'), status: 400, says: /HPE_INVALID_CONTENT_LENGTH/ },
    { name: 'control byte in a chunk extension', send: () => POST('Transfer-Encoding: chunked\r\n', '4;a\x01\r\nabcd\r\n0\r\n\r\n'), status: 400, says: /HPE_INVALID_CHUNK_SIZE/ },
    { name: 'LF-only chunk size line', send: () => POST('Transfer-Encoding: chunked\r\n', '4\nabcd\r\n0\r\n\r\n'), status: 400, says: /HPE_CR_EXPECTED/ },
    { name: 'malformed trailer', send: () => POST('Transfer-Encoding: chunked\r\n', '4\r\nabcd\r\n0\r\nbad trailer\r\n\r\n'), status: 400, says: /HPE_INVALID_HEADER_TOKEN/ },
    // A chunked body the signer would not buffer to sign goes nowhere: OCI frames nothing chunked.
    { name: 'chunked GET', send: () => `GET /n/ HTTP/1.1\r\n${host}Transfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n`, status: 411, says: /SIGIL_ERR_SIGNER_LENGTH_REQUIRED/ },
    // A chunked PutObject is refused before anything is forwarded: OCI needs its Content-Length. (It
    // used to be streamed, and a bad chunk in it once ended the agent with an unhandled rejection.)
    { name: 'chunked PutObject', send: () => PUT('Transfer-Encoding: chunked\r\n', '4\r\nabcd\r\n0\r\n\r\n'), status: 411, says: /SIGIL_ERR_SIGNER_LENGTH_REQUIRED/ },
  ]);
});

test('a header block over the limit gets 431', async (t) => {
  await refusesAll(t, 'oversized', [
    { name: 'one huge header', send: () => GET(`X-Big: ${'a'.repeat(9000)}\r\n`), status: 431, says: /HPE_HEADER_OVERFLOW/ },
    // Node drops header lines past its count limit without a word; the signer once forwarded the rest
    // with its signature after them, where the upstream's own limit cut it off.
    // Node 20 parses them all and the signer's count limit answers; Node 22+'s parser stops first.
    { name: '300 small headers', send: () => GET('X-A: b\r\n'.repeat(300)), status: 431, says: /more than 256 request headers|HPE_HEADER_OVERFLOW/ },
    { name: '1,200 small headers', send: () => GET('X-A: b\r\n'.repeat(1200)), status: 431, says: /more than 256 request headers|HPE_HEADER_OVERFLOW/ },
    { name: 'huge target', send: () => `GET /n/${'a'.repeat(9000)} HTTP/1.1\r\n${host}\r\n`, status: 431, says: /HPE_HEADER_OVERFLOW/ },
  ]);
});

test('slowloris: headers trickled one byte per 500 ms get 408 within the header timeout', async (t) => {
  const bad = world.steer('bad-slowloris');
  const good = world.steer('good-slowloris');
  const serving = keepServing(world, good);
  const bytes = [...`GET /n/ HTTP/1.1\r\n${host}X-Slow: ${'s'.repeat(20)}\r\n\r\n`];
  const slow = await tlsExchange(world, bad.source, { servername: OS_HOST, send: bytes, delayMs: 500, timeoutMs: 20_000 });
  const statuses = await serving.stop();
  t.true(slow.secure);
  t.is(firstStatus(slow.data), 408, slow.data);
  // headersTimeout 2 s: not before it (timers are late, never early), and before a generous deadline
  // of 15 s, half of the ~30 s the whole trickle would take, so the timeout is what ended it.
  t.true(slow.elapsedMs >= 1900, `closed after ${Math.round(slow.elapsedMs)} ms, not before the 2 s header timeout`);
  t.true(slow.elapsedMs < 15_000, `closed after ${Math.round(slow.elapsedMs)} ms, long before the trickle would end`);
  t.deepEqual(world.seenWith(bad.cred), []);
  t.true(statuses.length >= 3 && statuses.every((s) => s === 200), statuses.join(','));
});

test('TLS garbage, a silent client, no SNI, a foreign SNI, ALPN h2 only and a direct dial are closed without a handshake', async (t) => {
  const bad = world.steer('bad-tls');
  const good = world.steer('good-tls');
  const serving = keepServing(world, good);
  const random = crypto.createHash('sha512').update('sigil-hardening-tls-garbage').digest();
  const [garbage, httpInTcp, silent, noSni, foreign, h2only, direct] = await Promise.all([
    tcpExchange(world, bad.source, Buffer.concat([random, random])),
    tcpExchange(world, bad.source, Buffer.from(GET())),
    tcpExchange(world, bad.source, undefined, 20_000),
    tlsExchange(world, bad.source, {}),
    tlsExchange(world, bad.source, { servername: 'iaas.us-ashburn-1.oraclecloud.com' }),
    tlsExchange(world, bad.source, { servername: OS_HOST, alpn: ['h2'] }),
    tlsExchange(world, world.unsteeredSource(), { servername: OS_HOST }),
  ]);
  const statuses = await serving.stop();
  for (const [name, r] of Object.entries({ garbage, httpInTcp })) {
    t.false(r.timedOut, `${name} was closed by the signer`);
    t.false(r.data.toString('latin1').includes('HTTP/'), `${name} got no HTTP answer`);
  }
  // handshakeTimeout is 3 s: the signer closes the silent client not before it, and before the
  // client's own generous 20 s deadline.
  t.false(silent.timedOut, 'the signer closed the silent client before the 20 s deadline');
  t.true(silent.elapsedMs >= 2900, `silent client closed after ${Math.round(silent.elapsedMs)} ms, not before the 3 s handshake timeout`);
  for (const [name, r] of Object.entries({ noSni, foreign, h2only, direct })) {
    t.false(r.secure, `${name} got no TLS session`);
    t.is(r.data, '', name);
  }
  const log = world.logLines.join('');
  t.true(log.includes(`"code":"SIGIL_ERR_SIGNER_HANDSHAKE_REFUSED","tgid":${bad.tgid}`), 'handshake refusals are logged with the process');
  t.regex(log, /iaas\.us-ashburn-1\.oraclecloud\.com is not a destination of spiffe:\/\/hardening\.test\/bad-tls/);
  t.true(log.includes(`"code":"SIGIL_ERR_SIGNER_UNATTRIBUTED","peer":"${world.unsteeredSource()}:`), 'the direct dial is logged');
  t.deepEqual(world.seenWith(bad.cred), []);
  t.true(statuses.length >= 3 && statuses.every((s) => s === 200), statuses.join(','));
});

test('HTTP/2 attempts: the h2 preface is refused; h2c Upgrade is ignored and the request is served as HTTP/1.1', async (t) => {
  const bad = world.steer('bad-h2');
  const upgrader = world.steer('h2c-upgrader');
  const good = world.steer('good-h2');
  const serving = keepServing(world, good);
  const [preface, mixedAlpn, h2c] = await Promise.all([
    tlsExchange(world, bad.source, { servername: OS_HOST, alpn: ['h2', 'http/1.1'], send: ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'] }),
    tlsExchange(world, bad.source, { servername: OS_HOST, alpn: ['h2', 'http/1.1'], send: ['GET /n/ HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n'] }),
    tlsExchange(world, upgrader.source, {
      servername: OS_HOST,
      send: [`GET /n/ HTTP/1.1\r\n${host}Connection: Upgrade, HTTP2-Settings, close\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n`],
    }),
  ]);
  const statuses = await serving.stop();
  t.is(firstStatus(preface.data), 400);
  t.regex(String(firstBody(preface.data)?.['message']), /HPE_PAUSED_H2_UPGRADE/);
  t.is(mixedAlpn.alpn, 'http/1.1', 'a client offering h2 and http/1.1 gets http/1.1');
  t.is(firstStatus(mixedAlpn.data), 421, 'and is answered in HTTP/1.1');
  t.is(firstStatus(h2c.data), 200, 'no 101 Switching Protocols');
  const seen = world.seenWith(upgrader.cred);
  t.is(seen.length, 1);
  t.is(seen[0]?.failure, undefined);
  t.is(seen[0]?.headers['upgrade'], undefined, 'the Upgrade header is not forwarded');
  t.is(seen[0]?.headers['http2-settings'], undefined, 'headers named by Connection are not forwarded');
  t.deepEqual(world.seenWith(bad.cred), []);
  t.true(statuses.length >= 3 && statuses.every((s) => s === 200), statuses.join(','));
});

test('pipelined requests abandoned mid-way end cleanly: no leaked in-flight count, one audit event each', async (t) => {
  // Its own signer with room for two requests per process, so a leak shows after a few rounds.
  const small = await startSignerWorld({ subnet: '127.77.172', limits: { maxConcurrentPerProcess: 2 } });
  t.teardown(() => small.close());
  const p = small.steer('pipeliner');
  const get = `GET /n/ HTTP/1.1\r\nHost: ${OS_HOST}:${small.upstream.port}\r\n\r\n`;
  for (let i = 0; i < 4; i++) {
    // Two requests in one write; the client leaves as soon as the first answer starts.
    await new Promise<void>((resolve) => {
      const s = tls.connect({ host: small.signerAddr, port: small.signer.port, localAddress: p.source, ca: small.ca.certPem, servername: OS_HOST } as tls.ConnectionOptions, () => s.write(get + get));
      s.once('data', () => s.destroy());
      s.on('error', () => undefined);
      s.on('close', () => resolve());
    });
  }
  const audited = () => small.logLines.filter((l) => l.includes('"event":"request"') && l.includes(`"tgid":${p.tgid}`)).length;
  const deadline = Date.now() + 10_000;
  while (audited() < 8 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.is(audited(), 8, 'one audit event per request, the abandoned ones included');
  const agent = small.agentFor(p.source);
  t.teardown(() => agent.destroy());
  for (let i = 0; i < 3; i++) t.is((await request(agent, { host: OS_HOST, port: small.upstream.port, path: '/n/' })).status, 200, 'not locked out with 429');
});

test('a body trickled past the request timeout gets 408, and nothing reaches the upstream', async (t) => {
  // Its own signer with a 2.5 s request timeout; the trickle would take 20 s.
  const small = await startSignerWorld({ subnet: '127.77.173', limits: { requestTimeoutMs: 2500 } });
  t.teardown(() => small.close());
  const p = small.steer('slow-body');
  const head = `POST /20160918/instances HTTP/1.1\r\nHost: ${OS_HOST}:${small.upstream.port}\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n`;
  const slow = await tlsExchange(small, p.source, { servername: OS_HOST, send: [head, ...'{"a":"' + 'b'.repeat(33)], delayMs: 500, timeoutMs: 20_000 });
  t.true(slow.secure);
  t.is(firstStatus(slow.data), 408, slow.data);
  t.regex(slow.data, /ERR_HTTP_REQUEST_TIMEOUT/);
  t.true(slow.elapsedMs >= 2400 && slow.elapsedMs < 15_000, `closed after ${Math.round(slow.elapsedMs)} ms`);
  t.deepEqual(small.seenWith(p.cred), []);
});

test('the signer still signs for the bad clients once they behave', async (t) => {
  // Guards the tests above: their "nothing reached the upstream" must not come from a broken path.
  const bad: Steered = world.steer('bad-then-good');
  const agent = world.agentFor(bad.source);
  t.teardown(() => agent.destroy());
  const reply = await request(agent, { host: OS_HOST, port: world.upstream.port, path: '/n/' });
  t.is(reply.status, 200);
  t.is(world.seenWith(bad.cred)[0]?.failure, undefined);
});
