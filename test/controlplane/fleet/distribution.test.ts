import test from 'ava';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { BundleSigningKey } from '../../../controlplane/fleet/bundle-signing-key.js';
import type { FleetStatus } from '../../../controlplane/fleet/views.js';
import { subjects } from '../../../protocol/subjects.js';
import { credentialDoc, identityDoc, sourceDoc } from '../fixtures.js';
import { tempDir } from '../support.js';
import { eventually, startFleetWorld, HEARTBEAT_MS } from './fleet-world.js';


test('a policy change reaches every agent, each acks it, and an agent offline during the change gets it on return', async (t) => {
  const world = await startFleetWorld(t);
  const first = await world.applyPolicy(sourceDoc(), identityDoc(), credentialDoc());
  const a = await world.addAgent({ role: 'billing' });
  const b = await world.addAgent({ role: 'billing' });
  const c = await world.addAgent({ role: 'web' });
  await eventually(() => [a, b, c].every((x) => x.client.revision === first), 5_000, 'first bundle everywhere');
  t.deepEqual(a.applied.at(-1)?.bindings.map((x) => x.id), ['billing-os']);
  t.deepEqual(c.applied.at(-1)?.bindings, [], 'an agent the identity does not select gets an empty bundle');

  // b goes offline; the policy changes; a acks the change at once.
  await b.client.stop();
  const second = await world.applyPolicy(credentialDoc('billing-os', { destinations: ['objectstorage.us-phoenix-1.oraclecloud.com'] }));
  t.true(second > first);
  await eventually(() => a.client.revision === second, 3_000, 'push to a');
  t.deepEqual(a.applied.at(-1)?.bindings[0]?.destinations, ['objectstorage.us-phoenix-1.oraclecloud.com']);
  await eventually(async () => (await world.api<FleetStatus>('GET', `/v1/fleet/status?revision=${second}`)).body.pending?.join() === b.client.agentId, 3_000, 'only b pending');
  t.is(c.client.revision, first, 'c\'s bindings did not change, so nothing was pushed to it');

  // b comes back: it restores its saved bundle first, then asks for and acks the latest.
  const b2 = await world.startAgent(b);
  t.is(b2.client.revision, first, 'the last good bundle is loaded from disk before NATS');
  await eventually(() => b2.client.revision === second, 5_000, 'b catches up');
  await eventually(async () => (await world.api<FleetStatus>('GET', `/v1/fleet/status?revision=${second}`)).body.pending?.length === 0, 3_000, 'nobody pending');
});

test('forged, replayed and misaddressed bundles pushed over NATS are refused, reported, and the good one stays', async (t) => {
  const world = await startFleetWorld(t);
  const revision = await world.applyPolicy(sourceDoc(), identityDoc(), credentialDoc());
  const a = await world.addAgent();
  const b = await world.addAgent();
  await eventually(() => a.client.revision === revision && b.client.revision === revision);
  const appliedBefore = a.applied.length;

  const admin = await connect({ servers: world.nats.url, authenticator: credsAuthenticator(new TextEncoder().encode(world.auth.adminCreds)) });
  t.teardown(() => admin.close());
  const forger = await BundleSigningKey.loadOrCreate(`${await tempDir(t, 'forger')}/key.jwk`);
  const realKey = await BundleSigningKey.loadOrCreate(world.cp.fleet!.settings.bundleKeyFile);
  const bundle = { agentId: a.client.agentId, revision: revision + 5, issuedAt: new Date().toISOString(), bindings: [] };

  const refusals: string[] = [];
  const offer = async (jws: string): Promise<void> => {
    const err = await t.throwsAsync(a.client.offer(jws));
    refusals.push((err as { code?: string }).code ?? '');
  };
  await offer(await forger.sign(bundle)); // wrong key
  await offer(await realKey.sign({ ...bundle, revision: revision - 1 })); // replay of an older revision
  await offer(await realKey.sign({ ...bundle, agentId: b.client.agentId })); // for another agent
  t.deepEqual(refusals, ['SIGIL_ERR_BUNDLE_BAD_SIGNATURE', 'SIGIL_ERR_BUNDLE_ROLLBACK', 'SIGIL_ERR_BUNDLE_WRONG_AGENT']);

  // The same forgery arriving as a NATS push is refused too, and shows in fleet status via the heartbeat.
  admin.publish(subjects.bundlePush(a.client.agentId), await forger.sign(bundle));
  await eventually(async () => {
    const status = (await world.api<FleetStatus>('GET', '/v1/fleet/status')).body;
    const row = status.agents.find((r) => r.id === a.client.agentId);
    return row?.state === 'degraded' && row.reasons.some((r) => r.includes('SIGIL_ERR_BUNDLE_BAD_SIGNATURE'));
  }, 3_000, 'refusal reported');
  t.is(a.applied.length, appliedBefore, 'nothing was applied');
  t.is(a.client.revision, revision, 'the good bundle stays');
});

test('a heartbeat lacking a program turns the agent degraded naming it within two heartbeats; a stopped agent turns silent', async (t) => {
  const world = await startFleetWorld(t);
  const a = await world.addAgent();
  const b = await world.addAgent();
  const rowOf = async (id: string) => (await world.api<FleetStatus>('GET', '/v1/fleet/status')).body.agents.find((r) => r.id === id);
  await eventually(async () => (await rowOf(a.client.agentId))?.state === 'healthy' && (await rowOf(b.client.agentId))?.state === 'healthy', 3_000, 'healthy');
  t.deepEqual((await rowOf(a.client.agentId))?.programs.map((p) => p.name).sort(), ['sigil_connect4', 'sigil_connect6', 'sigil_sockops']);

  a.programs = a.programs.filter((p) => p.name !== 'sigil_sockops');
  const sentBefore = a.heartbeats;
  const fleet = world.cp.fleet!;
  const record = (await fleet.registry.get(a.client.agentId))!;
  await eventually(() => fleet.monitor.stateOf(record, fleet.distributor.issuedTo(record.id)).state === 'degraded', 3_000, 'degraded', 2);
  t.true(a.heartbeats - sentBefore <= 2, `degraded after ${a.heartbeats - sentBefore} heartbeat(s) without the program`);
  t.deepEqual((await rowOf(a.client.agentId))?.reasons, ['missing program sigil_sockops (cgroup_sock_ops)']);
  t.is((await rowOf(b.client.agentId))?.state, 'healthy');

  await b.client.stop();
  await eventually(async () => (await rowOf(b.client.agentId))?.state === 'silent', 3_000, 'silent');
  t.regex((await rowOf(b.client.agentId))?.reasons[0] ?? '', /no heartbeat for/);
});

test('a heartbeat naming another agent in its body is refused (the subject is what NATS vouches for)', async (t) => {
  const world = await startFleetWorld(t);
  const a = await world.addAgent();
  const b = await world.addAgent(undefined, { start: false });
  const creds = await import('node:fs/promises').then((fs) => fs.readFile(`${a.stateDir}/nats.creds`));
  const nc = await connect({ servers: world.nats.url, authenticator: credsAuthenticator(creds), inboxPrefix: subjects.inboxPrefix(a.client.agentId) });
  t.teardown(() => nc.close());
  const bId = (await world.api<{ items: Array<{ id: string }> }>('GET', '/v1/agents')).body.items.map((x) => x.id).find((id) => id !== a.client.agentId) as string;
  for (let i = 0; i < 5; i++) {
    nc.publish(subjects.heartbeat(a.client.agentId), JSON.stringify({ agentId: bId, version: 'x', revision: 0, sentAt: new Date().toISOString(), programs: [], counters: {}, workloads: [], refused: [] }));
  }
  await nc.flush();
  await new Promise((resolve) => setTimeout(resolve, 3 * HEARTBEAT_MS));
  const row = (await world.api<FleetStatus>('GET', '/v1/fleet/status')).body.agents.find((r) => r.id === bId);
  t.is(row?.state, 'silent', 'b never sent a heartbeat, and a\'s forgeries did not count');
  t.truthy(b.stateDir);
});
