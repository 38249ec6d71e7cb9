import test from 'ava';
import { generateKeyPairSync } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { createTestPki, type TestPki } from '../helpers/test-pki.js';
import { startIamStandIn, type IamStandIn } from './oci-iam.js';
import { basicAuth, exchangeForm, postTokenRequest } from './iam-client.js';
import { startTestJwtIssuer, type TestJwtIssuer } from './test-jwt-issuer.js';
import { UpstRejected, verifyUpst } from './upst.js';

const clientId = 'sigil-controlplane';
const clientSecret = 'correct horse battery staple';
const principal = 'ocid1.user.oc1..appuser';
const session = generateKeyPairSync('rsa', { modulusLength: 2048 });

let pki: TestPki;
let jwt: TestJwtIssuer;
let iam: IamStandIn;

async function startIam(address: string): Promise<IamStandIn> {
  return startIamStandIn({
    pki,
    address,
    clientId,
    clientSecret,
    trust: { issuer: jwt.issuer, audience: jwt.audience, jwksUrl: jwt.jwksUrl, jwksCaPem: pki.caCertPem },
    principals: [
      { equals: 'spiffe://sigil.test/workload/admin', principal: 'ocid1.user.oc1..admin' },
      { pattern: /^spiffe:\/\/sigil\.test\/workload\//, principal },
    ],
    tokenLifetimeSeconds: 1200,
  });
}

test.before(async () => {
  pki = await createTestPki();
  jwt = await startTestJwtIssuer(pki, '127.77.1.13');
  iam = await startIam('127.77.1.11');
});

test.after.always(async () => {
  await iam?.close();
  await jwt?.close();
  await pki?.close();
});

async function exchange(form: Record<string, string>, authorization: string | null = basicAuth(clientId, clientSecret)) {
  return postTokenRequest({ tokenUrl: iam.tokenUrl, caPem: pki.caCertPem, form, ...(authorization === null ? {} : { authorization }) });
}

test('exchanges a valid JWT-SVID for an RS256 UPST bound to the session key', async (t) => {
  const { status, json } = await exchange(exchangeForm({ jwt: await jwt.mint(), publicKey: session.publicKey }));
  t.is(status, 200, JSON.stringify(json));
  const token = json['token'] as string;
  t.is(decodeProtectedHeader(token).alg, 'RS256');
  const claims = decodeJwt(token);
  t.is(claims.sub, principal);
  t.is(typeof claims['tenant'], 'string');
  t.is(claims.exp! - claims.iat!, 1200);
  t.truthy(claims.jti);
  t.is(typeof claims['jwk'], 'string', 'jwk is a JSON string, as OCI sends it');
  const jwk = JSON.parse(claims['jwk'] as string) as { kty: string; n: string; e: string };
  const expected = session.publicKey.export({ format: 'jwk' });
  t.deepEqual([jwk.kty, jwk.n, jwk.e], ['RSA', expected.n, expected.e]);
  const verified = await verifyUpst(token, [iam.publicKey]);
  t.is(verified.principal, principal);
  t.true(verified.sessionKey.equals(session.publicKey));
  t.true(iam.issued >= 1);
  t.truthy(iam.exchanges.find((e) => e.jti === claims.jti && e.status === 200 && e.subject === 'spiffe://sigil.test/workload/app'));
});

test('maps subjects to principals by the first matching rule', async (t) => {
  const admin = await exchange(exchangeForm({ jwt: await jwt.mint({ sub: 'spiffe://sigil.test/workload/admin' }), publicKey: session.publicKey }));
  t.is(decodeJwt(admin.json['token'] as string).sub, 'ocid1.user.oc1..admin');
  const stranger = await exchange(exchangeForm({ jwt: await jwt.mint({ sub: 'spiffe://elsewhere/x' }), publicKey: session.publicKey }));
  t.is(stranger.status, 400);
  t.is(stranger.json['error'], 'invalid_grant');
});

test('rejects bad or missing client authentication with 401 invalid_client', async (t) => {
  const form = exchangeForm({ jwt: await jwt.mint(), publicKey: session.publicKey });
  for (const authorization of [basicAuth(clientId, 'wrong'), basicAuth('someone-else', clientSecret), null, 'Bearer abc', basicAuth(clientId, clientSecret + 'x')]) {
    const { status, json } = await exchange(form, authorization);
    t.is(status, 401);
    t.is(json['error'], 'invalid_client');
    t.false('token' in json);
  }
});

test('rejects JWTs that do not verify: wrong key, expired, wrong audience, wrong issuer', async (t) => {
  const cases = {
    'wrong key': await jwt.mint({ key: 'untrusted' }),
    expired: await jwt.mint({ expiresInSeconds: -120 }),
    'wrong audience': await jwt.mint({ aud: 'someone-else' }),
    'wrong issuer': await jwt.mint({ iss: 'https://evil.example/' }),
    'not a JWT': 'abc.def.ghi',
  };
  for (const [name, token] of Object.entries(cases)) {
    const { status, json } = await exchange(exchangeForm({ jwt: token, publicKey: session.publicKey }));
    t.is(status, 400, name);
    t.is(json['error'], 'invalid_grant', name);
  }
  const { status } = await exchange(exchangeForm({ jwt: await jwt.mint(), publicKey: session.publicKey }));
  t.is(status, 200, 'control: a good JWT still passes');
});

test('rejects a missing or unusable public_key', async (t) => {
  const good = exchangeForm({ jwt: await jwt.mint(), publicKey: session.publicKey });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
  const variants: Record<string, string | undefined> = { missing: undefined, garbage: 'bm90IGEga2V5', 'not base64': '***', ec, 'rsa 1024': small };
  for (const [name, value] of Object.entries(variants)) {
    const form = { ...good };
    if (value === undefined) delete form['public_key'];
    else form['public_key'] = value;
    const { status, json } = await exchange(form);
    t.is(status, 400, name);
    t.is(json['error'], 'invalid_request', name);
  }
});

test('rejects the wrong grant, token types and content type', async (t) => {
  const good = exchangeForm({ jwt: await jwt.mint(), publicKey: session.publicKey });
  t.is((await exchange({ ...good, grant_type: 'client_credentials' })).json['error'], 'unsupported_grant_type');
  t.is((await exchange({ ...good, requested_token_type: 'urn:ietf:params:oauth:token-type:access_token' })).json['error'], 'invalid_request');
  t.is((await exchange({ ...good, subject_token_type: 'urn:ietf:params:oauth:token-type:jwt' })).json['error'], 'invalid_request');
  const json = await postTokenRequest({ tokenUrl: iam.tokenUrl, caPem: pki.caCertPem, form: good, authorization: basicAuth(clientId, clientSecret), contentType: 'application/json' });
  t.is(json.status, 400);
});

test('caches the JWKS between exchanges', async (t) => {
  // Its own instance: the JWKS server's counter is shared by every IAM stand-in in this file.
  const cached = await startIam('127.77.1.15');
  t.teardown(() => cached.close());
  for (let i = 0; i < 3; i++) {
    const { status } = await postTokenRequest({
      tokenUrl: cached.tokenUrl,
      caPem: pki.caCertPem,
      form: exchangeForm({ jwt: await jwt.mint(), publicKey: session.publicKey }),
      authorization: basicAuth(clientId, clientSecret),
    });
    t.is(status, 200);
  }
  t.is(cached.jwksFetches, 1);
});

test('UPSTs from another IAM stand-in do not verify against this one', async (t) => {
  const other = await startIam('127.77.1.12');
  t.teardown(() => other.close());
  const { json } = await postTokenRequest({
    tokenUrl: other.tokenUrl,
    caPem: pki.caCertPem,
    form: exchangeForm({ jwt: await jwt.mint(), publicKey: session.publicKey }),
    authorization: basicAuth(clientId, clientSecret),
  });
  await t.throwsAsync(verifyUpst(json['token'] as string, [iam.publicKey]), { instanceOf: UpstRejected });
  await t.notThrowsAsync(verifyUpst(json['token'] as string, [other.publicKey]));
});

test('fail modes: 503, connection reset, hang, and recovery; lifetime is capped at 60 minutes', async (t) => {
  const flaky = await startIam('127.77.1.14');
  t.teardown(() => flaky.close());
  const send = async () =>
    postTokenRequest({
      tokenUrl: flaky.tokenUrl,
      caPem: pki.caCertPem,
      form: exchangeForm({ jwt: await jwt.mint(), publicKey: session.publicKey }),
      authorization: basicAuth(clientId, clientSecret),
    });
  flaky.setFailing('unavailable');
  const down = await send();
  t.is(down.status, 503);
  t.is(down.json['error'], 'temporarily_unavailable');
  flaky.setFailing('reset');
  await t.throwsAsync(send());
  flaky.setFailing('hang');
  let outcome = 'waiting';
  const hanging = send();
  hanging.then(() => (outcome = 'answered'), () => (outcome = 'failed'));
  // The request is held once the stand-in has it (deadline 10 s), not after a fixed 300 ms.
  const deadline = Date.now() + 10_000;
  while (flaky.hanging === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.is(flaky.hanging, 1, 'the request reached the stand-in and is held');
  t.is(outcome, 'waiting');
  flaky.setFailing('off');
  await t.throwsAsync(hanging, undefined, 'leaving hang mode drops the hung connections');
  flaky.setTokenLifetime(7200);
  const up = await send();
  t.is(up.status, 200);
  const claims = decodeJwt(up.json['token'] as string);
  t.is(claims.exp! - claims.iat!, 3600);
  t.is(flaky.issued, 1);
});

test('an unreachable JWKS fails the exchange with invalid_grant, and setTrust points it elsewhere', async (t) => {
  const lost = await startIam('127.77.1.16');
  t.teardown(() => lost.close());
  const send = async () =>
    postTokenRequest({
      tokenUrl: lost.tokenUrl,
      caPem: pki.caCertPem,
      form: exchangeForm({ jwt: await jwt.mint(), publicKey: session.publicKey }),
      authorization: basicAuth(clientId, clientSecret),
    });
  // Port 9 on an address nobody listens on: connection refused.
  lost.setTrust({ issuer: jwt.issuer, audience: jwt.audience, jwksUrl: 'https://127.77.1.17:9/keys', jwksCaPem: pki.caCertPem });
  const down = await send();
  t.is(down.status, 400);
  t.is(down.json['error'], 'invalid_grant');
  t.regex(down.json['error_description'] as string, /unreachable/);
  lost.setTrust({ issuer: jwt.issuer, audience: jwt.audience, jwksUrl: jwt.jwksUrl, jwksCaPem: pki.caCertPem });
  t.is((await send()).status, 200);
});
