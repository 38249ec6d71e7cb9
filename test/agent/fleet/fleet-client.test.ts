import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { BundleSigningKey } from '../../../controlplane/fleet/bundle-signing-key.js';
import { createLogger } from '../../../agent/log.js';
import type { AgentBundle } from '../../../protocol/bundle.js';
import { BUNDLE_FILE, FleetClient, writeFileAtomic } from '../../../agent/fleet/index.js';

const AGENT = 'agent-0123456789ab';

/** An enrolled state dir whose NATS URL points at a closed port: the control plane is unreachable. */
async function enrolledStateDir(t: import('ava').ExecutionContext): Promise<{ dir: string; key: BundleSigningKey }> {
  const dir = await mkdtemp(join(tmpdir(), 'sigil-test-agent-fleet-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const key = await BundleSigningKey.loadOrCreate(join(dir, 'cp-key.jwk'));
  await writeFileAtomic(join(dir, 'enrollment.json'), JSON.stringify({ agentId: AGENT, natsUrl: 'nats://127.0.0.1:1', bundleSigningJwk: key.publicJwk, controlPlane: 'http://127.0.0.1:1', enrolledAt: new Date().toISOString() }));
  await writeFile(join(dir, 'nats.creds'), '-----BEGIN NATS USER JWT-----\nx\n------END NATS USER JWT------\n', { mode: 0o600 });
  return { dir, key };
}

const bundle = (revision: number): AgentBundle => ({ agentId: AGENT, revision, issuedAt: new Date().toISOString(), bindings: [{ id: `b${revision}`, spiffeId: 'spiffe://example.org/x', workload: 'x', selectors: ['unix:uid:1'], destinations: ['objectstorage.us-ashburn-1.oraclecloud.com'], ttlSeconds: 900, source: 's' }] });

test('with NATS down the agent serves the last good bundle from disk; new bundles are persisted atomically, 0600', async (t) => {
  const { dir, key } = await enrolledStateDir(t);
  await writeFileAtomic(join(dir, BUNDLE_FILE), JSON.stringify({ jws: await key.sign(bundle(4)), appliedAt: new Date().toISOString() }));
  const applied: number[] = [];
  const client = await FleetClient.start({ stateDir: dir, version: 't', log: createLogger({ level: 'silent' }), programs: () => [], apply: async (b) => { applied.push(b.revision); } });
  t.deepEqual(applied, [4], 'restored before any NATS connection');
  t.is(client.revision, 4);

  await client.offer(await key.sign(bundle(6)));
  t.deepEqual(applied, [4, 6]);
  await client.offer(await key.sign(bundle(6)));
  t.deepEqual(applied, [4, 6], 'an equal revision is a no-op');
  const saved = JSON.parse(await readFile(join(dir, BUNDLE_FILE), 'utf8')) as { jws: string };
  t.is(saved.jws.split('.').length, 3);
  t.is((await stat(join(dir, BUNDLE_FILE)).then((s) => s.mode & 0o777)), 0o600);

  const failing = await t.throwsAsync(client.offer(await key.sign({ ...bundle(9), agentId: 'agent-other' })));
  t.is((failing as { code?: string }).code, 'SIGIL_ERR_BUNDLE_WRONG_AGENT');
  const started = Date.now();
  await client.stop();
  t.true(Date.now() - started < 2_000, 'stop() ends the connect loop');
});

test('a tampered saved bundle is not loaded; an apply that fails leaves the old bundle in place', async (t) => {
  const { dir, key } = await enrolledStateDir(t);
  const jws = await key.sign(bundle(3));
  const [h, p, s] = jws.split('.') as [string, string, string];
  const tampered = `${h}.${Buffer.from(JSON.stringify({ ...bundle(99) })).toString('base64url')}.${s}`;
  await writeFileAtomic(join(dir, BUNDLE_FILE), JSON.stringify({ jws: tampered, appliedAt: 'x' }));
  let fail = false;
  const applied: number[] = [];
  const client = await FleetClient.start({ stateDir: dir, version: 't', log: createLogger({ level: 'silent' }), programs: () => [], apply: async (b) => {
    if (fail) throw new Error('attestor unavailable');
    applied.push(b.revision);
  } });
  t.teardown(() => client.stop());
  t.is(client.revision, 0);
  t.deepEqual(applied, []);
  await client.offer(`${h}.${p}.${s}`);
  t.is(client.revision, 3);
  fail = true;
  const err = await t.throwsAsync(client.offer(await key.sign(bundle(5))));
  t.is((err as { code?: string }).code, 'SIGIL_ERR_BUNDLE_APPLY_FAILED');
  t.is(client.revision, 3);
  t.is(JSON.parse(await readFile(join(dir, BUNDLE_FILE), 'utf8')).jws, jws);
});
