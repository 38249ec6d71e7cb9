/**
 * The store on a real 3-node JetStream cluster (plain loopback, no auth): an existing R1 bucket is
 * brought to the configured replica count at start and says so; the store's readiness turns false
 * with a reason within seconds of losing quorum and true again after; the agent registry answers
 * list() from its watched view, creating no consumer per call, also while JetStream is down.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import test from 'ava';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { createLogger } from '../../../controlplane/log.js';
import { openBucket } from '../../../controlplane/store/bucket.js';
import { ResourceStore } from '../../../controlplane/store/resource-store.js';
import { StoreHealth } from '../../../controlplane/store/store-health.js';
import { AgentRegistry } from '../../../controlplane/fleet/agent-registry.js';
import { Restartable } from '../../e2e/ha-cluster.js';

const NODES = [1, 2, 3].map((i) => ({ host: `127.77.15.${20 + i}`, client: 24900 + i, cluster: 24910 + i, monitor: 24920 + i }));

async function until(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await Promise.resolve(check()).catch(() => false)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

test.serial('replica count, readiness on quorum loss, and a registry list that needs no consumer', async (t) => {
  t.timeout(180_000);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sigil-test-cluster-store-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const nodes = await Promise.all(NODES.map(async (n, i) => {
    const file = path.join(dir, `n${i + 1}.conf`);
    await writeFile(file, [
      `server_name: n${i + 1}`, `listen: "${n.host}:${n.client}"`, `http: "${n.host}:${n.monitor}"`,
      `jetstream { store_dir: ${JSON.stringify(path.join(dir, `n${i + 1}`))} }`,
      `cluster { name: "t", listen: "${n.host}:${n.cluster}", routes: [${NODES.filter((o) => o !== n).map((o) => `"nats-route://${o.host}:${o.cluster}"`).join(', ')}] }`,
    ].join('\n'));
    const proc = new Restartable(`n${i + 1}`, 'nats-server', ['-c', file]);
    t.teardown(() => proc.kill('SIGTERM'));
    return { ...n, proc };
  }));
  const healthy = (n: (typeof nodes)[number]) => async (): Promise<boolean> => (await fetch(`http://${n.host}:${n.monitor}/healthz`)).status === 200;
  await Promise.all(nodes.map((n) => n.proc.start(healthy(n), 60_000)));

  const nc = await connect({ servers: nodes.map((n) => `nats://${n.host}:${n.client}`), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  t.teardown(() => nc.close());
  const jsm = await jetstreamManager(nc);

  // A bucket as an older control plane made it (R1), then opened with replicas: 3.
  await new Kvm(nc).create('sigil-fleet', { history: 1, replicas: 1 });
  let logged = '';
  const log = createLogger({ level: 'info' }, new Writable({ write(chunk, _enc, done) { logged += chunk.toString(); done(); } }));
  const kv = await openBucket(nc, 'sigil-fleet', { replicas: 3, log });
  t.is((await jsm.streams.info('KV_sigil-fleet')).config.num_replicas, 3);
  t.regex(logged, /"bucket":"sigil-fleet","from":1,"to":3,"msg":"bucket replica count changed to the configured one"/);

  // The registry: one watch, then list() from memory.
  const registry = new AgentRegistry(kv, nc, 'sigil-fleet', log);
  const stop = new AbortController();
  t.teardown(() => stop.abort());
  const following = registry.run(stop.signal);
  await registry.add({ id: 'agent-000000000001', hostname: 'h1', labels: {}, publicNkey: 'U1', enrolledAt: new Date().toISOString() });
  // Written by someone else (another replica): seen through the watch.
  await kv.put('agent.agent-000000000002', JSON.stringify({ id: 'agent-000000000002', hostname: 'h2', labels: {}, publicNkey: 'U2', enrolledAt: new Date().toISOString() }));
  t.true(await until(async () => (await registry.list()).length === 2, 10_000), 'the watched view sees the other writer');
  const consumers = async (): Promise<number> => (await jsm.streams.info('KV_sigil-fleet')).state.consumer_count;
  const before = await consumers();
  for (let i = 0; i < 20; i++) await registry.list();
  t.is(await consumers(), before, 'list() creates no consumer');

  // Readiness follows the store: two nodes down (no quorum) → not ready with a reason; back → ready.
  const store = await ResourceStore.open(nc, 'sigil-resources', { replicas: 3, log });
  const health = new StoreHealth(nc, store, log, { intervalMs: 250, timeoutMs: 1_000 });
  const probing = health.run(stop.signal);
  t.true(await until(() => health.readiness().ready, 10_000), 'ready with every node up');
  await nodes[1]!.proc.kill();
  await nodes[2]!.proc.kill();
  const lost = Date.now();
  t.true(await until(() => !health.readiness().ready, 10_000), 'not ready once quorum is lost');
  t.log(`not ready ${Date.now() - lost} ms after quorum was lost: ${health.readiness().reason}`);
  // Which reason depends on whether the client's own node was among the two killed.
  t.regex(health.readiness().reason ?? '', /store unavailable|not connected to any NATS server/);
  const listed = Date.now();
  t.is((await registry.list()).length, 2, 'list() still answers from memory');
  t.true(Date.now() - listed < 500);
  await Promise.all([nodes[1]!, nodes[2]!].map((n) => n.proc.start(healthy(n), 60_000)));
  t.true(await until(() => health.readiness().ready, 30_000), 'ready again after the nodes return');
  stop.abort();
  await Promise.all([following, probing]);
});
