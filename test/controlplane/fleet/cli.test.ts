import test from 'ava';
import { enroll } from '../../../agent/fleet/index.js';
import { runCli, tempDir } from '../support.js';
import { credentialDoc, identityDoc, sourceDoc } from '../fixtures.js';
import { eventually, startFleetWorld } from './fleet-world.js';

test('sigil token create / agent list / fleet status / fleet wait / inventory against a live fleet', async (t) => {
  const world = await startFleetWorld(t);
  const env = { SIGIL_SERVER: world.cp.url, SIGIL_TOKEN_FILE: world.adminTokenFile };
  const created = await runCli(['token', 'create', '--ttl', '10m', '--labels', 'role=billing,zone=a'], env);
  t.is(created.code, 0, created.stderr);
  const token = created.stdout.trim();
  t.regex(token, /^sjt_/);
  t.regex(created.stderr, /expires/);
  t.is((await runCli(['token', 'create', '--labels', 'bad label'], env)).code, 2);

  const dir = await tempDir(t, 'cli-agent');
  const { agentId } = await enroll({ token, controlPlaneUrl: world.cp.url, stateDir: dir, hostname: 'cli-host' });
  const a = await world.startAgent({ stateDir: dir, applied: [], programs: [], shipped: [], workloads: [], heartbeats: 0 });
  a.workloads = [{ spiffeId: 'spiffe://example.org/billing-exporter', processes: 2, requestsSigned: 7, lastUsedAt: new Date().toISOString(), destinations: ['objectstorage.us-ashburn-1.oraclecloud.com'] }];
  const revision = await world.applyPolicy(sourceDoc(), identityDoc(), credentialDoc(), identityDoc('unused-job', { agents: { labels: { role: 'nobody' } } }));

  const listed = await runCli(['agent', 'list'], env);
  t.is(listed.code, 0, listed.stderr);
  t.regex(listed.stdout, new RegExp(`${agentId}\\s+cli-host\\s+role=billing,zone=a`));
  const listedJson = JSON.parse((await runCli(['agent', 'list', '-o', 'json'], env)).stdout) as { kind: string; items: Array<{ id: string }> };
  t.deepEqual([listedJson.kind, listedJson.items.map((i) => i.id)], ['List', [agentId]]);
  t.is((await runCli(['agent', 'list', '-o', 'name'], env)).stdout, `agent/${agentId}\n`);

  const waited = await runCli(['fleet', 'wait', '--revision', String(revision), '--timeout', '10s'], env);
  t.is(waited.code, 0, waited.stderr);
  t.is(a.client.revision, revision);
  const tooFar = await runCli(['fleet', 'wait', '--revision', String(revision + 10), '--timeout', '1s'], env);
  t.is(tooFar.code, 1);
  t.regex(tooFar.stderr, new RegExp(`timed out; 1 agent\\(s\\) have not acked revision ${revision + 10}: ${agentId}`));

  await eventually(async () => JSON.parse((await runCli(['fleet', 'status', '-o', 'json'], env)).stdout).agents[0]?.state === 'healthy', 5_000, 'healthy');
  const table = await runCli(['fleet', 'status'], env);
  t.is((await runCli(['fleet', 'status', '-o', 'name'], env)).stdout, `agent/${agentId}\n`);
  t.is((await runCli(['fleet', 'status', '-o', 'xml'], env)).code, 2);
  t.is((await runCli(['inventory', '-o', 'xml'], env)).code, 2);
  t.regex(table.stdout, new RegExp(`${agentId}\\s+role=billing,zone=a\\s+healthy\\s+${revision}/${revision}`));

  // A List like `get -o json`, not a bare array.
  const inventoryList = JSON.parse((await runCli(['inventory', '-o', 'json', '--stale-after', '0s'], env)).stdout) as { kind: string; items: Array<Record<string, unknown>> };
  t.is(inventoryList.kind, 'List');
  const inventory = inventoryList.items;
  const billing = inventory.find((i) => i['workload'] === 'billing-exporter');
  t.like(billing, { owner: 'team-billing', bindings: ['billing-os'], requestsSigned: 7, destinationsUsed: ['objectstorage.us-ashburn-1.oraclecloud.com'], stale: false });
  t.deepEqual(billing?.['hosts'], [{ agentId, hostname: 'cli-host', processes: 2 }]);
  t.like(inventory.find((i) => i['workload'] === 'unused-job'), { hosts: [], requestsSigned: 0, stale: true });

  const revoked = await runCli(['agent', 'revoke', agentId], env);
  t.is(revoked.code, 0, revoked.stderr);
  t.regex((await runCli(['fleet', 'status'], env)).stdout, /revoked/);
});
