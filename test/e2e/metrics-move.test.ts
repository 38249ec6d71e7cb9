/**
 * Every metric docs/operator-guide.md lists moves when its event happens, read from the running
 * agent's and control plane's /metrics after causing the event on one stack:
 *
 *   start          → token refresh ok (agent), exchange ok + bundle ack applied (control plane)
 *   a workload     → attestation cache lookups (agent)
 *   apply (HTTP)   → resource applies by kind; a CredentialSource whose secret file the control plane
 *                    cannot read is stored with a warning naming it, its exchanges fail (agent:
 *                    token refresh failed; control plane: exchange failed) and `sigil fleet status`
 *                    shows the agent degraded with the binding and the reason
 *   an exchange for a binding the agent does not hold → exchange denied
 *
 * Plus build info and process metrics on both, and no token, key, secret or signature in either.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { kernelTest, bpfUnavailableReason, requireBpf } from '../helpers/kernel.js';
import { parsePrometheusText, sampleValue, type ParsedFamily } from '../helpers/prometheus-text.js';
import { fleetRow, waitFor } from '../hardening/stack-support.js';
import { LEDGER_ENV, readLedger } from '../secrets/ledger.js';
import { loadEnrollment } from '../../agent/fleet/enrollment.js';
import { subjects } from '../../protocol/subjects.js';
import { decodeExchangeReply, encodeExchangeMessage } from '../../protocol/exchange.js';
import { OS_HOST, ROOT, startStack, type Stack } from './stack.js';

const SIGIL_CLI = path.join(ROOT, 'dist/controlplane/cli/main.js');
const BROKEN_SOURCE = 'oci-broken';
const BROKEN_BINDING = 'broken-objectstorage';

let stack: Stack | undefined;
let scratch: string | undefined;

test.before(async () => {
  if (bpfUnavailableReason !== undefined) return;
  scratch = await mkdtemp(path.join(os.tmpdir(), 'sigil-metrics-'));
  // The stand-ins (in this process) write every UPST and signature they hand out to the ledger.
  process.env[LEDGER_ENV] = path.join(scratch, 'ledger');
  await writeFile(process.env[LEDGER_ENV], '', { mode: 0o600 });
  stack = await startStack({ heartbeatMs: 300 });
});
test.after.always(async () => {
  await stack?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function scrapeText(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  if (res.status !== 200) throw new Error(`GET ${url}/metrics answered ${res.status}`);
  return res.text();
}
const agentText = (s: Stack): Promise<string> => scrapeText(s.agent.adminUrl);
const cpText = (s: Stack): Promise<string> => scrapeText(s.cp.url);
const agentMetrics = async (s: Stack): Promise<Map<string, ParsedFamily>> => parsePrometheusText(await agentText(s));
const cpMetrics = async (s: Stack): Promise<Map<string, ParsedFamily>> => parsePrometheusText(await cpText(s));
const value = (m: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}): number => sampleValue(m, name, labels) ?? 0;

/** Waits until `read` gives a value that satisfies `ok`; the last value is in the error. */
async function eventually(what: string, read: () => Promise<number>, ok: (v: number) => boolean, timeoutMs = 20_000): Promise<number> {
  let last = NaN;
  try {
    await waitFor(what, async () => ok((last = await read())), timeoutMs);
  } catch (err) {
    throw new Error(`${(err as Error).message} (last value ${last})`);
  }
  return last;
}

function brokenPolicy(secretFile: string): object[] {
  return [
    { apiVersion: 'sigil.dev/v1', kind: 'CredentialSource', metadata: { name: BROKEN_SOURCE },
      spec: { kind: 'oci', domainUrl: 'https://127.0.0.1:9/', clientId: 'nobody', clientSecretFile: secretFile, region: 'us-ashburn-1' } },
    // Selects no process (no file has this hash): only its credential matters here.
    { apiVersion: 'sigil.dev/v1', kind: 'WorkloadIdentity', metadata: { name: 'broken' },
      spec: { spiffeId: 'spiffe://demo.sigil.dev/broken', owner: 'team-test', agents: { labels: { role: 'demo' } }, selectors: [`unix:sha256:${'0'.repeat(64)}`] } },
    { apiVersion: 'sigil.dev/v1', kind: 'WorkloadCredential', metadata: { name: BROKEN_BINDING },
      spec: { workload: 'broken', source: BROKEN_SOURCE, destinations: [OS_HOST], ttl: '15m' } },
  ];
}

kernelTest.serial('start-up: token refresh ok, exchange ok, bundle ack applied; build info and process metrics on both', async (t) => {
  if (!requireBpf(t) || !stack) return;
  const s = stack;
  t.true(await eventually('agent token_refreshes{ok} >= 1', async () => value(await agentMetrics(s), 'sigil_agent_token_refreshes_total', { result: 'ok' }), (v) => v >= 1) >= 1);
  t.true(await eventually('cp exchanges{ok} >= 1', async () => value(await cpMetrics(s), 'sigil_controlplane_exchanges_total', { result: 'ok' }), (v) => v >= 1) >= 1);
  t.true(await eventually('cp bundle_acks{applied} >= 1', async () => value(await cpMetrics(s), 'sigil_controlplane_bundle_acks_total', { result: 'applied' }), (v) => v >= 1) >= 1);

  for (const [service, metrics, pid] of [['agent', await agentMetrics(s), s.agent.pid], ['controlplane', await cpMetrics(s), process.pid]] as const) {
    const info = metrics.get(`sigil_${service}_build_info`)?.samples ?? [];
    t.is(info.length, 1, `${service}: one build_info sample`);
    t.is(info[0]?.value, 1);
    t.is(info[0]?.labels['version'], '0.1.0', `${service}: version from package.json`);
    t.regex(info[0]?.labels['commit'] ?? '', /^([0-9a-f]{40}|unknown)$/, `${service}: commit`);
    t.is(info[0]?.labels['node'], process.version, `${service}: node`);
    t.is(info[0]?.labels['kernel'], os.release(), `${service}: kernel`);
    t.true(value(metrics, 'process_cpu_seconds_total') > 0, `${service}: cpu seconds`);
    t.true(value(metrics, 'process_resident_memory_bytes') > 10 * 1024 * 1024, `${service}: resident memory`);
    t.true(value(metrics, 'nodejs_heap_size_used_bytes') > 0, `${service}: heap used`);
    t.true(value(metrics, 'process_open_fds') > 0, `${service}: open fds`);
    // The start time is the process's own: compare with what the kernel says for that pid.
    const { stdout } = await promisify(execFile)('ps', ['-o', 'etimes=', '-p', String(pid)]);
    const started = Date.now() / 1000 - Number(stdout.trim());
    t.true(Math.abs(value(metrics, 'process_start_time_seconds') - started) < 5, `${service}: start time matches ps`);
  }
});

kernelTest.serial('a workload moves the attestation cache counters', async (t) => {
  if (!requireBpf(t) || !stack) return;
  const s = stack;
  const lookups = async (): Promise<number> => {
    const m = await agentMetrics(s);
    return value(m, 'sigil_agent_attestation_cache_total', { result: 'hit' }) + value(m, 'sigil_agent_attestation_cache_total', { result: 'miss' });
  };
  const before = await lookups();
  const run = await s.runSdkWorkload({ tag: 'metrics' });
  t.is(run.code, 0, run.stderr);
  t.true(await eventually('attestation cache lookups to grow', lookups, (v) => v > before) > before);
});

kernelTest.serial('apply over HTTP counts by kind; an unreadable secret file warns, fails exchanges and degrades the agent in fleet status', async (t) => {
  if (!requireBpf(t) || !stack || !scratch) return;
  const s = stack;
  const missing = path.join(scratch, 'no-such-secret');
  const before = await cpMetrics(s);
  const agentBefore = await agentMetrics(s);
  const res = await fetch(`${s.cp.url}/v1/apply`, {
    method: 'POST', headers: { authorization: `Bearer ${s.adminToken}`, 'content-type': 'application/yaml' },
    body: brokenPolicy(missing).map((d) => JSON.stringify(d)).join('\n---\n'),
  });
  const body = await res.json() as { revision: number; warnings?: string[] };
  t.is(res.status, 200, JSON.stringify(body));
  t.is(body.warnings?.length, 1, JSON.stringify(body));
  t.regex(body.warnings?.[0] ?? '', new RegExp(`credentialsource/${BROKEN_SOURCE}: spec.clientSecretFile ${missing} does not exist`));

  const after = await cpMetrics(s);
  for (const kind of ['CredentialSource', 'WorkloadIdentity', 'WorkloadCredential']) {
    t.is(value(after, 'sigil_controlplane_resource_applies_total', { kind }), value(before, 'sigil_controlplane_resource_applies_total', { kind }) + 1, kind);
  }
  const failedBefore = value(agentBefore, 'sigil_agent_token_refreshes_total', { result: 'failed' });
  await eventually('agent token_refreshes{failed} to grow', async () => value(await agentMetrics(s), 'sigil_agent_token_refreshes_total', { result: 'failed' }), (v) => v > failedBefore);
  const cpFailedBefore = value(before, 'sigil_controlplane_exchanges_total', { result: 'failed' });
  await eventually('cp exchanges{failed} to grow', async () => value(await cpMetrics(s), 'sigil_controlplane_exchanges_total', { result: 'failed' }), (v) => v > cpFailedBefore);

  await waitFor('the agent to show as degraded', async () => (await fleetRow(s)).state === 'degraded');
  const row = await fleetRow(s);
  const reason = row.reasons.find((r) => r.includes(BROKEN_BINDING));
  t.truthy(reason, JSON.stringify(row.reasons));
  t.regex(reason ?? '', /no session token: .*client secret file .*no-such-secret cannot be opened \(ENOENT\) \(SIGIL_ERR_EXCHANGE_SOURCE_MISCONFIGURED\)/);

  // What an operator sees: the CLI's table names the state and the reason.
  const tokenFile = path.join(scratch, 'admin-token');
  await writeFile(tokenFile, s.adminToken, { mode: 0o600 });
  const { stdout } = await promisify(execFile)(process.execPath, [SIGIL_CLI, 'fleet', 'status', '--server', s.cp.url, '--token-file', tokenFile]);
  t.regex(stdout, /degraded/);
  t.regex(stdout, new RegExp(`binding ${BROKEN_BINDING}: no session token`));
});

kernelTest.serial('an exchange for a binding the agent does not hold counts as denied', async (t) => {
  if (!requireBpf(t) || !stack) return;
  const s = stack;
  const deniedBefore = value(await cpMetrics(s), 'sigil_controlplane_exchanges_total', { result: 'denied' });
  // The agent's own NATS identity (as a compromised agent would use it), asking for another binding.
  const { enrollment, creds } = await loadEnrollment(s.agent.stateDir);
  const nc = await connect({ servers: s.nats.url, authenticator: credsAuthenticator(creds), inboxPrefix: subjects.inboxPrefix(enrollment.agentId) });
  try {
    const reply = decodeExchangeReply((await nc.request(subjects.exchange(enrollment.agentId),
      encodeExchangeMessage({ bindingId: 'someone-elses-binding', publicKey: Buffer.from('x').toString('base64') }), { timeout: 10_000 })).data);
    t.false(reply.ok);
  } finally {
    await nc.close();
  }
  t.is(value(await cpMetrics(s), 'sigil_controlplane_exchanges_total', { result: 'denied' }), deniedBefore + 1);
});

kernelTest.serial('neither /metrics holds a token, key, secret or signature', async (t) => {
  if (!requireBpf(t) || !stack) return;
  const s = stack;
  // Some traffic first, so tokens and signatures exist to leak.
  const run = await s.runSdkWorkload({ tag: 'leak-check', repeat: 3 });
  t.is(run.code, 0, run.stderr);
  const texts = { agent: await agentText(s), controlplane: await cpText(s) };
  const secrets = readLedger(process.env[LEDGER_ENV] ?? '');
  t.true(secrets.some((e) => e.kind === 'upst') && secrets.some((e) => e.kind === 'signature'), 'the ledger holds UPSTs and signatures to look for');
  const enrollment = await loadEnrollment(s.agent.stateDir);
  const wanted = [
    ...secrets.map((e) => ({ what: e.kind, value: e.value })),
    { what: 'admin token', value: s.adminToken },
    { what: 'agent NATS creds', value: Buffer.from(enrollment.creds).toString('utf8').match(/eyJ[\w-]+\.[\w-]+\.[\w-]*/)?.[0] ?? 'absent' },
  ];
  for (const [service, text] of Object.entries(texts)) {
    for (const { what, value: secret } of wanted) t.false(text.includes(secret), `${service} /metrics contains a ${what}`);
    t.notRegex(text, /-----BEGIN|PRIVATE KEY|ST\$|eyJ[\w-]{10,}|Signature |keyId=/, `${service} /metrics: key armour, token or signature header`);
  }
});
