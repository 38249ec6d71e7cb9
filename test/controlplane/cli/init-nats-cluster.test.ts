/**
 * `sigil-controlplane init-nats --cluster N` writes one complete config per node that nats-server
 * itself accepts (`nats-server -t`), with distinct listeners, routes to every other node, its own
 * JetStream and resolver dirs and TLS from a CA it made (or the operator's), plus the replicas'
 * state and a control-plane config that names every server.
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { clusterCa } from '../../../controlplane/cli/nats-pki.js';
import { SERVER_MAIN, tempDir } from '../support.js';
import { gatedTest } from '../../helpers/ci.js';

const test = gatedTest(spawnSync('nats-server', ['--version']).error ? 'nats-server not found' : undefined, 'init-nats --cluster');

const HOSTS = ['127.77.15.1', '127.77.15.2', '127.77.15.3'];

function initNats(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [SERVER_MAIN, 'init-nats', ...args], { encoding: 'utf8' });
}

test('three valid node configs, TLS for clients and routes, and a control-plane config naming all three', async (t) => {
  const dir = await tempDir(t, 'init-nats-cluster');
  const stateDir = join(dir, 'cp');
  const natsDir = join(dir, 'nats');
  const run = initNats(['--cluster', '3', '--hosts', HOSTS.join(','), '--client-port', '24400', '--cluster-port', '24500', '--monitor-port', '24600',
    '--state-dir', stateDir, '--nats-config', natsDir, '--data-dir', join(dir, 'data'), '--issuer-url', 'https://sigil.example']);
  t.is(run.status, 0, run.stderr);

  const ca = new X509Certificate(await readFile(join(natsDir, 'tls/ca.pem')));
  const listeners = new Set<string>();
  for (const [i, host] of HOSTS.entries()) {
    const file = join(natsDir, `node-${i + 1}.conf`);
    const check = spawnSync('nats-server', ['-t', '-c', file], { encoding: 'utf8' });
    t.is(check.status, 0, `nats-server -t ${file}: ${check.stderr}`);
    const text = await readFile(file, 'utf8');
    t.regex(text, new RegExp(`server_name: "sigil-nats-${i + 1}"`));
    for (const [key, port] of [['listen', 24400 + i], ['http', 24600 + i]] as const) t.true(text.includes(`${key}: "${host}:${port}"`), `${key} of node ${i + 1}`);
    t.true(text.includes(`listen: "${host}:${24500 + i}"`), 'cluster listener');
    for (const other of HOSTS.filter((h) => h !== host)) t.regex(text, new RegExp(`"nats-route://${other.replace(/\./g, '\\.')}:245\\d\\d"`));
    t.true(text.includes(join(dir, 'data', `sigil-nats-${i + 1}`, 'jetstream')), 'own JetStream store');
    t.true(text.includes(join(dir, 'data', `sigil-nats-${i + 1}`, 'resolver')), 'own resolver dir');
    t.is((text.match(/cert_file:/g) ?? []).length, 2, 'TLS for clients and for routes');
    t.regex(text, /verify: true/, 'routes are mutual TLS');
    const cert = new X509Certificate(await readFile(join(natsDir, `tls/sigil-nats-${i + 1}.pem`)));
    t.true(cert.verify(ca.publicKey), 'node certificate signed by the cluster CA');
    t.true(cert.checkIP(host) !== undefined, `certificate valid for ${host}`);
    t.is((await stat(join(natsDir, `tls/sigil-nats-${i + 1}-key.pem`))).mode & 0o077, 0, 'node key private');
    listeners.add(`${host}:${24400 + i}`).add(`${host}:${24500 + i}`).add(`${host}:${24600 + i}`);
  }
  t.is(listeners.size, 9);
  const cp = parse(await readFile(join(stateDir, 'controlplane.yaml'), 'utf8')) as { nats: { servers: string[]; replicas: number; caFile: string; credsFile: string }; issuer: { url: string } };
  t.deepEqual(cp.nats.servers, HOSTS.map((h, i) => `tls://${h}:${24400 + i}`));
  t.is(cp.nats.replicas, 3);
  t.is(cp.issuer.url, 'https://sigil.example');
  t.is(await readFile(join(stateDir, cp.nats.caFile), 'utf8'), await readFile(join(natsDir, 'tls/ca.pem'), 'utf8'));
  for (const f of ['fleet/nats-auth.json', 'controlplane.creds', 'admin.creds', 'admin.token', 'fleet/bundle-signing.jwk']) {
    t.is((await stat(join(stateDir, f))).mode & 0o077, 0, `${f} is private`);
  }
  const auth = JSON.parse(await readFile(join(stateDir, 'fleet/nats-auth.json'), 'utf8')) as { agentNatsServers: string[] };
  t.deepEqual(auth.agentNatsServers, cp.nats.servers, 'agents are told every server at enrolment');
});

test("the operator's own CA is used when given, and bad layouts are refused", async (t) => {
  const dir = await tempDir(t, 'init-nats-own-ca');
  const own = await clusterCa();
  await writeFile(join(dir, 'ca.pem'), own.certPem);
  await writeFile(join(dir, 'ca-key.pem'), own.keyPem as string, { mode: 0o600 });
  const run = initNats(['--cluster', '3', '--tls-ca-cert', join(dir, 'ca.pem'), '--tls-ca-key', join(dir, 'ca-key.pem'), '--client-port', '24700', '--cluster-port', '24710', '--monitor-port', '24720',
    '--state-dir', join(dir, 'cp'), '--nats-config', join(dir, 'nats'), '--data-dir', join(dir, 'data')]);
  t.is(run.status, 0, run.stderr);
  t.is(await readFile(join(dir, 'nats/tls/ca.pem'), 'utf8'), own.certPem);
  await t.throwsAsync(stat(join(dir, 'nats/tls/ca-key.pem')), { code: 'ENOENT' }, 'the operator keeps their CA key');
  const node = new X509Certificate(await readFile(join(dir, 'nats/tls/sigil-nats-2.pem')));
  t.true(node.verify(new X509Certificate(own.certPem).publicKey));
  for (let i = 1; i <= 3; i++) t.is(spawnSync('nats-server', ['-t', '-c', join(dir, `nats/node-${i}.conf`)]).status, 0);

  const bad = initNats(['--cluster', '3', '--hosts', 'a,b', '--state-dir', join(dir, 'cp2'), '--nats-config', join(dir, 'nats2')]);
  t.is(bad.status, 1);
  t.regex(bad.stderr, /--hosts names 2 hosts for 3 nodes/);
  const clash = initNats(['--cluster', '3', '--client-port', '24800', '--cluster-port', '24801', '--state-dir', join(dir, 'cp3'), '--nats-config', join(dir, 'nats3')]);
  t.is(clash.status, 1);
  t.regex(clash.stderr, /port ranges overlap/);
});

test('--cluster 1 writes one TLS node without a cluster block (nats-server refuses JetStream clustering without routes)', async (t) => {
  const dir = await tempDir(t, 'init-nats-one');
  const run = initNats(['--cluster', '1', '--hosts', '127.77.150.81', '--state-dir', join(dir, 'cp'), '--nats-config', join(dir, 'nats'), '--data-dir', join(dir, 'data')]);
  t.is(run.status, 0, run.stderr);
  const check = spawnSync('nats-server', ['-t', '-c', join(dir, 'nats/node-1.conf')], { encoding: 'utf8' });
  t.is(check.status, 0, check.stderr);
  const text = await readFile(join(dir, 'nats/node-1.conf'), 'utf8');
  t.notRegex(text, /cluster \{/);
  t.is((text.match(/cert_file:/g) ?? []).length, 1, 'TLS for clients');
  const cp = parse(await readFile(join(dir, 'cp/controlplane.yaml'), 'utf8')) as { nats: { servers: string[]; replicas: number } };
  t.deepEqual(cp.nats.servers, ['tls://127.77.150.81:4222']);
  t.is(cp.nats.replicas, 1);
});
