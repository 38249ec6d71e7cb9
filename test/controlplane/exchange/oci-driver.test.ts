/**
 * The `oci` driver against a scripted HTTPS token endpoint (real TLS, test CA): what it sends, when
 * it retries, and what its errors do and do not say. The end-to-end run against the IAM stand-in is
 * in responder.test.ts.
 */
import test, { type ExecutionContext } from 'ava';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { SignJWT } from 'jose';
import { ExchangeError, OciTokenExchangeDriver } from '../../../controlplane/exchange/index.js';
import { EXCHANGE_CODES } from '../../../protocol/exchange.js';
import type { CredentialSourceSpec } from '../../../controlplane/resources/types.js';
import { createTestPki, type TestPki } from '../../helpers/test-pki.js';
import { listenHttps, readBody } from '../../standins/https-listener.js';

interface Seen {
  method: string;
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  form: URLSearchParams;
}

type Answer = { status: number; body: unknown } | 'reset';

const issuerKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const session = generateKeyPairSync('rsa', { modulusLength: 2048 });
const sessionPublicB64 = session.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
const SUBJECT_TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJzcGlmZmU6Ly9zaWdpbC50ZXN0L2EifQ.c2lnbmF0dXJl';

async function upst(opts: { expiresIn?: number; jwkOf?: KeyObject; noJwk?: boolean } = {}): Promise<string> {
  const jwk = (opts.jwkOf ?? session.publicKey).export({ format: 'jwk' });
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ tenant: 'ocid1.tenancy.oc1..t', ...(opts.noJwk ? {} : { jwk: JSON.stringify({ kty: 'RSA', n: jwk.n, e: jwk.e }) }) })
    .setProtectedHeader({ alg: 'RS256' })
    .setSubject('ocid1.user.oc1..u')
    .setIssuedAt(now)
    .setExpirationTime(now + (opts.expiresIn ?? 900))
    .sign(issuerKey);
}

async function scriptedEndpoint(t: ExecutionContext, pki: TestPki, answers: Answer[], address = '127.77.61.1') {
  const seen: Seen[] = [];
  const cert = await pki.issueServerCert([address]);
  const listener = await listenHttps({
    address,
    certPem: cert.certPem,
    keyPem: cert.keyPem,
    handler: (req: IncomingMessage, res) => {
      void (async () => {
        const body = (await readBody(req, 65536)) ?? Buffer.alloc(0);
        seen.push({
          method: req.method ?? '',
          path: req.url ?? '',
          authorization: req.headers.authorization,
          contentType: req.headers['content-type'],
          form: new URLSearchParams(body.toString()),
        });
        const answer = answers.length > 1 ? answers.shift()! : answers[0]!;
        if (answer === 'reset') {
          req.socket.destroy();
          return;
        }
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
      })();
    },
  });
  t.teardown(() => listener.close());
  return { seen, url: `https://${address}:${listener.port}` };
}

async function setup(t: ExecutionContext, answers: Answer[]) {
  const pki = await createTestPki();
  t.teardown(() => pki.close());
  const endpoint = await scriptedEndpoint(t, pki, answers);
  const dir = await mkdtemp(join(tmpdir(), 'sigil-test-driver-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const secret = 'client secret: with+odd&chars%';
  const secretFile = join(dir, 'secret');
  await writeFile(secretFile, `${secret}\n`, { mode: 0o600 });
  const source: CredentialSourceSpec = { kind: 'oci', domainUrl: `${endpoint.url}/`, clientId: 'sigil-cp', clientSecretFile: secretFile, region: 'us-ashburn-1', caFile: pki.caFile };
  const driver = new OciTokenExchangeDriver({ retry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 40 }, attemptTimeoutMs: 1000 });
  const exchange = () => driver.exchange({ sourceName: 'prod-oci', source, subjectToken: SUBJECT_TOKEN, publicKey: sessionPublicB64 });
  return { ...endpoint, pki, source, secret, secretFile, dir, driver, exchange };
}

async function rejection(t: ExecutionContext, promise: Promise<unknown>): Promise<ExchangeError> {
  const err = await t.throwsAsync(promise);
  t.true(err instanceof ExchangeError, `not an ExchangeError: ${String(err)}`);
  return err as ExchangeError;
}

function assertNothingSecret(t: ExecutionContext, err: Error, secret: string, token?: string): void {
  const text = `${err.message} ${String(err.cause ?? '')}`;
  t.false(text.includes(secret), 'error mentions the client secret');
  t.false(text.includes(SUBJECT_TOKEN), 'error mentions the JWT-SVID');
  if (token) t.false(text.includes(token), 'error mentions the session token');
}

test('sends the token-exchange form with HTTP Basic client auth and returns the UPST and its expiry', async (t) => {
  const token = await upst({ expiresIn: 1200 });
  const w = await setup(t, [{ status: 200, body: { token } }]);
  const result = await w.exchange();
  t.is(result.token, token);
  // The expiry is the token's own exp claim, exactly (no clock window that a slow machine can miss).
  const exp = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp;
  t.is(result.expiresAt.getTime(), exp * 1000);
  t.is(w.seen.length, 1);
  const seen = w.seen[0]!;
  t.is(seen.method, 'POST');
  t.is(seen.path, '/oauth2/v1/token');
  t.is(seen.contentType, 'application/x-www-form-urlencoded');
  t.deepEqual(Object.fromEntries(seen.form), {
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    requested_token_type: 'urn:oci:token-type:oci-upst',
    subject_token: SUBJECT_TOKEN,
    subject_token_type: 'jwt',
    public_key: sessionPublicB64,
  });
  const basic = Buffer.from(seen.authorization!.replace(/^Basic /, ''), 'base64').toString();
  const [id, secret] = basic.split(':').map((part) => decodeURIComponent(part.replace(/\+/g, ' ')));
  t.is(id, 'sigil-cp');
  t.is(secret, w.secret);
});

test('retries 5xx and network errors with backoff, then succeeds', async (t) => {
  const token = await upst();
  const w = await setup(t, [{ status: 503, body: { error: 'temporarily_unavailable' } }, 'reset', { status: 200, body: { token } }]);
  const result = await w.exchange();
  t.is(result.token, token);
  t.is(w.seen.length, 3);
});

test('gives up after the last attempt with SOURCE_UNAVAILABLE naming the source and the last problem', async (t) => {
  const w = await setup(t, [{ status: 502, body: { error: 'bad_gateway', error_description: `upstream said ${'x'}` } }]);
  const err = await rejection(t, w.exchange());
  t.is(err.code, EXCHANGE_CODES.SOURCE_UNAVAILABLE);
  t.regex(err.message, /credential source "prod-oci" \(https:\/\/127\.77\.61\.1:\d+\) is unavailable after 3 attempts: HTTP 502 bad_gateway/);
  t.is(w.seen.length, 3);
  assertNothingSecret(t, err, w.secret);
});

test('does not retry a 4xx: wrong client secret is SOURCE_REJECTED at once, without the secret in the error', async (t) => {
  // A hostile or careless server echoing the secret and the subject token must not get them into our error.
  const w = await setup(t, [{ status: 401, body: { error: 'invalid_client', error_description: 'Client authentication failed.' } }]);
  const err = await rejection(t, w.exchange());
  t.is(err.code, EXCHANGE_CODES.SOURCE_REJECTED);
  t.regex(err.message, /credential source "prod-oci" .* refused the token exchange: HTTP 401 invalid_client: Client authentication failed\./);
  t.is(w.seen.length, 1);
  assertNothingSecret(t, err, w.secret);
});

test('secrets echoed back in an error body are scrubbed', async (t) => {
  const echo = await setup(t, [{ status: 400, body: { error: 'invalid_grant', error_description: `bad token ${SUBJECT_TOKEN} for client secret: with+odd&chars%` } }]);
  const err = await rejection(t, echo.exchange());
  t.is(err.code, EXCHANGE_CODES.SOURCE_REJECTED);
  t.regex(err.message, /\[redacted\]/);
  assertNothingSecret(t, err, echo.secret);
});

test('an expired token, a token without exp and a token for another key are refused as SOURCE_BAD_RESPONSE', async (t) => {
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
  const cases: Array<[string, unknown, RegExp]> = [
    ['expired', { token: await upst({ expiresIn: -60 }) }, /expired at/],
    ['not a JWT', { token: 'opaque' }, /not a JWT/],
    ['no token', { access_token: 'x' }, /no "token" string/],
    ['foreign jwk', { token: await upst({ jwkOf: other }) }, /jwk claim is not the session key/],
    ['no jwk', { token: await upst({ noJwk: true }) }, /no jwk claim/],
    ['absurd lifetime', { token: await upst({ expiresIn: 10 * 24 * 3600 }) }, /longer than/],
  ];
  for (const [what, body, message] of cases) {
    const w = await setup(t, [{ status: 200, body }]);
    const err = await rejection(t, w.exchange());
    t.is(err.code, EXCHANGE_CODES.SOURCE_BAD_RESPONSE, what);
    t.regex(err.message, message, what);
    t.is(w.seen.length, 1, `${what}: a bad 200 is not retried`);
  }
});

test('the client secret file is re-read when it changes, and its absence is SOURCE_MISCONFIGURED', async (t) => {
  const token = await upst();
  const w = await setup(t, [{ status: 200, body: { token } }]);
  await w.exchange();
  await writeFile(w.secretFile, 'rotated-secret-value-2');
  await w.exchange();
  const second = Buffer.from(w.seen[1]!.authorization!.replace(/^Basic /, ''), 'base64').toString();
  t.is(second, 'sigil-cp:rotated-secret-value-2');

  await rm(w.secretFile);
  const err = await rejection(t, w.exchange());
  t.is(err.code, EXCHANGE_CODES.SOURCE_MISCONFIGURED);
  t.regex(err.message, /credential source "prod-oci": client secret file .* cannot be opened \(ENOENT\)/);
  t.is(w.seen.length, 2, 'no request without a secret');
});

test('the TLS server must chain to the source caFile (or the system store)', async (t) => {
  const w = await setup(t, [{ status: 200, body: { token: await upst() } }]);
  const { caFile: _ca, ...withoutCa } = w.source;
  const err = await rejection(t, w.driver.exchange({ sourceName: 'prod-oci', source: withoutCa, subjectToken: SUBJECT_TOKEN, publicKey: sessionPublicB64 }));
  t.is(err.code, EXCHANGE_CODES.SOURCE_UNAVAILABLE);
  t.regex(err.message, /certificate/);
  t.is(w.seen.length, 0);
});

test('a plain-http domainUrl is refused before any secret is sent', async (t) => {
  const w = await setup(t, [{ status: 200, body: {} }]);
  const err = await rejection(t, w.driver.exchange({ sourceName: 'prod-oci', source: { ...w.source, domainUrl: 'http://127.77.61.1:1' }, subjectToken: SUBJECT_TOKEN, publicKey: sessionPublicB64 }));
  t.is(err.code, EXCHANGE_CODES.SOURCE_MISCONFIGURED);
  t.regex(err.message, /must be https/);
});
