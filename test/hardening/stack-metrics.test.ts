/**
 * The agent's self-report checked against outside evidence, on the real running system: what a
 * scrape of its /metrics says it signed against what the Object Storage stand-in accepted, and "no
 * request waits on a token refresh" measured by the client around refreshes made slow on purpose.
 */
import test from 'ava';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bpfUnavailableReason, kernelTest, requireBpf } from '../helpers/kernel.js';
import { OS_HOST, startStack, type Stack } from '../e2e/stack.js';
import { runWorkload } from '../e2e/workload-runner.js';
import { NOBODY, applyAndWait, countsBy, identityDocs, nodeCopy, publicTempDir, scrapeAgentMetrics } from './stack-support.js';

const LATENCY_CLIENT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'stack-latency-client.js');
/**
 * The agent refreshes at 75–85 % of a token's lifetime and stops handing it out at 90 % (margin
 * min(30 s, 10 %)), so a refresh taking longer than 5 % of the lifetime would legitimately make callers
 * wait. With 80 s tokens and IAM answering 2 s late, even the latest refresh (85 % of the 78 s the
 * agent sees) ends ~1.5 s before the old token's 90 %. A request that waited for a refresh lasts until
 * it ends: those starting in its first quarter would take 1.5 s or more, well above the load noise.
 */
const TOKEN_LIFETIME_S = 80;
const ANSWER_DELAY_MS = 2_000;
const LATENCY_RUN_S = 72;

let stack: Stack | undefined;
let work: Awaited<ReturnType<typeof publicTempDir>> | undefined;

test.before(async () => {
  work = await publicTempDir('metrics');
  if (bpfUnavailableReason === undefined) stack = await startStack({ heartbeatMs: 500 });
});
test.after.always(async () => {
  await stack?.stop();
  await work?.cleanup();
});

const SIGNED = 'sigil_agent_signed_requests_total';

kernelTest.serial('a scrape of /metrics: signed requests by status equal what the stand-in accepted, unsigned ones are not counted', async (t) => {
  if (!requireBpf(t) || !stack) return;
  const before = countsBy(await scrapeAgentMetrics(stack), SIGNED, 'code');
  const from = stack.objectStorage.requests.length;
  const bound = await stack.runSdkWorkload({ tag: 'metrics-bound', repeat: 2 });
  t.true(bound.lines.length === 10 && bound.lines.every((l) => l['ok'] === true), bound.stdout + bound.stderr);
  // The unbound copy is relayed unsigned: the stand-in refuses it, and the agent must not count it.
  const unbound = await stack.runSdkWorkload({ node: stack.unboundNode, tag: 'metrics-unbound' });
  t.true(unbound.lines.length === 5 && unbound.lines.every((l) => l['status'] === 401), unbound.stdout);
  const after = countsBy(await scrapeAgentMetrics(stack), SIGNED, 'code');

  const seen = stack.objectStorage.requests.slice(from);
  const accepted = new Map<string, number>();
  for (const r of seen.filter((x) => x.principal !== undefined)) accepted.set(String(r.status), (accepted.get(String(r.status)) ?? 0) + 1);
  const signed = new Map<string, number>();
  for (const [code, n] of after) if (n - (before.get(code) ?? 0) > 0) signed.set(code, n - (before.get(code) ?? 0));
  t.is([...accepted.values()].reduce((a, b) => a + b, 0), 10, 'the stand-in accepted the bound run');
  t.is(seen.filter((x) => x.principal === undefined).length, 5, 'and refused the unbound one');
  t.deepEqual(Object.fromEntries(signed), Object.fromEntries(accepted), 'agent-reported signed requests by status = stand-in-accepted requests by status');
});

kernelTest.serial('no request waits on a token refresh: client-side latency around refreshes IAM makes slow', async (t) => {
  if (!requireBpf(t) || !stack) return;
  // The run plus the stack's own waits: past ava's 2 min default only on a very slow machine.
  t.timeout((LATENCY_RUN_S + 120) * 1000);
  const s = stack;
  const app = await nodeCopy(work!.dir, 'latency', 21);
  const spiffeId = 'spiffe://demo.sigil.dev/hardening/latency';
  // Before the apply: the agent starts this binding's first exchange as soon as it has the binding,
  // which can be before applyAndWait returns; that exchange must already get the short lifetime.
  s.iam.setTokenLifetime(TOKEN_LIFETIME_S);
  s.iam.setAnswerDelay(ANSWER_DELAY_MS);
  t.teardown(() => { s.iam.setAnswerDelay(0); s.iam.setTokenLifetime(3600); });
  const exchangesFrom = s.iam.exchanges.length;
  await applyAndWait(s, identityDocs('latency', spiffeId, [`unix:sha256:${app.sha256}`]));
  const run = await runWorkload({
    cgroup: s.workloadCgroup, hosts: { [OS_HOST]: s.objectStorage.address }, command: app.file, uid: NOBODY,
    args: [LATENCY_CLIENT, '--host', OS_HOST, '--seconds', String(LATENCY_RUN_S), '--tag', 'latency'],
    env: { NODE_EXTRA_CA_CERTS: s.caBundle }, timeoutMs: (LATENCY_RUN_S + 60) * 1000,
  });
  const requests = run.lines as Array<{ start: number; ms: number; status?: number; error?: string }>;
  t.true(requests.length > 50, `the client made ${requests.length} requests: ${run.stderr}`);
  t.deepEqual(requests.filter((r) => r.status !== 200), [], 'every request succeeded');

  // This binding's exchanges during the run; the first one is its initial token (a wait, not a refresh).
  const ours = s.iam.exchanges.slice(exchangesFrom).filter((e) => e.subject === spiffeId && e.status === 200 && e.answeredAt !== undefined);
  const refreshes = ours.slice(1).map((e) => ({ from: e.time.getTime(), to: e.answeredAt!.getTime() }));
  t.true(refreshes.length >= 1, `refreshed during the run (${ours.length} exchanges for ${spiffeId})`);
  for (const w of refreshes) t.true(w.to - w.from >= ANSWER_DELAY_MS - 5, 'each refresh took the injected delay');
  // A request that waited for a refresh started while it was under way and ended only after it.
  // Judged on requests that started in the refresh's first quarter, with the rest (1.5 s) as their deadline.
  const inFirstQuarter = (r: { start: number }, w: { from: number }): boolean => r.start >= w.from && r.start <= w.from + ANSWER_DELAY_MS / 4;
  const during = requests.filter((r) => refreshes.some((w) => inFirstQuarter(r, w)));
  t.true(during.length >= 1, 'requests were made while a refresh was under way');
  const waited = during.filter((r) => refreshes.some((w) => inFirstQuarter(r, w) && r.start + r.ms >= w.to));
  const sorted = requests.map((r) => r.ms).sort((a, b) => a - b);
  const context = { refreshes, p50: sorted[Math.floor(sorted.length / 2)], max: sorted[sorted.length - 1], slowest: requests.filter((r) => r.ms > 500).slice(0, 10) };
  t.deepEqual(waited, [], `no request started during a refresh ended only when it finished: ${JSON.stringify(context)}`);
  t.log(`${requests.length} requests, ${refreshes.length} refreshes of ${ANSWER_DELAY_MS} ms, ${during.length} requests inside them, slowest of those ${Math.max(...during.map((r) => r.ms))} ms`);
});
