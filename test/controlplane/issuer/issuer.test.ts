import test from 'ava';
import { mkdtemp, rm, stat, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { KeySet } from '../../../controlplane/issuer/key-set.js';
import { JwtSvidIssuer } from '../../../controlplane/issuer/issuer.js';

const ISSUER = 'https://sigil.test';
const POLICY = { rotationPeriodSeconds: 3600, maxTokenTtlSeconds: 600, skewSeconds: 30 };

async function setup(t: import('ava').ExecutionContext) {
  const dir = await mkdtemp(join(tmpdir(), 'sigil-test-issuer-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const clock = { now: Date.UTC(2030, 0, 1) };
  const now = (): number => clock.now;
  const keys = new KeySet(join(dir, 'issuer'), POLICY, now);
  await keys.maintain();
  const issuer = new JwtSvidIssuer({ issuerUrl: ISSUER, keys, now });
  /** Verifies as a relying party would: against the published JWKS, at the fake clock's time. */
  const verify = async (token: string, audience = 'oci') => jwtVerify(token, createLocalJWKSet(await issuer.jwks() as JSONWebKeySet), {
    issuer: ISSUER, audience, algorithms: ['ES256'], currentDate: new Date(clock.now),
  });
  return { dir, clock, keys, issuer, verify };
}

test('keys are written 0600 in a 0700 dir and hold the private key only there', async (t) => {
  const { dir, issuer } = await setup(t);
  t.is((await stat(join(dir, 'issuer'))).mode & 0o777, 0o700);
  t.is((await stat(join(dir, 'issuer', 'signing-keys.json'))).mode & 0o777, 0o600);
  t.true((await readFile(join(dir, 'issuer', 'signing-keys.json'), 'utf8')).includes('"d"'));
  const published = JSON.stringify([await issuer.jwks(), await issuer.bundle()]);
  t.false(published.includes('"d"'), 'no private part is ever published');
});

test('a JWT-SVID carries sub, aud, iss, iat, exp, kid, typ and verifies against the JWKS', async (t) => {
  const { issuer, verify, clock } = await setup(t);
  const { token, kid, expiresAt } = await issuer.mint('spiffe://example.org/billing/exporter', 'oci', 300);
  const { payload, protectedHeader } = await verify(token);
  t.deepEqual(protectedHeader, { alg: 'ES256', kid, typ: 'JWT' });
  t.deepEqual(payload, { sub: 'spiffe://example.org/billing/exporter', aud: 'oci', iss: ISSUER, iat: clock.now / 1000, exp: expiresAt });
  t.is(expiresAt - clock.now / 1000, 300);
});

test('a JWT-SVID fails after expiry and with a wrong audience; lifetimes are capped', async (t) => {
  const { issuer, verify, clock } = await setup(t);
  const { token } = await issuer.mint('spiffe://example.org/a', 'oci', 300);
  await t.throwsAsync(verify(token, 'someone-else'), { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', message: /aud/ });
  clock.now += 301_000;
  await t.throwsAsync(verify(token), { code: 'ERR_JWT_EXPIRED' });
  const long = await issuer.mint('spiffe://example.org/a', 'oci', 99_999);
  t.is(long.expiresAt - clock.now / 1000, POLICY.maxTokenTtlSeconds);
  await t.throwsAsync(issuer.mint('not-a-spiffe-id', 'oci'), { message: /SPIFFE/ });
  await t.throwsAsync(issuer.mint('spiffe://example.org/a', ''), { message: /audience/ });
});

test('rotation: the new key signs, old tokens verify until they expire, then the old key is retired', async (t) => {
  const { issuer, verify, keys, clock } = await setup(t);
  const old = await issuer.mint('spiffe://example.org/a', 'oci', 600);
  const bundleBefore = await issuer.bundle();

  clock.now += POLICY.rotationPeriodSeconds * 1000; // rotation due
  t.true(await keys.maintain());
  const fresh = await issuer.mint('spiffe://example.org/a', 'oci', 600);
  t.not(decodeProtectedHeader(fresh.token).kid, old.kid, 'the new key signs');
  t.is((await issuer.jwks()).keys.length, 2, 'both keys are published during the overlap');
  const bundle = await issuer.bundle();
  t.true((bundle['spiffe_sequence'] as number) > (bundleBefore['spiffe_sequence'] as number));
  t.true((bundle['keys'] as Array<{ use: string }>).every((k) => k.use === 'jwt-svid'));

  await verify(fresh.token);

  // Within max TTL + skew the old key stays; after it, it is retired and its tokens fail.
  clock.now += (POLICY.maxTokenTtlSeconds + POLICY.skewSeconds - 10) * 1000;
  t.false(await keys.maintain());
  t.is((await issuer.jwks()).keys.length, 2);
  clock.now += 20_000;
  t.true(await keys.maintain());
  t.deepEqual((await issuer.jwks()).keys.map((k) => k['kid']), [decodeProtectedHeader(fresh.token).kid]);
  // Verified at a time the token itself would still be valid: the key is what fails.
  const jwks = await issuer.jwks();
  await t.throwsAsync(jwtVerify(old.token, createLocalJWKSet(jwks as JSONWebKeySet), { currentDate: new Date((old.expiresAt - 1) * 1000) }), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
});

test('a token signed just before rotation stays valid through the overlap', async (t) => {
  const { issuer, verify, keys, clock } = await setup(t);
  clock.now += POLICY.rotationPeriodSeconds * 1000 - 1000;
  const beforeRotation = await issuer.mint('spiffe://example.org/a', 'oci', 600);
  clock.now += 1000;
  await keys.maintain();
  t.not((await issuer.mint('spiffe://example.org/a', 'oci')).kid, beforeRotation.kid);
  clock.now += 590_000; // 10 s before it expires
  t.false(await keys.maintain());
  await t.notThrowsAsync(verify(beforeRotation.token));
});

test('the discovery document is what OIDC verifiers expect', async (t) => {
  const { issuer } = await setup(t);
  t.deepEqual(issuer.discovery(), {
    issuer: ISSUER,
    jwks_uri: `${ISSUER}/.well-known/jwks.json`,
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['ES256'],
    claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss'],
  });
});

test('replicas sharing the key dir see each other\'s rotation', async (t) => {
  const { dir, issuer, clock } = await setup(t);
  const other = new JwtSvidIssuer({ issuerUrl: ISSUER, keys: new KeySet(join(dir, 'issuer'), POLICY, () => clock.now), now: () => clock.now });
  t.is((await other.mint('spiffe://example.org/a', 'oci')).kid, (await issuer.mint('spiffe://example.org/a', 'oci')).kid);
  await other.keys.rotate();
  t.is((await issuer.mint('spiffe://example.org/a', 'oci')).kid, (await other.mint('spiffe://example.org/a', 'oci')).kid);
  t.is((await issuer.jwks()).keys.length, 2);
});
