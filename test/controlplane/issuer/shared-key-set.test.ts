/**
 * Replicas with separate state dirs and one shared key set (SharedKeySetStore; NATS KV in production,
 * here an in-memory store with the same compare-and-set rule): one signing key and one published
 * set for all, rotation by one seen by the others, racing rotations settle on one set, and a key set
 * already on disk is imported rather than replaced.
 */
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { KeySet, type KeySetFile, type SharedKeySetStore } from '../../../controlplane/issuer/key-set.js';
import { JwtSvidIssuer } from '../../../controlplane/issuer/issuer.js';

const POLICY = { rotationPeriodSeconds: 3600, maxTokenTtlSeconds: 600, skewSeconds: 30 };
const ISSUER = 'https://sigil.test';

class MemoryStore implements SharedKeySetStore {
  value: string | undefined;
  seq = 0;
  writes = 0;
  async read(): Promise<{ file: KeySetFile | undefined; seq: number }> {
    return { file: this.value === undefined ? undefined : JSON.parse(this.value) as KeySetFile, seq: this.seq };
  }
  async write(file: KeySetFile, seq: number): Promise<boolean> {
    await new Promise((r) => setImmediate(r)); // let racing writers interleave
    if (seq !== this.seq) return false;
    this.value = JSON.stringify(file);
    this.seq += 1;
    this.writes += 1;
    return true;
  }
}

async function dirs(t: import('ava').ExecutionContext, n: number): Promise<string[]> {
  return Promise.all(Array.from({ length: n }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sigil-test-shared-keys-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    return join(dir, 'issuer');
  }));
}

test('two replicas, separate dirs, one store: the same signing key and JWKS; a token from one verifies with the other\'s JWKS', async (t) => {
  const store = new MemoryStore();
  const [a, b] = (await dirs(t, 2)).map((dir) => new KeySet(dir, POLICY, Date.now, store));
  await Promise.all([a!.maintain(), b!.maintain()]);
  t.is((await a!.current()).signing.kid, (await b!.current()).signing.kid);
  t.is(JSON.parse(store.value as string).keys.length, 1, 'racing first starts made one key');
  const issuerA = new JwtSvidIssuer({ issuerUrl: ISSUER, keys: a!, defaultTtlSeconds: 300 });
  const issuerB = new JwtSvidIssuer({ issuerUrl: ISSUER, keys: b!, defaultTtlSeconds: 300 });
  t.deepEqual(await issuerA.jwks(), await issuerB.jwks());
  const minted = await issuerA.mint('spiffe://sigil.test/w', 'oci');
  await t.notThrowsAsync(jwtVerify(minted.token, createLocalJWKSet(await issuerB.jwks() as JSONWebKeySet), { issuer: ISSUER, audience: 'oci' }));
});

test('a rotation by one replica reaches the other; racing rotations leave one consistent set', async (t) => {
  const store = new MemoryStore();
  const [a, b] = (await dirs(t, 2)).map((dir) => new KeySet(dir, POLICY, Date.now, store));
  await a!.maintain();
  const first = (await b!.current()).signing.kid;
  await a!.rotate();
  const rotated = (await a!.current()).signing.kid;
  t.not(rotated, first);
  const deadline = Date.now() + 10_000;
  while ((await b!.current()).signing.kid !== rotated && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.is((await b!.current()).signing.kid, rotated, 'the other replica signs with the new key within its cache time');
  t.deepEqual((await b!.current()).published.map((k) => k.kid).sort(), [first, rotated].sort(), 'the old key stays published');

  await Promise.all([a!.rotate(), b!.rotate()]);
  const stored = JSON.parse(store.value as string) as KeySetFile;
  t.is(stored.keys.length, 4, 'both rotations landed, one after the other (none overwrote the other)');
  t.is(new Set(stored.keys.map((k) => k.kid)).size, 4);
});

test('a key set already in keyDir is imported into the shared store, not replaced', async (t) => {
  const [dir] = await dirs(t, 1);
  const local = new KeySet(dir!, POLICY);
  await local.maintain();
  const kid = (await local.current()).signing.kid;
  const store = new MemoryStore();
  const shared = new KeySet(dir!, POLICY, Date.now, store);
  await shared.maintain();
  t.is((await shared.current()).signing.kid, kid);
  t.is((JSON.parse(store.value as string) as KeySetFile).keys[0]?.kid, kid);
});
