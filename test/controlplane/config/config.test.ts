import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { loadConfig } from '../../../controlplane/config/config.js';

async function configFrom(t: import('ava').ExecutionContext, yaml: string, overrides = {}) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sigil-test-cpconfig-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'controlplane.yaml');
  await writeFile(file, yaml);
  return loadConfig(file, overrides);
}

const THREE = 'nats:\n  servers:\n    - tls://n1:4222\n    - tls://n2:4223\n    - tls://n3:4224\nissuer:\n  url: https://sigil.example\n';

test('nats.servers as a YAML list: all kept, and 3 servers mean R3 buckets by default', async (t) => {
  const c = await configFrom(t, THREE);
  t.deepEqual(c.nats.servers, ['tls://n1:4222', 'tls://n2:4223', 'tls://n3:4224']);
  t.is(c.nats.replicas, 3);
});

test('defaults: one local server, R1; nats.url and --nats-url still take one URL or a comma-separated list (never truncated)', async (t) => {
  const none = await loadConfig(undefined);
  t.deepEqual(none.nats.servers, ['nats://127.0.0.1:4222']);
  t.is(none.nats.replicas, 1);
  const one = await configFrom(t, 'nats:\n  url: nats://n1:4222\n');
  t.deepEqual(one.nats.servers, ['nats://n1:4222']);
  const comma = await configFrom(t, 'nats:\n  url: nats://n1:4222,nats://n2:4222\nissuer:\n  url: https://sigil.example\n');
  t.deepEqual(comma.nats.servers, ['nats://n1:4222', 'nats://n2:4222']);
  t.is(comma.nats.replicas, 1, 'fewer than 3 servers: R1');
  const flag = await loadConfig(undefined, { natsUrl: 'nats://a:1,nats://b:2,nats://c:3', issuerUrl: 'https://sigil.example' });
  t.deepEqual(flag.nats.servers, ['nats://a:1', 'nats://b:2', 'nats://c:3']);
  t.is(flag.nats.replicas, 3);
});

test('nats.replicas is configuration, checked against the servers', async (t) => {
  t.is((await configFrom(t, `${THREE.replace('nats:\n', 'nats:\n  replicas: 1\n')}`)).nats.replicas, 1);
  await t.throwsAsync(configFrom(t, 'nats:\n  url: nats://n1:4222\n  replicas: 3\n'), { message: /nats\.replicas: 3 replicas need at least as many servers/ });
  await t.throwsAsync(configFrom(t, THREE.replace('nats:\n', 'nats:\n  replicas: 0\n')), { message: /nats\.replicas: must be a whole number from 1 to 5/ });
});

test('several servers (an HA installation) need an explicit issuer URL; bad server entries are named', async (t) => {
  await t.throwsAsync(configFrom(t, 'nats:\n  servers: [nats://n1:4222, nats://n2:4222]\n'), { message: /issuer\.url: must be set when nats\.servers lists several servers/ });
  await t.throwsAsync(configFrom(t, 'nats:\n  servers: [nats://n1:4222, "http://n2"]\n'), { message: /nats\.servers: "http:\/\/n2" is not a NATS URL/ });
  await t.throwsAsync(configFrom(t, 'nats:\n  servers: [nats://n1:4222]\n  url: nats://n2:4222\n'), { message: /give nats\.servers or nats\.url, not both/ });
});
