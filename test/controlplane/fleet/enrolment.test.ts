import { readFile, stat } from 'node:fs/promises';
import test from 'ava';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { createUser } from '@nats-io/nkeys';
import { enroll } from '../../../agent/fleet/index.js';
import { BundleSigningKey } from '../../../controlplane/fleet/bundle-signing-key.js';
import type { FleetStatus } from '../../../controlplane/fleet/views.js';
import { subjects } from '../../../protocol/subjects.js';
import { tempDir } from '../support.js';
import { eventually, startFleetWorld } from './fleet-world.js';

const enrollBody = (token: string) => ({ token, publicNkey: createUser().getPublicKey(), hostname: 'h1' });

test('a join token works once, and not after it expired; of two racing enrolments exactly one wins', async (t) => {
  const world = await startFleetWorld(t);
  const token = await world.createToken({ labels: { role: 'billing' } });
  const first = await world.api<{ agentId: string; natsUrl: string }>('POST', '/v1/enroll', enrollBody(token));
  t.is(first.status, 200);
  t.is(first.body.natsUrl, world.nats.url);
  const again = await world.api<{ code: string }>('POST', '/v1/enroll', enrollBody(token));
  t.is(again.status, 401);
  t.is(again.body.code, 'SIGIL_ERR_FLEET_TOKEN_USED');
  t.is((await world.api<{ code: string }>('POST', '/v1/enroll', enrollBody('sjt_made-up'))).body.code, 'SIGIL_ERR_FLEET_TOKEN_INVALID');

  const short = await world.createToken({ ttl: '1s' });
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  const late = await world.api<{ code: string }>('POST', '/v1/enroll', enrollBody(short));
  t.is(late.status, 401);
  t.is(late.body.code, 'SIGIL_ERR_FLEET_TOKEN_EXPIRED');

  const raced = await world.createToken();
  const results = await Promise.all(Array.from({ length: 6 }, () => world.api('POST', '/v1/enroll', enrollBody(raced))));
  t.deepEqual(results.map((r) => r.status).sort(), [200, 401, 401, 401, 401, 401]);

  const agents = (await world.api<{ items: Array<{ id: string; labels: Record<string, string> }> }>('GET', '/v1/agents')).body.items;
  t.is(agents.length, 2);
  t.deepEqual(agents.find((a) => a.id === first.body.agentId)?.labels, { role: 'billing' }, 'the token\'s labels become the agent\'s');
});

test('enrolment stores 0600 files with the pinned key; the admin API refuses anyone without the bearer token', async (t) => {
  const world = await startFleetWorld(t);
  const dir = await tempDir(t, 'enroll');
  const enrollment = await enroll({ token: await world.createToken(), controlPlaneUrl: world.cp.url, stateDir: dir });
  const serverKey = await BundleSigningKey.loadOrCreate(world.cp.fleet!.settings.bundleKeyFile);
  t.deepEqual(enrollment.bundleSigningJwk, serverKey.publicJwk, 'the pinned key is the control plane\'s bundle key');
  t.is((await stat(world.cp.fleet!.settings.bundleKeyFile)).mode & 0o777, 0o600);
  for (const file of ['enrollment.json', 'nats.creds']) t.is((await stat(`${dir}/${file}`)).mode & 0o777, 0o600, file);
  t.regex(await readFile(`${dir}/nats.creds`, 'utf8'), /BEGIN USER NKEY SEED/);
  const res = await fetch(`${world.cp.url}/v1/tokens`, { method: 'POST', body: '{}' });
  t.is(res.status, 401);
});

test('agent A cannot read B\'s bundles or speak as B; a revoked agent is cut off and cannot connect again', async (t) => {
  const world = await startFleetWorld(t);
  const a = await world.addAgent();
  const b = await world.addAgent();
  await eventually(() => a.client.revision >= 0 && b.applied.length > 0, 3_000, 'b got its bundle');
  const credsA = await readFile(`${a.stateDir}/nats.creds`);
  const open = async (extra: object = {}): Promise<{ nc: NatsConnection; errors: string[] }> => {
    const nc = await connect({ servers: world.nats.url, authenticator: credsAuthenticator(credsA), inboxPrefix: subjects.inboxPrefix(a.client.agentId), maxReconnectAttempts: 0, ...extra });
    const errors: string[] = [];
    void (async () => { for await (const s of nc.status()) if (s.type === 'error') errors.push(s.error.message); })();
    return { nc, errors };
  };
  const { nc, errors } = await open();
  t.teardown(() => nc.close());

  const stolen: string[] = [];
  nc.subscribe(subjects.bundlePush(b.client.agentId), { callback: (err, m) => { if (!err) stolen.push(m.string()); } });
  nc.publish(subjects.heartbeat(b.client.agentId), JSON.stringify({ agentId: b.client.agentId }));
  nc.publish(subjects.bundleGet(b.client.agentId), '');
  await nc.flush();
  await eventually(() => errors.length >= 3, 3_000, 'permission errors');
  t.true(errors.some((e) => e.includes(`Permissions Violation for Subscription to "${subjects.bundlePush(b.client.agentId)}"`)), errors.join('\n'));
  t.true(errors.some((e) => e.includes(`Permissions Violation for Publish to "${subjects.heartbeat(b.client.agentId)}"`)));
  t.true(errors.some((e) => e.includes(`Permissions Violation for Publish to "${subjects.bundleGet(b.client.agentId)}"`)));
  // No inbox trick either: A cannot listen on B's reply prefix, nor use JetStream (the KV holding everything).
  const inboxDenied = nc.subscribe(`${subjects.inboxPrefix(b.client.agentId)}.>`);
  await nc.flush();
  await eventually(() => errors.some((e) => e.includes(`Subscription to "${subjects.inboxPrefix(b.client.agentId)}.>"`)), 3_000, 'inbox denied');
  inboxDenied.unsubscribe();
  await t.throwsAsync(nc.request('$JS.API.INFO', '', { timeout: 1_000 }));
  t.deepEqual(stolen, []);
  // While its own bundle is still served.
  const own = (await nc.request(subjects.bundleGet(a.client.agentId), '', { timeout: 3_000 })).json<{ ok: boolean }>();
  t.true(own.ok);

  // Revoke A: its live connections are dropped and new ones refused; B is untouched.
  const closed = nc.closed();
  const revoked = await world.api<{ revokedAt: string }>('POST', `/v1/agents/${a.client.agentId}/revoke`);
  t.is(revoked.status, 200);
  await closed;
  t.true(errors.some((e) => /revoked/i.test(e)), errors.join('\n'));
  await t.throwsAsync(connect({ servers: world.nats.url, authenticator: credsAuthenticator(credsA), maxReconnectAttempts: 0 }), { message: /Authorization Violation/ });
  await eventually(() => a.applied.at(-1)?.bindings.length === 0 && a.applied.at(-1)?.agentId === a.client.agentId, 3_000, 'a withdrew its bindings');
  const status = (await world.api<FleetStatus>('GET', '/v1/fleet/status')).body;
  t.is(status.agents.find((r) => r.id === a.client.agentId)?.state, 'revoked');
  t.true(b.client.revision >= 0);
  const credsB = await readFile(`${b.stateDir}/nats.creds`);
  const ncB = await connect({ servers: world.nats.url, authenticator: credsAuthenticator(credsB), inboxPrefix: subjects.inboxPrefix(b.client.agentId) });
  t.true((await ncB.request(subjects.bundleGet(b.client.agentId), '', { timeout: 3_000 })).json<{ ok: boolean }>().ok);
  await ncB.close();
});
