import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { agentConfigFrom, loadAgentConfig } from '../../agent/config.js';

test('defaults: steer the cgroup2 root, signer on its own loopback address and a privileged port (127.83.73.71/::1:944), admin on loopback', (t) => {
  const c = agentConfigFrom({}, '(defaults)');
  t.is(c.steering.cgroup, '');
  t.is(c.steering.pinDir, '/sys/fs/bpf/sigil');
  t.deepEqual([c.signer.ipv4, c.signer.ipv6, c.signer.port], ['127.83.73.71', '::1', 944]);
  t.is(c.admin.listen, '127.0.0.1:9464');
  t.deepEqual(c.fileFallback, []);
  t.deepEqual([c.signer.maxConnectionsPerProcess, c.signer.maxConnections], [1024, 4096]);
});

test('flags override the file', (t) => {
  const c = agentConfigFrom({ signer: { port: 1000 }, stateDir: '/from/file' }, 'f.yaml', { signerPort: 2000, stateDir: '/from/flag' });
  t.is(c.signer.port, 2000);
  t.is(c.stateDir, '/from/flag');
});

test('errors name the file and the field', (t) => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ signerr: {} }, /f\.yaml: signerr: unknown field/],
    [{ signer: { port: 70000 } }, /f\.yaml: signer\.port: must be a whole number from 1 to 65535/],
    [{ signer: { ipv4: '::1' } }, /f\.yaml: signer\.ipv4: "::1" is not an IPv4 address/],
    [{ signer: { maxConnections: 0 } }, /f\.yaml: signer\.maxConnections: must be a whole number from 1 to 30000/],
    [{ dns: { resolve: { 'objectstorage.x': ['not-an-ip'] } } }, /f\.yaml: dns\.resolve\.objectstorage\.x: must be an IP address/],
    [{ admin: { listen: 'nonsense' } }, /f\.yaml: admin\.listen:/],
    [{ fileFallback: [{ bindingId: 'b', uid: 1000, dir: 'relative' }] }, /f\.yaml: fileFallback\[0\]\.dir:/],
  ];
  for (const [raw, message] of cases) {
    const err = t.throws(() => agentConfigFrom(raw, 'f.yaml'));
    t.regex(err?.message ?? '', message);
    t.is((err as { code?: string }).code, 'SIGIL_ERR_CONFIG');
  }
});

test('a missing or unparsable file is a friendly error naming it', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sigil-test-agentcfg-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await t.throwsAsync(loadAgentConfig(path.join(dir, 'absent.yaml')), { message: /absent\.yaml: cannot read the config file \(it does not exist\)/ });
  const bad = path.join(dir, 'bad.yaml');
  await writeFile(bad, 'signer: [unclosed\n');
  await t.throwsAsync(loadAgentConfig(bad), { message: /bad\.yaml: not valid YAML/ });
});

test('NATS servers: unset by default (the enrolment decides); a list, one URL or a comma-separated string when set', (t) => {
  t.is(agentConfigFrom({}, '(defaults)').controlPlane.natsServers, undefined);
  t.deepEqual(agentConfigFrom({ controlPlane: { servers: ['tls://a:1', 'tls://b:2'] } }, 'f.yaml').controlPlane.natsServers, ['tls://a:1', 'tls://b:2']);
  t.deepEqual(agentConfigFrom({ controlPlane: { natsUrl: 'nats://a:1,nats://b:2' } }, 'f.yaml').controlPlane.natsServers, ['nats://a:1', 'nats://b:2']);
  t.deepEqual(agentConfigFrom({ controlPlane: { natsUrl: 'nats://a:1' } }, 'f.yaml', { natsUrl: 'nats://flag:3' }).controlPlane.natsServers, ['nats://flag:3']);
  t.throws(() => agentConfigFrom({ controlPlane: { servers: ['nats://a:1', 'bad'] } }, 'f.yaml'), { message: /f\.yaml: controlPlane\.servers: "bad" is not a NATS URL/ });
});
