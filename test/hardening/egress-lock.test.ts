/**
 * Egress lock (`unboundAccess: deny` on a WorkloadCredential) against the running system: with it,
 * a process not bound to the destination — an unbound program, or the bound program run by another
 * uid when the identity pins the uid — cannot connect to it at all (the kernel refuses the connect,
 * EPERM) and nothing reaches the service; the bound workload is signed as before. Without it,
 * unbound processes reach the service unsigned (401), as always. Judged by the Object Storage stand-in.
 */
import test from 'ava';
import { bpfUnavailableReason, requireBpf } from '../helpers/kernel.js';
import { OS_HOST, PRINCIPAL, startStack, type Stack } from '../e2e/stack.js';
import { runConnectProbe, runSdkAs } from '../e2e/uid-workload.js';
import type { WorkloadRun } from '../e2e/workload-runner.js';
import { NOBODY, applyAndWait, nodeCopy, publicTempDir } from './stack-support.js';

const OTHER_UID = 65533;
const LOCKED_ID = 'spiffe://demo.sigil.dev/hardening/locked';

let stack: Stack | undefined;
let work: Awaited<ReturnType<typeof publicTempDir>> | undefined;
let app: { file: string; sha256: string } | undefined;

/** The identity: this copy of node, run as nobody; its credential with or without the lock. */
function lockedPolicy(unboundAccess?: 'allow' | 'deny'): object[] {
  return [
    {
      apiVersion: 'sigil.dev/v1', kind: 'WorkloadIdentity', metadata: { name: 'locked' },
      spec: { spiffeId: LOCKED_ID, owner: 'team-hardening', agents: { labels: { role: 'demo' } }, selectors: [`unix:sha256:${app!.sha256}`, `unix:uid:${NOBODY}`] },
    },
    {
      apiVersion: 'sigil.dev/v1', kind: 'WorkloadCredential', metadata: { name: 'locked-objectstorage' },
      spec: { workload: 'locked', source: 'oci-demo', destinations: [OS_HOST], ttl: '15m', ...(unboundAccess ? { unboundAccess } : {}) },
    },
  ];
}

test.before(async () => {
  work = await publicTempDir('egress-lock');
  if (bpfUnavailableReason !== undefined) return;
  app = await nodeCopy(work.dir, 'locked-app', 7);
  stack = await startStack({ heartbeatMs: 300, principals: [{ equals: LOCKED_ID, principal: 'ocid1.user.oc1..locked' }] });
  await applyAndWait(stack, lockedPolicy());
});
test.after.always(async () => {
  await stack?.stop();
  await work?.cleanup();
});

async function deniedCount(s: Stack): Promise<number> {
  const text = await (await fetch(`${s.agent.adminUrl}/metrics`)).text();
  const m = /^sigil_agent_bpf_counter_total\{counter="denied"\} (\d+)$/m.exec(text);
  if (!m) throw new Error(`no denied counter in /metrics:\n${text}`);
  return Number(m[1]);
}

/** Every SDK call failed without an HTTP status (no connection); the SDK does not say why. */
function noConnection(t: import('ava').ExecutionContext, run: WorkloadRun, what: string): void {
  t.is(run.lines.length, 5, `${what}: ${run.stdout}${run.stderr}`);
  t.true(run.lines.every((l) => l['ok'] === false && l['status'] === undefined), `${what}: ${run.stdout}`);
}

/**
 * The same program's plain connect(): refused by the kernel with EPERM once attested. A connect made
 * while it was still pending is steered to the signer, which closes it (never relays it): allowed,
 * but only closed ones.
 */
async function connectRefused(t: import('ava').ExecutionContext, s: Stack, opts: { uid: number; node: string }, what: string): Promise<void> {
  const probe = await runConnectProbe(s, opts);
  const last = probe.lines.at(-1);
  t.deepEqual(last, { op: 'connect', ok: false, cause: 'EPERM' }, `${what}: ${probe.stdout}${probe.stderr}`);
  t.true(probe.lines.slice(0, -1).every((l) => l['ok'] === true && l['closedByPeer'] === true), `${what}: ${probe.stdout}`);
}

async function observe(s: Stack, run: () => Promise<WorkloadRun>): Promise<{ run: WorkloadRun; seen: Stack['objectStorage']['requests']; denied: number }> {
  const before = s.objectStorage.requests.length;
  const deniedBefore = await deniedCount(s);
  const result = await run();
  return { run: result, seen: s.objectStorage.requests.slice(before), denied: (await deniedCount(s)) - deniedBefore };
}

test.serial('without the lock: unbound processes reach the service unsigned (401), as before', async (t) => {
  if (!requireBpf(t) || !stack) return;
  const s = stack;
  const other = await observe(s, () => runSdkAs(s, { node: app!.file, uid: OTHER_UID, tag: 'open-other-uid' }));
  t.is(other.run.lines[0]?.['status'], 401, other.run.stdout + other.run.stderr);
  t.true(other.seen.length >= 1 && other.seen.every((r) => r.status === 401 && r.principal === undefined));
  t.is(other.denied, 0);
  const bound = await observe(s, () => runSdkAs(s, { node: app!.file, uid: NOBODY, tag: 'open-bound' }));
  t.true(bound.run.lines.every((l) => l['ok'] === true), bound.run.stdout + bound.run.stderr);
  t.true(bound.seen.every((r) => r.principal === 'ocid1.user.oc1..locked'));
});

test.serial('with unboundAccess: deny: unbound and wrong-uid processes are refused at connect; nothing reaches the service', async (t) => {
  if (!requireBpf(t) || !stack) return;
  const s = stack;
  await applyAndWait(s, lockedPolicy('deny'));

  const unbound = await observe(s, () => runSdkAs(s, { node: s.unboundNode, uid: NOBODY, tag: 'locked-unbound' }));
  noConnection(t, unbound.run, 'unbound program');
  t.deepEqual(unbound.seen.map((r) => `${r.method} ${r.target} ${r.status}`), [], 'requests reached the service');
  t.true(unbound.denied >= 5, `denied counter rose by ${unbound.denied}`);

  const otherUid = await observe(s, () => runSdkAs(s, { node: app!.file, uid: OTHER_UID, tag: 'locked-other-uid' }));
  noConnection(t, otherUid.run, 'bound program as another uid');
  t.deepEqual(otherUid.seen.map((r) => `${r.method} ${r.target} ${r.status}`), [], 'requests reached the service');
  const before = s.objectStorage.requests.length;
  await connectRefused(t, s, { node: s.unboundNode, uid: NOBODY }, 'unbound program');
  await connectRefused(t, s, { node: app!.file, uid: OTHER_UID }, 'bound program as another uid');
  t.is(s.objectStorage.requests.length, before);

  // The bound workloads (this identity, and the stack's own) are signed as before.
  const bound = await observe(s, () => runSdkAs(s, { node: app!.file, uid: NOBODY, tag: 'locked-bound' }));
  t.true(bound.run.lines.every((l) => l['ok'] === true), bound.run.stdout + bound.run.stderr);
  t.true(bound.seen.length === 5 && bound.seen.every((r) => r.principal === 'ocid1.user.oc1..locked'));
  const other = await observe(s, () => runSdkAs(s, { uid: NOBODY, tag: 'default-bound' }));
  t.true(other.run.lines.every((l) => l['ok'] === true), other.run.stdout + other.run.stderr);
  t.true(other.seen.every((r) => r.principal === PRINCIPAL));
});

test.serial('back to allow: the unbound program reaches the service again (401)', async (t) => {
  if (!requireBpf(t) || !stack) return;
  const s = stack;
  await applyAndWait(s, lockedPolicy('allow'));
  const unbound = await observe(s, () => runSdkAs(s, { node: s.unboundNode, uid: NOBODY, tag: 'reopened' }));
  t.is(unbound.run.lines[0]?.['status'], 401, unbound.run.stdout + unbound.run.stderr);
  t.is(unbound.denied, 0);
  const probe = await runConnectProbe(s, { node: s.unboundNode, uid: NOBODY, attempts: 1 });
  t.deepEqual(probe.lines, [{ op: 'connect', ok: true, closedByPeer: false }], probe.stdout + probe.stderr);
});
