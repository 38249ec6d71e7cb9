import test from 'ava';
import { createHash, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { Readable } from 'node:stream';
import { createTestPki, type TestPki } from '../helpers/test-pki.js';
import { startIamStandIn, type IamStandIn } from './oci-iam.js';
import { basicAuth, exchangeForm, postTokenRequest } from './iam-client.js';
import { signManually, sendRaw } from './manual-signer.js';
import { startObjectStorageStandIn, type ObjectStorageStandIn, type RecordedRequest } from './oci-objectstorage.js';
import { objectStorageClientFor, sessionTokenAuth } from './sdk-client.js';
import { startTestJwtIssuer, type TestJwtIssuer } from './test-jwt-issuer.js';
import { mintUpst } from './upst.js';

const clientId = 'sigil-controlplane';
const clientSecret = 'os-test-secret';
const principal = 'ocid1.user.oc1..storageuser';
const spiffeId = 'spiffe://sigil.test/workload/uploader';
const session = generateKeyPairSync('rsa', { modulusLength: 2048 });
const sessionKeyPem = session.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const thief = generateKeyPairSync('rsa', { modulusLength: 2048 });

let pki: TestPki;
let jwt: TestJwtIssuer;
let iam: IamStandIn;
let os: ObjectStorageStandIn;
let upst: string;

test.before(async () => {
  pki = await createTestPki();
  jwt = await startTestJwtIssuer(pki, '127.77.2.3');
  iam = await startIamStandIn({
    pki,
    address: '127.77.2.1',
    clientId,
    clientSecret,
    trust: { issuer: jwt.issuer, audience: jwt.audience, jwksUrl: jwt.jwksUrl, jwksCaPem: pki.caCertPem },
    principals: [{ pattern: /^spiffe:\/\/sigil\.test\//, principal }],
  });
  os = await startObjectStorageStandIn({ pki, address: '127.77.2.2', region: 'us-ashburn-1', namespace: 'sigilns', trustedIssuers: [iam.publicKey] });
  const { status, json } = await postTokenRequest({
    tokenUrl: iam.tokenUrl,
    caPem: pki.caCertPem,
    form: exchangeForm({ jwt: await jwt.mint({ sub: spiffeId }), publicKey: session.publicKey }),
    authorization: basicAuth(clientId, clientSecret),
  });
  if (status !== 200) throw new Error(`exchange failed: ${JSON.stringify(json)}`);
  upst = json['token'] as string;
});

test.after.always(async () => {
  await os?.close();
  await iam?.close();
  await jwt?.close();
  await pki?.close();
});

async function readAll(stream: Readable | ReadableStream | unknown): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

function recordFor(opcRequestId: string | undefined): RecordedRequest {
  const record = os.requests.find((r) => r.opcRequestId === opcRequestId);
  if (!record) throw new Error(`no record for ${opcRequestId}`);
  return record;
}

const hostHeader = () => `${os.hostname}:${os.port}`;

async function rawSigned(opts: { method: string; target: string; key: KeyObject; token: string; body?: Buffer; signHeaders?: string[]; extra?: Record<string, string>; override?: Record<string, string> }) {
  const headers = signManually({ ...opts, host: hostHeader(), keyId: `ST$${opts.token}` });
  return sendRaw({ address: os.address, port: os.port, servername: os.hostname, caPem: pki.caCertPem, method: opts.method, target: opts.target, headers, ...(opts.body ? { body: opts.body } : {}) });
}

function assertNotAuthenticated(t: import('ava').ExecutionContext, answer: Awaited<ReturnType<typeof sendRaw>>): void {
  t.is(answer.status, 401);
  t.is(answer.headers['content-type'], 'application/json');
  t.truthy(answer.headers['opc-request-id']);
  t.deepEqual(JSON.parse(answer.body.toString('utf8')), {
    code: 'NotAuthenticated',
    message: 'The required information to complete authentication was not provided or was incorrect.',
  });
}

test('the official SDK with an exchanged session token: namespace, create bucket, put, head, get, list, delete', async (t) => {
  const { client, agent } = objectStorageClientFor(os, sessionTokenAuth(upst, sessionKeyPem), pki.caCertPem);
  t.teardown(() => agent.destroy());

  const ns = await client.getNamespace({ opcClientRequestId: 'roundtrip-ns' });
  t.is(ns.value, 'sigilns');
  const bucket = await client.createBucket({ namespaceName: 'sigilns', createBucketDetails: { name: 'sdk-bucket', compartmentId: 'ocid1.compartment.oc1..c' }, opcClientRequestId: 'roundtrip-create' });
  t.is(bucket.bucket.name, 'sdk-bucket');

  const content = 'hello from the official SDK\n';
  const put = await client.putObject({ namespaceName: 'sigilns', bucketName: 'sdk-bucket', objectName: 'dir/hello.txt', putObjectBody: content, contentLength: Buffer.byteLength(content), opcClientRequestId: 'roundtrip-put' });
  t.truthy(put.eTag);
  t.is(put.opcContentMd5, createHash('md5').update(content).digest('base64'));

  const head = await client.headObject({ namespaceName: 'sigilns', bucketName: 'sdk-bucket', objectName: 'dir/hello.txt', opcClientRequestId: 'roundtrip-head' });
  t.is(head.contentLength, Buffer.byteLength(content));
  t.is(head.eTag, put.eTag);

  const got = await client.getObject({ namespaceName: 'sigilns', bucketName: 'sdk-bucket', objectName: 'dir/hello.txt', opcClientRequestId: 'roundtrip-get' });
  t.is((await readAll(got.value)).toString('utf8'), content);

  const listed = await client.listObjects({ namespaceName: 'sigilns', bucketName: 'sdk-bucket', fields: 'name,size,md5', opcClientRequestId: 'roundtrip-list' });
  t.deepEqual(
    listed.listObjects.objects.map((o) => [o.name, o.size]),
    [['dir/hello.txt', Buffer.byteLength(content)]],
  );

  await client.deleteObject({ namespaceName: 'sigilns', bucketName: 'sdk-bucket', objectName: 'dir/hello.txt', opcClientRequestId: 'roundtrip-delete' });
  const missing = await t.throwsAsync(client.getObject({ namespaceName: 'sigilns', bucketName: 'sdk-bucket', objectName: 'dir/hello.txt' }));
  t.is((missing as unknown as { statusCode: number }).statusCode, 404);
  t.is((missing as unknown as { serviceCode: string }).serviceCode, 'ObjectNotFound');

  // Attribution: every one of these requests was authenticated as the exchanged principal.
  const mine = os.requests.filter((r) => r.clientRequestId?.startsWith('roundtrip-'));
  t.deepEqual(mine.map((r) => [r.clientRequestId, r.method, r.status]), [
    ['roundtrip-ns', 'GET', 200],
    ['roundtrip-create', 'POST', 200],
    ['roundtrip-put', 'PUT', 200],
    ['roundtrip-head', 'HEAD', 200],
    ['roundtrip-get', 'GET', 200],
    ['roundtrip-list', 'GET', 200],
    ['roundtrip-delete', 'DELETE', 204],
  ]);
  for (const r of mine) {
    t.is(r.principal, principal, `${r.method} ${r.target}`);
    t.is(r.sourceSubject, spiffeId);
    t.is(r.rejection, undefined);
    t.is(r.sni, os.hostname);
    t.is(r.host, `${os.hostname}:${os.port}`);
  }
  t.is(recordFor(put.opcRequestId).method, 'PUT');
});

test('the SDK signing with a key other than the UPST jwk (a token taken off the wire) gets 401', async (t) => {
  const thiefPem = thief.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const { client, agent } = objectStorageClientFor(os, sessionTokenAuth(upst, thiefPem), pki.caCertPem);
  t.teardown(() => agent.destroy());
  const err = await t.throwsAsync(client.getNamespace({}));
  t.is((err as unknown as { statusCode: number }).statusCode, 401);
  t.is((err as unknown as { serviceCode: string }).serviceCode, 'NotAuthenticated');
  const record = recordFor((err as unknown as { opcRequestId: string }).opcRequestId);
  t.is(record.principal, undefined);
  t.is(record.rejection, 'signature does not verify');
});

test('401 NotAuthenticated for a request signed with another key, shape as OCI sends it', async (t) => {
  assertNotAuthenticated(t, await rawSigned({ method: 'GET', target: '/n/', key: thief.privateKey, token: upst }));
  const ok = await rawSigned({ method: 'GET', target: '/n/', key: session.privateKey, token: upst });
  t.is(ok.status, 200, 'control: the right key passes');
  t.is(JSON.parse(ok.body.toString()), 'sigilns');
});

test('rejects expired UPSTs and UPSTs not signed by a trusted IAM', async (t) => {
  const trustedButLocal = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
  os.trustIssuer(trustedButLocal.publicKey);
  const mint = async (signingKey: KeyObject, now?: number) =>
    (await mintUpst({ signingKey, kid: 'k', principal: 'ocid1.user.oc1..other', tenant: 'ocid1.tenancy.oc1..t', sourceSubject: 'x', sessionPublicKey: session.publicKey, lifetimeSeconds: 3600, ...(now ? { now } : {}) })).token;

  const fresh = await rawSigned({ method: 'GET', target: '/n/', key: session.privateKey, token: await mint(trustedButLocal.privateKey) });
  t.is(fresh.status, 200, 'control: a fresh token of a trusted key passes');

  const expired = await rawSigned({ method: 'GET', target: '/n/', key: session.privateKey, token: await mint(trustedButLocal.privateKey, Date.now() - 3601_000) });
  assertNotAuthenticated(t, expired);
  t.is(recordFor(expired.headers['opc-request-id'] as string).rejection, 'expired');

  const forged = await rawSigned({ method: 'GET', target: '/n/', key: session.privateKey, token: await mint(stranger.privateKey) });
  assertNotAuthenticated(t, forged);
  t.is(recordFor(forged.headers['opc-request-id'] as string).rejection, 'signature not by a trusted issuer');

  const garbage = await rawSigned({ method: 'GET', target: '/n/', key: session.privateKey, token: 'not-a-token' });
  assertNotAuthenticated(t, garbage);
});

test('rejects UPSTs whose iss, aud or ttype is not what the IAM stand-in issues, or that carry no jwk', async (t) => {
  const issuer = generateKeyPairSync('rsa', { modulusLength: 2048 });
  os.trustIssuer(issuer.publicKey);
  const mint = async (tamper: Parameters<typeof mintUpst>[0]['tamper']) =>
    (await mintUpst({ signingKey: issuer.privateKey, kid: 'k', principal: 'ocid1.user.oc1..other', tenant: 'ocid1.tenancy.oc1..t', sourceSubject: 'x', sessionPublicKey: session.publicKey, lifetimeSeconds: 3600, tamper })).token;
  const ok = await rawSigned({ method: 'GET', target: '/n/', key: session.privateKey, token: await mint({}) });
  t.is(ok.status, 200, 'control: the claims as issued pass');
  const cases: Array<[string, Parameters<typeof mintUpst>[0]['tamper'], RegExp]> = [
    ['iss', { iss: 'https://cp.example' }, /claim iss/],
    ['no iss', { iss: undefined }, /claim iss/],
    ['aud', { aud: 'someone-else' }, /claim aud/],
    ['ttype', { ttype: 'resource' }, /ttype/],
    ['no ttype', { ttype: undefined }, /ttype/],
    ['no jwk', { jwk: undefined }, /jwk claim/],
  ];
  for (const [what, tamper, why] of cases) {
    const answer = await rawSigned({ method: 'GET', target: '/n/', key: session.privateKey, token: await mint(tamper) });
    assertNotAuthenticated(t, answer);
    t.regex(recordFor(answer.headers['opc-request-id'] as string).rejection ?? '', why, what);
  }
});

test('rejects a request whose SNI is not its Host, a non-IMF date and a PutObject without Content-Length', async (t) => {
  const headers = signManually({ method: 'GET', target: '/n/', host: hostHeader(), key: session.privateKey, keyId: `ST$${upst}` });
  // The certificate also names the address, so a client that sends the address as SNI gets through TLS.
  const noSni = await sendRaw({ address: os.address, port: os.port, servername: os.address, caPem: pki.caCertPem, method: 'GET', target: '/n/', headers });
  assertNotAuthenticated(t, noSni);
  t.regex(recordFor(noSni.headers['opc-request-id'] as string).rejection ?? '', /does not match the TLS server name "127\.77\.2\.2"/);
  const iso = await rawSigned({ method: 'GET', target: '/n/', key: session.privateKey, token: upst, override: { 'x-date': new Date().toISOString() } });
  assertNotAuthenticated(t, iso);
  t.regex(recordFor(iso.headers['opc-request-id'] as string).rejection ?? '', /IMF-fixdate/);
  const target = '/n/sigilns/b/bk/o/chunked.bin';
  const put = signManually({ method: 'PUT', target, host: hostHeader(), key: session.privateKey, keyId: `ST$${upst}`, signHeaders: ['x-date', '(request-target)', 'host'] });
  delete put['content-length'];
  async function* chunks() { yield Buffer.from('abc'); }
  const chunked = await sendRaw({ address: os.address, port: os.port, servername: os.hostname, caPem: pki.caCertPem, method: 'PUT', target, headers: put, body: chunks() });
  assertNotAuthenticated(t, chunked);
  t.regex(recordFor(chunked.headers['opc-request-id'] as string).rejection ?? '', /Content-Length/);
  t.false(os.objects.has('bk/chunked.bin'));
});

test('rejects API-key keyIds, missing headers, stale dates and wrong body hashes', async (t) => {
  const apiKey = signManually({ method: 'GET', target: '/n/', host: hostHeader(), key: session.privateKey, keyId: 'ocid1.tenancy.oc1..t/ocid1.user.oc1..u/00:11' });
  assertNotAuthenticated(t, await sendRaw({ address: os.address, port: os.port, servername: os.hostname, caPem: pki.caCertPem, method: 'GET', target: '/n/', headers: apiKey }));
  assertNotAuthenticated(t, await rawSigned({ method: 'GET', target: '/n/', key: session.privateKey, token: upst, signHeaders: ['x-date', '(request-target)'] }));
  const stale = signManually({ method: 'GET', target: '/n/', host: hostHeader(), key: session.privateKey, keyId: `ST$${upst}`, date: new Date(Date.now() - 301_000) });
  assertNotAuthenticated(t, await sendRaw({ address: os.address, port: os.port, servername: os.hostname, caPem: pki.caCertPem, method: 'GET', target: '/n/', headers: stale }));
  const body = Buffer.from(JSON.stringify({ name: 'b2', compartmentId: 'ocid1.compartment.oc1..c' }));
  const wrongHash = await rawSigned({ method: 'POST', target: '/n/sigilns/b', key: session.privateKey, token: upst, body, override: { 'x-content-sha256': createHash('sha256').update('other').digest('base64') } });
  assertNotAuthenticated(t, wrongHash);
  t.is(recordFor(wrongHash.headers['opc-request-id'] as string).rejection, 'x-content-sha256 does not match the body');
  const rightHash = await rawSigned({ method: 'POST', target: '/n/sigilns/b', key: session.privateKey, token: upst, body });
  t.is(rightHash.status, 200, 'control: the right hash passes');
  const noAuth = await sendRaw({ address: os.address, port: os.port, servername: os.hostname, caPem: pki.caCertPem, method: 'GET', target: '/n/', headers: { host: hostHeader() } });
  assertNotAuthenticated(t, noAuth);
});

test('records the client tag and streams large PutObject bodies keeping only their hash', async (t) => {
  const size = 40 * 1024 * 1024;
  const chunk = randomBytes(1024 * 1024);
  const expected = createHash('sha256');
  async function* body() {
    for (let sent = 0; sent < size; sent += chunk.length) {
      expected.update(chunk);
      yield chunk;
    }
  }
  const target = '/n/sigilns/b/big/o/blob.bin';
  const headers = signManually({ method: 'PUT', target, host: hostHeader(), key: session.privateKey, keyId: `ST$${upst}`, signHeaders: ['x-date', '(request-target)', 'host'], extra: { 'x-test-tag': 'big-put' }, override: { 'content-length': String(size) } });
  const answer = await sendRaw({ address: os.address, port: os.port, servername: os.hostname, caPem: pki.caCertPem, method: 'PUT', target, headers, body: body() });
  t.is(answer.status, 200);
  const stored = os.objects.get('big/blob.bin')!;
  t.is(stored.size, size);
  t.is(stored.sha256, expected.digest('base64'));
  t.is(stored.body, undefined, 'bodies over maxStoredBytes are not kept');
  t.is(stored.principal, principal);
  const record = recordFor(answer.headers['opc-request-id'] as string);
  t.is(record.tag, 'big-put');
  t.is(record.bodyBytes, size);
  t.is(record.principal, principal);
});

test('an unauthenticated large PutObject gets its 401 intact', async (t) => {
  const target = '/n/sigilns/b/big/o/denied.bin';
  const size = 8 * 1024 * 1024;
  const headers = signManually({ method: 'PUT', target, host: hostHeader(), key: thief.privateKey, keyId: `ST$${upst}`, signHeaders: ['x-date', '(request-target)', 'host'], override: { 'content-length': String(size) } });
  const answer = await sendRaw({ address: os.address, port: os.port, servername: os.hostname, caPem: pki.caCertPem, method: 'PUT', target, headers, body: randomBytes(size) });
  assertNotAuthenticated(t, answer);
  t.false(os.objects.has('big/denied.bin'));
});

test('a correctly signed request whose Host is not the service name gets 400 InvalidHost', async (t) => {
  const host = `${os.address}:${os.port}`;
  const headers = signManually({ method: 'GET', target: '/n/', host, key: session.privateKey, keyId: `ST$${upst}` });
  const answer = await sendRaw({ address: os.address, port: os.port, servername: os.hostname, caPem: pki.caCertPem, method: 'GET', target: '/n/', headers });
  t.is(answer.status, 400);
  t.is(JSON.parse(answer.body.toString()).code, 'InvalidHost');
  t.truthy(answer.headers['opc-request-id']);
});
