/**
 * The admin endpoint over real HTTP on loopback: /metrics parses strictly and its values move when
 * the agent's parts report; /healthz and /readyz follow the health callback. The BPF counters come
 * from real programs on this kernel in a private cgroup.
 */
import test, { type ExecutionContext } from 'ava';
import { AgentMetrics, startAdminServer, type HealthState } from '../../../agent/admin/index.js';
import { createLogger } from '../../../agent/log.js';
import type { AuditEvent } from '../../../agent/signer/audit.js';
import { KernelFixture, kernelTest } from '../../helpers/kernel.js';
import { parsePrometheusText, sampleValue } from '../../helpers/prometheus-text.js';

const log = createLogger({ level: 'silent' });

const event = (over: Partial<AuditEvent>): AuditEvent => ({
  spiffeId: 'spiffe://example.org/app', binding: 'app-os', tgid: 1, exePath: '/usr/bin/app', exeSha256: 'ab'.repeat(32),
  host: 'objectstorage.us-ashburn-1.oraclecloud.com', method: 'GET', path: '/n/x/b/y/o', status: 200, latencyMs: 3, requestId: 'r', ...over,
});

async function serve(t: ExecutionContext, metrics: () => string, health: () => HealthState) {
  const server = await startAdminServer({ listen: '127.0.0.1:0', log, metrics, health });
  t.teardown(() => server.close());
  return server;
}

async function scrape(url: string) {
  const res = await fetch(`${url}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return { contentType: res.headers.get('content-type'), families: parsePrometheusText(await res.text()) };
}

test('/metrics serves text 0.0.4 that parses, and the agent\'s counters move', async (t) => {
  let revision: number | undefined;
  const cache = { hits: 0, misses: 0, joined: 0 };
  const credentials = { refreshes: 0, failures: 0 };
  const metrics = new AgentMetrics({ policyRevision: () => revision, attestationCache: () => cache, tokenRefreshes: () => credentials });
  const server = await serve(t, () => metrics.render(), () => ({ started: true, ready: true, live: true }));

  const first = await scrape(server.url);
  t.is(first.contentType, 'text/plain; version=0.0.4; charset=utf-8');
  for (const name of ['sigil_agent_steered_connections_total', 'sigil_agent_signed_requests_total', 'sigil_agent_denials_total',
    'sigil_agent_attestation_cache_total', 'sigil_agent_token_refreshes_total', 'sigil_agent_bpf_counter_total', 'sigil_agent_policy_revision']) {
    t.truthy(first.families.get(name), `${name} is exported`);
  }
  t.is(sampleValue(first.families, 'sigil_agent_policy_revision'), undefined, 'no revision before the first bundle');

  metrics.observeRequest(event({ status: 200 }));
  metrics.observeRequest(event({ status: 200 }));
  metrics.observeRequest(event({ status: 404 }));
  metrics.observeRequest(event({ status: 403, binding: undefined, errorCode: 'SIGIL_ERR_SIGNER_NOT_ALLOWED' }));
  Object.assign(cache, { hits: 1, misses: 1, joined: 1 });
  Object.assign(credentials, { refreshes: 1, failures: 1 });
  revision = 7;

  const { families } = await scrape(server.url);
  t.is(sampleValue(families, 'sigil_agent_signed_requests_total', { code: '200' }), 2);
  t.is(sampleValue(families, 'sigil_agent_signed_requests_total', { code: '404' }), 1);
  t.is(sampleValue(families, 'sigil_agent_signed_requests_total', { code: '403' }), undefined, 'a refusal is not a signed request');
  t.is(sampleValue(families, 'sigil_agent_denials_total', { reason: 'SIGIL_ERR_SIGNER_NOT_ALLOWED' }), 1);
  t.is(sampleValue(families, 'sigil_agent_attestation_cache_total', { result: 'hit' }), 2);
  t.is(sampleValue(families, 'sigil_agent_attestation_cache_total', { result: 'miss' }), 1);
  t.is(sampleValue(families, 'sigil_agent_token_refreshes_total', { result: 'ok' }), 1);
  t.is(sampleValue(families, 'sigil_agent_token_refreshes_total', { result: 'failed' }), 1);
  t.is(sampleValue(families, 'sigil_agent_policy_revision'), 7);
});

test('/healthz follows live, /readyz needs started + ready + live; other paths and methods are refused', async (t) => {
  let state: HealthState = { started: true, ready: false, live: true, detail: 'waiting for the first policy bundle' };
  const server = await serve(t, () => '', () => state);

  let res = await fetch(`${server.url}/healthz`);
  t.is(res.status, 200);
  res = await fetch(`${server.url}/readyz`);
  t.is(res.status, 503);
  t.like(await res.json(), { status: 'unavailable', ready: false, detail: 'waiting for the first policy bundle' });

  state = { started: true, ready: true, live: true };
  t.is((await fetch(`${server.url}/readyz`)).status, 200);
  state = { started: true, ready: true, live: false, detail: 'event loop stalled' };
  t.is((await fetch(`${server.url}/healthz`)).status, 503);
  t.is((await fetch(`${server.url}/readyz`)).status, 503);

  t.is((await fetch(`${server.url}/nope`)).status, 404);
  const post = await fetch(`${server.url}/metrics`, { method: 'POST' });
  t.is(post.status, 405);
  t.is(post.headers.get('allow'), 'GET, HEAD');
});

test('/readyz says degraded with the reasons while a kernel program is not repaired; /healthz stays live', async (t) => {
  let state: HealthState = { started: true, ready: true, live: true, degraded: ['program sigil_connect4 (cgroup_inet4_connect) detached, repair failed: EPERM'] };
  const server = await serve(t, () => '', () => state);
  const res = await fetch(`${server.url}/readyz`);
  t.is(res.status, 503);
  t.like(await res.json(), { status: 'degraded', degraded: ['program sigil_connect4 (cgroup_inet4_connect) detached, repair failed: EPERM'] });
  t.is((await fetch(`${server.url}/healthz`)).status, 200);
  state = { started: true, ready: true, live: true, degraded: [] };
  t.is((await fetch(`${server.url}/readyz`)).status, 200);
});

test('the program-repair metrics follow their sources', async (t) => {
  let problems = 1;
  const metrics = new AgentMetrics({
    programRepairs: () => [{ program: 'sigil_connect4', problem: 'detached', action: 're-attached', count: 2 }],
    attachProblems: () => problems,
  });
  let families = parsePrometheusText(metrics.render());
  t.is(sampleValue(families, 'sigil_agent_program_repairs_total', { program: 'sigil_connect4', problem: 'detached', action: 're-attached' }), 2);
  t.is(sampleValue(families, 'sigil_agent_attach_problems'), 1);
  problems = 0;
  families = parsePrometheusText(metrics.render());
  t.is(sampleValue(families, 'sigil_agent_attach_problems'), 0);
});

test('a failing metrics source answers 500 and the server keeps serving', async (t) => {
  let fail = true;
  const server = await serve(t, () => { if (fail) throw new Error('boom'); return ''; }, () => ({ started: true, ready: true, live: true }));
  t.is((await fetch(`${server.url}/metrics`)).status, 500);
  fail = false;
  t.is((await fetch(`${server.url}/metrics`)).status, 200);
});

test('the admin endpoint refuses non-loopback and malformed listen addresses', async (t) => {
  for (const listen of ['0.0.0.0:9464', '10.0.0.1:9464', '[::]:9464', 'localhost', '127.0.0.1:99999']) {
    await t.throwsAsync(startAdminServer({ listen, log, metrics: () => '', health: () => ({ started: true, ready: true, live: true }) }), { code: 'SIGIL_ERR_ADMIN_LISTEN' }, listen);
  }
  const v6 = await startAdminServer({ listen: '[::1]:0', log, metrics: () => '', health: () => ({ started: true, ready: true, live: true }) });
  t.teardown(() => v6.close());
  t.regex(v6.url, /^http:\/\/\[::1\]:\d+$/);
});

kernelTest('BPF counters from real programs appear, and steered connections move with a steered dial', async (t) => {
  const fx = await KernelFixture.create(t);
  const signerHost = fx.loopback();
  const destHost = fx.loopback();
  const signer = await fx.listener(signerHost, fx.pinDir);
  const steering = await fx.attach({ signerIPv4: signerHost, signerPort: signer.port });
  steering.setDestination({ addr: destHost, port: 443, destId: 1 });
  const metrics = new AgentMetrics({ bpfCounters: () => steering.counters() });
  const server = await serve(t, () => metrics.render(), () => ({ started: true, ready: true, live: true }));

  const before = (await scrape(server.url)).families;
  t.is(sampleValue(before, 'sigil_agent_steered_connections_total'), 0);
  t.truthy(sampleValue(before, 'sigil_agent_bpf_counter_total', { counter: 'passed_not_listed' }) !== undefined, 'camelCase counters become snake_case labels');

  const client = await fx.peer('dial'); // pending after exec: steered
  const [r] = await client.dial(destHost, 443);
  t.true(r?.ok, JSON.stringify(r));
  const after = (await scrape(server.url)).families;
  t.is(sampleValue(after, 'sigil_agent_steered_connections_total'), 1);
  t.is(sampleValue(after, 'sigil_agent_bpf_counter_total', { counter: 'steered' }), 1);
  t.true(sampleValue(after, 'sigil_agent_bpf_counter_total', { counter: 'exec_seen' })! >= 1);
});
