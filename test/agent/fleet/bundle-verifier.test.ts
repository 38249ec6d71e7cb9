import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BundleVerifier } from '../../../agent/fleet/bundle-verifier.js';
import { BundleSigningKey } from '../../../controlplane/fleet/bundle-signing-key.js';
import { BUNDLE_FORMAT, type AgentBundle } from '../../../protocol/bundle.js';

const AGENT = 'agt-verifier-test';

async function keyAndVerifier(t: { teardown(fn: () => void): void }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sigil-bundle-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const key = await BundleSigningKey.loadOrCreate(path.join(dir, 'bundle-key.jwk'));
  return { key, verifier: await BundleVerifier.create(key.publicJwk, AGENT) };
}

const good: AgentBundle = {
  format: BUNDLE_FORMAT, agentId: AGENT, revision: 4, issuedAt: '2026-12-01T00:00:00.000Z',
  bindings: [{ id: 'a', spiffeId: 'spiffe://example.org/a', workload: 'a', selectors: ['unix:uid:1001'], destinations: ['objectstorage.us-ashburn-1.oraclecloud.com'], ttlSeconds: 900, source: 'oci' }],
};

test('a correctly signed, well-formed bundle verifies and decodes', async (t) => {
  const { key, verifier } = await keyAndVerifier(t);
  t.deepEqual(await verifier.verify(await key.sign(good)), good);
});

test('a correctly signed bundle with one bad selector is refused whole, naming the field and its revision', async (t) => {
  const { key, verifier } = await keyAndVerifier(t);
  const bad = { ...good, bindings: [{ ...good.bindings[0]!, selectors: ['unix:uid:4294967295'] }] };
  const err = await t.throwsAsync(verifier.verify(await key.sign(bad)));
  t.is((err as { code?: string }).code, 'SIGIL_ERR_BUNDLE_MALFORMED');
  t.regex(err!.message, /bindings\[0\]\.selectors\[0\]/);
  t.is((err as { revision?: number }).revision, 4);
});

test('a bundle of a newer format is refused as such', async (t) => {
  const { key, verifier } = await keyAndVerifier(t);
  const err = await t.throwsAsync(verifier.verify(await key.sign({ ...good, format: BUNDLE_FORMAT + 1 })));
  t.is((err as { code?: string }).code, 'SIGIL_ERR_BUNDLE_FORMAT');
});
