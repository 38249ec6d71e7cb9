/**
 * `sigil-controlplane init-nats --node <name>`: one node's config per host, for the authority made
 * before. Three nodes written one by one (each on its own loopback address, all on the same ports, as
 * on three hosts) pass `nats-server -t`, form one JetStream cluster and carry an R3 bucket that the
 * admin user reaches over TLS; next to `--cluster`'s configs it signs with that cluster's CA.
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { clusterCa } from '../../../controlplane/cli/nats-pki.js';
import { openBucket } from '../../../controlplane/store/bucket.js';
import { SERVER_MAIN, tempDir } from '../support.js';
import { Restartable, httpStatus } from '../../e2e/ha-cluster.js';
import { gatedTest } from '../../helpers/ci.js';

const test = gatedTest(spawnSync('nats-server', ['--version']).error ? 'nats-server not found' : undefined, 'init-nats --node');

const HOSTS = [61, 62, 63].map((i) => `127.77.150.${i}`);
const PORTS = { client: 15180, cluster: 15181, monitor: 15182 };

function initNats(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [SERVER_MAIN, 'init-nats', ...args], { encoding: 'utf8' });
}

test.serial('three nodes written one per host form a JetStream cluster with TLS, on the authority made before and the operator\'s CA', async (t) => {
  t.timeout(120_000);
  const dir = await tempDir(t, 'init-nats-node');
  const stateDir = join(dir, 'cp');
  // The authority, once (the single-node form; --cluster would do too), then only its public part is read.
  const first = initNats(['--state-dir', stateDir, '--nats-config', join(dir, 'single.conf'), '--data-dir', join(dir, 'single')]);
  t.is(first.status, 0, first.stderr);
  t.is((await stat(join(stateDir, 'fleet/nats-authority.json'))).mode & 0o777, 0o644, 'the authority\'s public part is readable');
  const own = await clusterCa();
  await writeFile(join(dir, 'ca.pem'), own.certPem);
  await writeFile(join(dir, 'ca-key.pem'), own.keyPem as string, { mode: 0o600 });

  const nodes = [];
  for (const [i, host] of HOSTS.entries()) {
    const name = `nats-${i + 1}`;
    const config = join(dir, `host-${i + 1}`, 'nats.conf');
    const run = initNats(['--node', name, '--host', host, '--routes', HOSTS.filter((h) => h !== host).map((h) => `${h}:${PORTS.cluster}`).join(','),
      '--client-port', String(PORTS.client), '--cluster-port', String(PORTS.cluster), '--monitor-port', String(PORTS.monitor),
      '--state-dir', stateDir, '--nats-config', config, '--data-dir', join(dir, `host-${i + 1}`, 'data'),
      '--tls-ca-cert', join(dir, 'ca.pem'), '--tls-ca-key', join(dir, 'ca-key.pem')]);
    t.is(run.status, 0, run.stderr);
    const check = spawnSync('nats-server', ['-t', '-c', config], { encoding: 'utf8' });
    t.is(check.status, 0, `nats-server -t ${config}: ${check.stderr}`);
    const text = await readFile(config, 'utf8');
    t.true(text.includes(`server_name: "${name}"`));
    for (const other of HOSTS.filter((h) => h !== host)) t.true(text.includes(`"nats-route://${other}:${PORTS.cluster}"`), `route to ${other}`);
    const cert = new X509Certificate(await readFile(join(dir, `host-${i + 1}`, 'tls', `${name}.pem`)));
    t.true(cert.verify(new X509Certificate(own.certPem).publicKey), 'signed by the given CA');
    t.true(cert.checkIP(host) !== undefined);
    t.is((await stat(join(dir, `host-${i + 1}`, 'tls', `${name}-key.pem`))).mode & 0o077, 0, 'node key private');
    await t.throwsAsync(stat(join(dir, `host-${i + 1}`, 'tls', 'ca-key.pem')), { code: 'ENOENT' }, 'the CA key stays where it was');
    const proc = new Restartable(name, 'nats-server', ['-c', config]);
    t.teardown(() => proc.kill('SIGTERM'));
    nodes.push({ name, host, proc });
  }
  const jsz = async (host: string): Promise<{ meta_cluster?: { leader?: string; cluster_size?: number } }> =>
    (await fetch(`http://${host}:${PORTS.monitor}/jsz`, { signal: AbortSignal.timeout(2_000) })).json() as Promise<{ meta_cluster?: { leader?: string; cluster_size?: number } }>;
  await Promise.all(nodes.map((n) => n.proc.start(async () => (await httpStatus(`http://${n.host}:${PORTS.monitor}/healthz`)) === 200, 60_000)));
  // One cluster: every node sees the same elected meta leader among three peers.
  const deadline = Date.now() + 30_000;
  let views: Array<{ meta_cluster?: { leader?: string; cluster_size?: number } }> = [];
  for (;;) {
    views = await Promise.all(HOSTS.map((h) => jsz(h).catch(() => ({}))));
    const leaders = new Set(views.map((v) => v.meta_cluster?.leader));
    if ((leaders.size === 1 && !leaders.has(undefined) && views.every((v) => v.meta_cluster?.cluster_size === 3)) || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  t.true(views.every((v) => v.meta_cluster?.cluster_size === 3), JSON.stringify(views.map((v) => v.meta_cluster)));
  t.true(nodes.some((n) => n.name === views[0]?.meta_cluster?.leader), 'a meta leader among the three');

  // JetStream across the cluster, as the control plane uses it: the admin user over TLS, an R3 bucket.
  const nc = await connect({
    servers: HOSTS.map((h) => `tls://${h}:${PORTS.client}`), tls: { caFile: join(dir, 'host-1', 'tls', 'ca.pem') },
    authenticator: credsAuthenticator(await readFile(join(stateDir, 'admin.creds'))),
  });
  t.teardown(() => nc.close());
  // Opened as the control plane opens its buckets (openBucket retries what a just-formed cluster refuses).
  const kv = await openBucket(nc, 'node-test', { replicas: 3 });
  await kv.put('k', 'v');
  t.is((await kv.get('k'))?.string(), 'v');
  const info = await (await jetstreamManager(nc)).streams.info('KV_node-test');
  t.is(info.config.num_replicas, 3);
  t.deepEqual([info.cluster?.leader, ...(info.cluster?.replicas ?? []).map((r) => r.name)].sort(), nodes.map((n) => n.name).sort(), 'replicated on all three nodes');
});

test('next to --cluster\'s configs --node signs with that cluster\'s CA; bad input is refused', async (t) => {
  const dir = await tempDir(t, 'init-nats-node-extra');
  const stateDir = join(dir, 'cp');
  const natsDir = join(dir, 'nats');
  const cluster = initNats(['--cluster', '3', '--hosts', '127.77.150.71,127.77.150.72,127.77.150.73', '--state-dir', stateDir, '--nats-config', natsDir, '--data-dir', join(dir, 'data')]);
  t.is(cluster.status, 0, cluster.stderr);
  const added = initNats(['--node', 'sigil-nats-4', '--host', '127.77.150.74', '--routes', 'nats-route://127.77.150.71:6222,127.77.150.72:6223',
    '--state-dir', stateDir, '--nats-config', join(natsDir, 'node-4.conf'), '--data-dir', join(dir, 'data')]);
  t.is(added.status, 0, added.stderr);
  t.is(spawnSync('nats-server', ['-t', '-c', join(natsDir, 'node-4.conf')]).status, 0);
  const ca = new X509Certificate(await readFile(join(natsDir, 'tls/ca.pem')));
  t.true(new X509Certificate(await readFile(join(natsDir, 'tls/sigil-nats-4.pem'))).verify(ca.publicKey), 'signed by the cluster CA');
  const text = await readFile(join(natsDir, 'node-4.conf'), 'utf8');
  t.true(text.includes('"nats-route://127.77.150.72:6223"'));
  // Every node carries the same authority.
  const operatorLine = (s: string): string | undefined => /^operator: .*$/m.exec(s)?.[0];
  t.is(operatorLine(text), operatorLine(await readFile(join(natsDir, 'node-1.conf'), 'utf8')));

  const noRoutes = initNats(['--node', 'n5', '--state-dir', stateDir, '--nats-config', join(natsDir, 'node-5.conf')]);
  t.is(noRoutes.status, 1);
  t.regex(noRoutes.stderr, /--node needs --routes/);
  const noAuthority = initNats(['--node', 'n5', '--routes', '127.0.0.1:6222', '--state-dir', join(dir, 'empty'), '--nats-config', join(natsDir, 'node-5.conf')]);
  t.is(noAuthority.status, 1);
  t.regex(noAuthority.stderr, /cannot read the NATS authority/);
  const noCa = initNats(['--node', 'n5', '--routes', '127.0.0.1:6222', '--state-dir', stateDir, '--nats-config', join(dir, 'elsewhere', 'n5.conf')]);
  t.is(noCa.status, 1);
  t.regex(noCa.stderr, /no CA: give --tls-ca-cert/);
  const both = initNats(['--node', 'n5', '--cluster', '3', '--routes', '127.0.0.1:6222', '--state-dir', stateDir, '--nats-config', join(natsDir, 'n5.conf')]);
  t.is(both.status, 1);
  t.regex(both.stderr, /--node and --cluster go apart/);
  const badRoute = initNats(['--node', 'n5', '--routes', 'http://x', '--state-dir', stateDir, '--nats-config', join(natsDir, 'n5.conf')]);
  t.is(badRoute.status, 1);
  t.regex(badRoute.stderr, /is not host:port/);
});
