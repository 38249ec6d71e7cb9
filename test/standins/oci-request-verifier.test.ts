import test from 'ava';
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { SignatureRejected, verifyOciRequest, type SignedRequest } from './oci-request-verifier.js';
import { signManually } from './manual-signer.js';
import { loadOciVectors, type OciVector as Vector } from '../helpers/oci-vectors.js';

const file = loadOciVectors();
const publicKey = createPublicKey(file.publicKeyPem);
const privateKey = createPrivateKey(file.privateKeyPem);
const apiKeyId = 'ocid1.tenancy.oc1..aaaa/ocid1.user.oc1..aaaa/73:61:a2:21:67:e0:df:be:7e:4b:93:1e:15:98:a5:b7';

function vectorRequest(v: Vector, paramOrder: 'sdk' | 'reversed'): SignedRequest & { body: Buffer | null } {
  const params = [
    'version="1"',
    `keyId="${apiKeyId}"`,
    'algorithm="rsa-sha256"',
    `headers="${v.signedHeaders}"`,
    `signature="${v.signature}"`,
  ];
  if (paramOrder === 'reversed') params.reverse();
  const target = v.url.slice(v.url.indexOf('/', 'https://'.length));
  const body = v.body === null ? null : Buffer.from(v.body, 'utf8');
  const headers: Record<string, string> = { ...v.headers, authorization: `Signature ${params.join(',')}` };
  // On the wire a PUT/POST carries its length even where the vector does not sign it (vector E).
  if (body !== null && headers['content-length'] === undefined) headers['content-length'] = String(body.length);
  return asReceived({ method: v.method, target, headers, body });
}

/** What a server would see: raw header list and, unless told otherwise, SNI equal to Host's name. */
function asReceived<B>(req: { method: string; target: string; headers: SignedRequest['headers']; body: B }): SignedRequest & { body: B } {
  const rawHeaders = Object.entries(req.headers).flatMap(([k, v]) => (v === undefined ? [] : [k, String(v)]));
  return { ...req, rawHeaders, servername: String(req.headers['host'] ?? '').replace(/:\d+$/, '') || undefined };
}

function vectorTime(v: Vector): number {
  return Date.parse(v.headers['x-date'] ?? v.headers['date']!);
}

for (const v of file.vectors) {
  test(`accepts vector ${v.name}`, (t) => {
    for (const order of ['sdk', 'reversed'] as const) {
      const result = verifyOciRequest(vectorRequest(v, order), publicKey, { now: vectorTime(v) });
      t.is(result.keyId, apiKeyId);
    }
  });
}

test('vector signatures are rejected when anything signed changes', (t) => {
  for (const v of file.vectors) {
    const req = vectorRequest(v, 'sdk');
    const tampered = { ...req, target: req.target + (req.target.includes('?') ? '&x=1' : '?x=1') };
    const err = t.throws(() => verifyOciRequest(tampered, publicKey, { now: vectorTime(v) }), { instanceOf: SignatureRejected });
    t.regex(err!.reason, /does not verify|not signed/, v.name);
  }
});

test('vectors are rejected when the clock is more than 5 minutes away', (t) => {
  const v = file.vectors[0]!;
  const at = vectorTime(v);
  t.notThrows(() => verifyOciRequest(vectorRequest(v, 'sdk'), publicKey, { now: at + 299_000 }));
  const err = t.throws(() => verifyOciRequest(vectorRequest(v, 'sdk'), publicKey, { now: at + 301_000 }), { instanceOf: SignatureRejected });
  t.regex(err!.reason, /clock skew/);
});

const host = 'objectstorage.us-ashburn-1.oraclecloud.com:4443';

function fresh(input: Partial<Parameters<typeof signManually>[0]> & { method: string; target: string }): SignedRequest & { body: Buffer } {
  const body = input.body ?? Buffer.alloc(0);
  const headers = signManually({ host, key: privateKey, keyId: apiKeyId, ...input, body });
  return asReceived({ method: input.method, target: input.target, headers, body });
}

function reason(t: import('ava').ExecutionContext, req: SignedRequest & { body: Buffer }, key = publicKey): string {
  const err = t.throws(() => verifyOciRequest(req, key), { instanceOf: SignatureRejected });
  return err!.reason;
}

test('a freshly signed GET and POST pass (control for the rejections below)', (t) => {
  t.notThrows(() => verifyOciRequest(fresh({ method: 'GET', target: '/n/' }), publicKey));
  t.notThrows(() => verifyOciRequest(fresh({ method: 'POST', target: '/n/ns/b', body: Buffer.from('{"name":"b"}') }), publicKey));
  t.notThrows(() => verifyOciRequest(fresh({ method: 'POST', target: '/n/ns/b' }), publicKey), 'empty body uses the empty hash');
});

test('rejects a missing required header', (t) => {
  t.regex(reason(t, fresh({ method: 'GET', target: '/n/', signHeaders: ['x-date', '(request-target)'] })), /host not signed/);
  t.regex(reason(t, fresh({ method: 'GET', target: '/n/', signHeaders: ['x-date', 'host'] })), /\(request-target\) not signed/);
  for (const missing of ['content-type', 'content-length', 'x-content-sha256']) {
    const names = ['x-date', '(request-target)', 'host', 'content-type', 'content-length', 'x-content-sha256'].filter((n) => n !== missing);
    t.regex(reason(t, fresh({ method: 'PUT', target: '/n/ns/b/bkt/p/x', signHeaders: names })), new RegExp(`${missing} not signed`));
  }
});

test('x-date wins over date: signing only date while x-date is present is rejected', (t) => {
  const req = fresh({ method: 'GET', target: '/n/', signHeaders: ['date', '(request-target)', 'host'], extra: { date: new Date().toUTCString() } });
  t.regex(reason(t, req), /x-date not signed/);
  const dateOnly = fresh({ method: 'GET', target: '/n/', signHeaders: ['date', '(request-target)', 'host'], extra: { date: new Date().toUTCString() } });
  delete dateOnly.headers['x-date'];
  t.notThrows(() => verifyOciRequest(asReceived(dateOnly), publicKey));
});

test('rejects a body that does not match x-content-sha256', (t) => {
  const req = fresh({ method: 'POST', target: '/n/ns/b', body: Buffer.from('{"name":"a"}') });
  t.regex(reason(t, { ...req, body: Buffer.from('{"name":"b"}') }), /x-content-sha256 does not match/);
  const wrongHash = fresh({ method: 'POST', target: '/n/ns/b', body: Buffer.from('{}'), override: { 'x-content-sha256': 'AAAA' } });
  t.regex(reason(t, wrongHash), /x-content-sha256 does not match/);
});

test('PutObject and UploadPart bodies are not signed; other PUTs must sign them', (t) => {
  const basic = ['x-date', '(request-target)', 'host'];
  const big = Buffer.from('not hashed');
  t.notThrows(() => verifyOciRequest(fresh({ method: 'PUT', target: '/n/ns/b/bkt/o/dir%2Fa.txt', signHeaders: basic, body: big }), publicKey));
  t.notThrows(() => verifyOciRequest(fresh({ method: 'PUT', target: '/n/ns/b/bkt/u/a.txt?uploadId=1&uploadPartNum=2', signHeaders: basic, body: big }), publicKey));
  t.regex(reason(t, fresh({ method: 'PUT', target: '/n/ns/b/bkt', signHeaders: basic, body: big })), /content-type not signed|x-content-sha256 not signed|content-length not signed/);
  t.regex(reason(t, fresh({ method: 'POST', target: '/n/ns/b/bkt/o/a.txt', signHeaders: basic, body: big })), /not signed/);
});

test('rejects clock skew over 5 minutes either way', (t) => {
  t.notThrows(() => verifyOciRequest(fresh({ method: 'GET', target: '/n/', date: new Date(Date.now() - 240_000) }), publicKey));
  t.regex(reason(t, fresh({ method: 'GET', target: '/n/', date: new Date(Date.now() - 360_000) })), /clock skew/);
  t.regex(reason(t, fresh({ method: 'GET', target: '/n/', date: new Date(Date.now() + 360_000) })), /clock skew/);
});

test('rejects a tampered signature, a changed header and another key', (t) => {
  const req = fresh({ method: 'GET', target: '/n/' });
  const auth = req.headers['authorization'] as string;
  const sig = /signature="([^"]+)"/.exec(auth)![1]!;
  const bytes = Buffer.from(sig, 'base64');
  bytes[10] = bytes[10]! ^ 0x01;
  t.regex(reason(t, { ...req, headers: { ...req.headers, authorization: auth.replace(sig, bytes.toString('base64')) } }), /does not verify/);
  t.regex(reason(t, asReceived({ ...req, headers: { ...req.headers, host: 'evil.example.com' } })), /does not verify/);
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
  t.regex(reason(t, req, other), /does not verify/);
});

test('rejects malformed or ambiguous authorization headers', (t) => {
  const req = fresh({ method: 'GET', target: '/n/' });
  const auth = req.headers['authorization'] as string;
  const withAuth = (a: string | undefined) => asReceived({ ...req, headers: { ...req.headers, authorization: a } });
  t.regex(reason(t, withAuth(undefined)), /no authorization/);
  t.regex(reason(t, withAuth(auth.replace('Signature ', 'Bearer '))), /scheme/);
  t.regex(reason(t, withAuth(auth + ',keyId="other"')), /duplicate/);
  t.regex(reason(t, withAuth(auth.replace('algorithm="rsa-sha256"', 'algorithm="hmac-sha256"'))), /algorithm/);
  t.regex(reason(t, withAuth(auth.replace('version="1",', ''))), /version missing/);
});

// --- strictness that a lax verifier would hide -------------------------------------------------

test('dates are RFC 7231 IMF-fixdate only: other forms Date.parse accepts are refused', (t) => {
  const now = new Date();
  t.notThrows(() => verifyOciRequest(fresh({ method: 'GET', target: '/n/', date: now }), publicKey), 'control: toUTCString() is IMF-fixdate');
  const sign = (xDate: string) => fresh({ method: 'GET', target: '/n/', override: { 'x-date': xDate } });
  for (const form of [now.toISOString(), now.toString(), now.toUTCString().replace('GMT', 'UTC'), now.toUTCString().replace(/^\w+, /, ''), now.toUTCString().toLowerCase()]) {
    t.regex(reason(t, sign(form)), /not an RFC 7231 IMF-fixdate/, form);
  }
  t.regex(reason(t, sign('Sat, 31 Feb 2026 10:00:00 GMT')), /not an RFC 7231 IMF-fixdate/);
});

test('unknown signature parameters and headers listed twice are refused', (t) => {
  const req = fresh({ method: 'GET', target: '/n/' });
  const auth = req.headers['authorization'] as string;
  const withAuth = (a: string) => asReceived({ ...req, headers: { ...req.headers, authorization: a } });
  t.regex(reason(t, withAuth(auth + ',realm="oci"')), /unknown signature parameter realm/);
  t.regex(reason(t, withAuth(auth.replace('keyId=', 'keyid='))), /unknown signature parameter keyid/);
  t.regex(reason(t, withAuth(auth.replace('headers="x-date', 'headers="host x-date'))), /listed twice/);
});

test('a signed header or Authorization sent twice is refused, whichever copy node keeps', (t) => {
  const req = fresh({ method: 'GET', target: '/n/' });
  const twice = (name: string, value: string) => ({ ...req, rawHeaders: [...req.rawHeaders, name, value] });
  t.regex(reason(t, twice('Host', 'evil.example.com')), /exactly one Host/);
  t.regex(reason(t, twice('X-Date', new Date(0).toUTCString())), /x-date sent more than once/);
  t.regex(reason(t, twice('authorization', 'Signature version="1"')), /more than one Authorization/);
});

test('Host must equal the TLS server name, and name the service when the service says which', (t) => {
  const req = fresh({ method: 'GET', target: '/n/' });
  t.notThrows(() => verifyOciRequest(req, publicKey, { acceptedHosts: ['objectstorage.us-ashburn-1.oraclecloud.com'] }), 'control');
  t.regex(reason(t, { ...req, servername: 'iaas.us-ashburn-1.oraclecloud.com' }), /does not match the TLS server name/);
  t.regex(reason(t, { ...req, servername: undefined }), /no TLS server name/);
  const err = t.throws(() => verifyOciRequest(req, publicKey, { acceptedHosts: ['iaas.us-ashburn-1.oraclecloud.com'] }), { instanceOf: SignatureRejected });
  t.regex(err!.reason, /is not this service/);
});

test('PUT and POST need exactly one Content-Length and no Transfer-Encoding, even where the body is not signed', (t) => {
  const basic = ['x-date', '(request-target)', 'host'];
  const put = fresh({ method: 'PUT', target: '/n/ns/b/bkt/o/a.txt', signHeaders: basic, body: Buffer.from('abc') });
  t.notThrows(() => verifyOciRequest(put, publicKey), 'control');
  const { 'content-length': _dropped, ...noLength } = put.headers;
  t.regex(reason(t, asReceived({ ...put, headers: noLength })), /without exactly one decimal Content-Length/);
  t.regex(reason(t, asReceived({ ...put, headers: { ...put.headers, 'transfer-encoding': 'chunked' } })), /Transfer-Encoding/);
  const post = fresh({ method: 'POST', target: '/streams/s1/messages', signHeaders: basic, body: Buffer.from('{}') });
  t.regex(reason(t, asReceived({ ...post, headers: { ...post.headers, 'content-length': '2, 2' } })), /Content-Length/);
  const get = fresh({ method: 'GET', target: '/n/' });
  t.notThrows(() => verifyOciRequest(get, publicKey), 'GET needs none');
});
