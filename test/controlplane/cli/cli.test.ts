import test from 'ava';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { startNatsServer } from '../../helpers/nats-server.js';
import { ROOT, runCli, startServerProcess, tempDir } from '../support.js';
import { sourceDoc, yamlOf } from '../fixtures.js';

const EXAMPLE = join(ROOT, 'examples/object-storage-ashburn.yaml');

async function setup(t: import('ava').ExecutionContext) {
  const nats = await startNatsServer();
  t.teardown(() => nats.cleanup());
  const dir = await tempDir(t, 'cli');
  const configFile = join(dir, 'controlplane.yaml');
  await writeFile(configFile, `nats:\n  url: ${nats.url}\nhttp:\n  listen: 127.0.0.1:0\nstateDir: ${dir}/state\n`);
  const server = await startServerProcess(t, ['--config', configFile]);
  const env = { SIGIL_SERVER: server.url, SIGIL_TOKEN_FILE: join(dir, 'state/admin.token') };
  return { nats, dir, configFile, server, env };
}

test('sigil apply -f example, get -o json/yaml/table, delete, against a spawned sigil-controlplane', async (t) => {
  const { env, server } = await setup(t);
  const applied = await runCli(['apply', '-f', EXAMPLE], env);
  t.is(applied.code, 0, applied.stderr);
  t.is(applied.stdout, [
    'workloadidentity/billing-exporter created', 'credentialsource/oci-ashburn created',
    'workloadcredential/billing-exporter-objectstorage created', 'policy revision 1', '',
  ].join('\n'));

  const json = await runCli(['get', 'wc', '-o', 'json'], env);
  t.is(json.code, 0, json.stderr);
  const list = JSON.parse(json.stdout) as { kind: string; items: Array<{ spec: { destinations: string[] } }> };
  t.is(list.kind, 'List');
  t.deepEqual(list.items[0]?.spec.destinations, ['objectstorage.us-ashburn-1.oraclecloud.com']);

  const yaml = await runCli(['get', 'workloadidentity', 'billing-exporter', '-o', 'yaml'], env);
  t.regex(yaml.stdout, /spiffeId: spiffe:\/\/example\.org\/billing\/exporter/);
  const table = await runCli(['get', 'cs'], env);
  t.regex(table.stdout, /^NAME\s+KIND\s+REGION/);
  t.regex(table.stdout, /oci-ashburn\s+oci\s+us-ashburn-1/);

  // Flags beat the environment: a wrong server in env, the right one as a flag.
  const flagged = await runCli(['get', 'cs', 'oci-ashburn', '-o', 'json', '--server', server.url], { ...env, SIGIL_SERVER: 'http://127.0.0.1:9' });
  t.is(flagged.code, 0, flagged.stderr);

  t.is((await runCli(['delete', 'wc', 'billing-exporter-objectstorage'], env)).code, 0);
  const gone = await runCli(['get', 'wc', 'billing-exporter-objectstorage'], env);
  t.is(gone.code, 1);
  t.regex(gone.stderr, /SIGIL_ERR_RESOURCE_NOT_FOUND/);
});

test('exit codes: 2 for usage, 1 for refused or failed calls, with the field named', async (t) => {
  const { env, dir } = await setup(t);
  for (const args of [[], ['frobnicate'], ['get'], ['get', 'pods'], ['apply'], ['delete', 'wi'], ['get', 'wi', '-o', 'xml']]) {
    t.is((await runCli(args, env)).code, 2, args.join(' '));
  }
  const bad = join(dir, 'bad.yaml');
  await writeFile(bad, yamlOf(sourceDoc('x', { region: 'Ashburn' })));
  const refused = await runCli(['apply', '-f', bad], env);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /document 0 CredentialSource\/x: spec\.region: must be an OCI region id/);
  t.is((await runCli(['get', 'wi'], { ...env, SIGIL_TOKEN_FILE: join(dir, 'nope') })).code, 1);
  const unreachable = await runCli(['get', 'wi'], { ...env, SIGIL_SERVER: 'http://127.0.0.1:9' });
  t.is(unreachable.code, 1);
  t.regex(unreachable.stderr, /cannot reach the control plane/);
  t.is((await runCli(['get', 'wi', '--request-timeout', 'soon'], env)).code, 2);
});

test('an API call the control plane never answers ends with a clear error at --request-timeout', async (t) => {
  // Accepts the connection and reads the request, answers nothing: a server stuck on its store.
  const silent = net.createServer((socket) => socket.resume());
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => { silent.close(); });
  const dir = await tempDir(t, 'cli-silent');
  const tokenFile = join(dir, 'admin.token');
  await writeFile(tokenFile, 'sat_0123456789abcdef\n');
  const started = Date.now();
  const r = await runCli(['fleet', 'status', '--request-timeout', '2s'], { SIGIL_SERVER: `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`, SIGIL_TOKEN_FILE: tokenFile });
  t.is(r.code, 1, r.stderr);
  t.regex(r.stderr, /did not answer GET \/v1\/fleet\/status within 2 s/);
  t.regex(r.stderr, /SIGIL_ERR_API_TIMEOUT/);
  t.true(Date.now() - started < 20_000, 'ended near its timeout');
});

test('apply -f - reads stdin; a control-plane restart and a NATS restart lose nothing', async (t) => {
  const { env, nats, configFile, server } = await setup(t);
  t.is((await runCli(['apply', '-f', '-'], env, yamlOf(sourceDoc('from-stdin')))).code, 0);
  t.is(await server.stop(), 0, 'clean exit on SIGTERM');

  const again = await startServerProcess(t, ['--config', configFile]);
  const envAgain = { ...env, SIGIL_SERVER: again.url };
  t.is(JSON.parse((await runCli(['get', 'cs', 'from-stdin', '-o', 'json'], envAgain)).stdout).metadata.name, 'from-stdin');

  await nats.restart();
  const afterNats = await runCli(['get', 'cs', '-o', 'json'], envAgain);
  t.is(afterNats.code, 0, afterNats.stderr);
  t.deepEqual(JSON.parse(afterNats.stdout).items.map((r: { metadata: { name: string } }) => r.metadata.name), ['from-stdin']);
  t.is((await runCli(['apply', '-f', '-'], envAgain, yamlOf(sourceDoc('after-nats-restart')))).code, 0);
});

test('a missing or bad config file is a friendly error naming the file and field', async (t) => {
  const dir = await tempDir(t, 'cfg');
  const { spawnSync } = await import('node:child_process');
  const serverMain = join(ROOT, 'dist/controlplane/cli/server-main.js');
  const runServer = (...args: string[]) => spawnSync(process.execPath, [serverMain, ...args], { encoding: 'utf8', timeout: 10_000 });

  const missing = runServer('run', '--config', join(dir, 'absent.yaml'));
  t.is(missing.status, 1);
  t.regex(missing.stderr, /absent\.yaml: cannot read the config file \(it does not exist\)/);

  const badFile = join(dir, 'bad.yaml');
  await writeFile(badFile, 'http:\n  listen: "8787"\n');
  const bad = runServer('run', '--config', badFile);
  t.is(bad.status, 1);
  t.regex(bad.stderr, /bad\.yaml: http\.listen: "8787" must be host:port/);

  await writeFile(badFile, 'issuer:\n  maxTokenTtlSeconds: soon\n');
  t.regex(runServer('run', '--config', badFile).stderr, /bad\.yaml: issuer\.maxTokenTtlSeconds: must be a whole number from 1 to \d+/);

  await writeFile(badFile, 'nats:\n  ulr: nats://x\n');
  t.regex(runServer('run', '--config', badFile).stderr, /bad\.yaml: nats\.ulr: unknown field/);
  t.is(runServer('run', '--bogus').status, 2);
  t.is(runServer().status, 2);
});
