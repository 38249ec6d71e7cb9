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
  return {
    method: v.method,
    target,
    headers: { ...v.headers, authorization: `Signature ${params.join(',')}` },
    body: v.body === null ? null : Buffer.from(v.body, 'utf8'),
  };
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
  return { method: input.method, target: input.target, headers, body };
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
  t.notThrows(() => verifyOciRequest(dateOnly, publicKey));
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
  t.regex(reason(t, { ...req, headers: { ...req.headers, host: 'evil.example.com' } }), /does not verify/);
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
  t.regex(reason(t, req, other), /does not verify/);
});

test('rejects malformed or ambiguous authorization headers', (t) => {
  const req = fresh({ method: 'GET', target: '/n/' });
  const auth = req.headers['authorization'] as string;
  const withAuth = (a: string | undefined) => ({ ...req, headers: { ...req.headers, authorization: a } });
  t.regex(reason(t, withAuth(undefined)), /no authorization/);
  t.regex(reason(t, withAuth(auth.replace('Signature ', 'Bearer '))), /scheme/);
  t.regex(reason(t, withAuth(auth + ',keyId="other"')), /duplicate/);
  t.regex(reason(t, withAuth(auth.replace('algorithm="rsa-sha256"', 'algorithm="hmac-sha256"'))), /algorithm/);
  t.regex(reason(t, withAuth(auth.replace('version="1",', ''))), /version missing/);
});
