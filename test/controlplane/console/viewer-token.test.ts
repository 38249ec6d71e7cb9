/**
 * `sigil token create --role viewer` makes a read-only token: with it the CLI reads (fleet status,
 * inventory, get) and every write is a 403 that changes nothing. Only its sha256 is stored.
 */
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Kvm } from '@nats-io/kv';
import { createHash } from 'node:crypto';
import { ACCESS_BUCKET } from '../../../controlplane/http/access-tokens.js';
import { runCli, tempDir } from '../support.js';
import { identityDoc } from '../fixtures.js';
import { startFleetWorld } from '../fleet/fleet-world.js';

test('a viewer token from the CLI reads and never writes; the store keeps only its hash', async (t) => {
  const world = await startFleetWorld(t);
  const admin = { SIGIL_SERVER: world.cp.url, SIGIL_TOKEN_FILE: world.adminTokenFile };
  const made = await runCli(['token', 'create', '--role', 'viewer', '--ttl', '1h'], admin);
  t.is(made.code, 0, made.stderr);
  const token = made.stdout.trim();
  t.regex(token, /^svt_/);
  t.regex(made.stderr, /viewer token \(read-only\), expires/);
  t.is((await runCli(['token', 'create', '--role', 'admin'], admin)).code, 2);

  const dir = await tempDir(t, 'viewer');
  const viewerFile = join(dir, 'viewer.token');
  await writeFile(viewerFile, `${token}\n`, { mode: 0o600 });
  const viewer = { SIGIL_SERVER: world.cp.url, SIGIL_TOKEN_FILE: viewerFile };
  t.is((await runCli(['fleet', 'status'], viewer)).code, 0);
  t.is((await runCli(['inventory'], viewer)).code, 0);
  const policy = join(dir, 'wi.yaml');
  await writeFile(policy, JSON.stringify(identityDoc()));
  const apply = await runCli(['apply', '-f', policy], viewer);
  t.not(apply.code, 0);
  t.regex(apply.stderr, /SIGIL_ERR_API_FORBIDDEN|403|may only read/);
  const join1 = await runCli(['token', 'create'], viewer);
  t.not(join1.code, 0);
  t.regex(join1.stderr, /SIGIL_ERR_API_FORBIDDEN|may only read/);
  t.is((await runCli(['get', 'wi'], admin)).stdout.includes('billing-exporter'), false, 'the viewer\'s apply changed nothing');

  const kv = await new Kvm(world.cp.nc).open(ACCESS_BUCKET);
  const keys: string[] = [];
  for await (const k of await kv.keys()) keys.push(k);
  t.deepEqual(keys, [`viewer.${createHash('sha256').update(token).digest('hex')}`]);
  const stored = (await kv.get(keys[0]!))!.string();
  t.false(stored.includes(token));
});
