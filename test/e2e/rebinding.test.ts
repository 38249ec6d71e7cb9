/**
 * Binding changes reach running workloads. A long-running SDK client (keep-alive, unprivileged uid)
 * keeps its connections: without the agent ending them, connections opened while the process was
 * unbound go straight to the service after the binding is (re)applied and every request on them is
 * refused 401 with the placeholder key. With SOCK_DESTROY on the state change, the client reconnects
 * and is steered. Asserted on what the Object Storage stand-in accepted and refused, by time.
 */
import test from 'ava';
import { kernelTest, bpfUnavailableReason, requireBpf } from '../helpers/kernel.js';
import { NOBODY, applyAndWait, fleetRow, waitFor } from '../hardening/stack-support.js';
import { OS_HOST, PRINCIPAL, startStack, type Stack } from './stack.js';
import { runSdkAs } from './uid-workload.js';
import type { WorkloadRun } from './workload-runner.js';

/**
 * Deadline for the agent to have moved the workload after `apply` returned (a loaded CI machine, not
 * the measured window: that is logged, and stated in docs/operator-guide.md).
 */
const DEADLINE_MS = 10_000;
/** Requests the stand-in recorded this long after the agent ended the connections still count as late. */
const CLOCK_SLACK_MS = 100;
/** How long the workload keeps running after the first signed request once re-applied. */
const OBSERVE_MS = 4_000;
const CREDENTIAL = 'billing-exporter-objectstorage';
const credentialDoc = {
  apiVersion: 'sigil.dev/v1', kind: 'WorkloadCredential', metadata: { name: CREDENTIAL },
  spec: { workload: 'billing-exporter', source: 'oci-demo', destinations: [OS_HOST], ttl: '15m' },
};

let stack: Stack | undefined;

test.before(async () => {
  if (bpfUnavailableReason === undefined) stack = await startStack({ heartbeatMs: 300 });
});
test.after.always(async () => {
  await stack?.stop();
});

interface Running { pid: number; done: Promise<WorkloadRun>; stop(): Promise<WorkloadRun> }

/** The SDK workload as nobody, in rounds 20 ms apart, until stopped. */
async function startWorkload(s: Stack, tag: string): Promise<Running> {
  let pid = 0;
  const done = runSdkAs(s, { tag, repeat: 100_000, pauseMs: 20, uid: NOBODY, timeoutMs: 120_000, onSpawn: (p) => { pid = p; } });
  await waitFor('the workload to spawn', () => pid > 0);
  return {
    pid, done,
    async stop() {
      try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ }
      return done;
    },
  };
}

/** Deletes the credential (if there) and returns once the agent reports running without it. */
async function deleteCredential(s: Stack): Promise<number> {
  const present = await s.api('GET', `/v1/resources/WorkloadCredential/${CREDENTIAL}`);
  if (present.status === 200) {
    const { revision } = await s.cp.store.delete('WorkloadCredential', CREDENTIAL);
    await waitFor(`the agent to apply revision ${revision}`, async () => (await fleetRow(s)).appliedRevision >= revision);
  }
  return Date.now();
}

/** When the agent ended `pid`'s connections after `since` (its log line), if it did. */
function resetAt(s: Stack, pid: number, since: number): number | undefined {
  for (const line of s.agent.output().split('\n')) {
    if (!line.includes('"part":"connection-reset"')) continue;
    const entry = JSON.parse(line) as { time: string; tgids?: number[] };
    const time = Date.parse(entry.time); // ISO 8601 (common/log.ts)
    if (time >= since && entry.tgids?.includes(pid)) return time;
  }
  return undefined;
}

/**
 * Re-applies the credential with the workload `pid` running and watches. The rule: once the agent
 * has ended the workload's connections, nothing more of it arrives unsigned (no 401), and it is
 * signed again. Returns the measured windows (ms after `apply` returned).
 */
async function reapplyAndObserve(s: Stack, pid: number, label: string) {
  const before = s.objectStorage.requests.length;
  const t0 = Date.now();
  await applyAndWait(s, [credentialDoc]);
  const after = (): typeof s.objectStorage.requests => s.objectStorage.requests.slice(before);
  await waitFor(`${label}: the agent to end the workload's connections`, () => resetAt(s, pid, t0) !== undefined, DEADLINE_MS);
  const reset = resetAt(s, pid, t0)!;
  await waitFor(`${label}: a signed request after the re-apply`, () => after().some((r) => r.principal === PRINCIPAL), 20_000);
  const firstSigned = after().find((r) => r.principal === PRINCIPAL)!.time.getTime();
  await waitFor(`${label}: ${OBSERVE_MS} ms of traffic after the first signed request`, () => Date.now() - firstSigned >= OBSERVE_MS, OBSERVE_MS + 5_000);
  const seen = after();
  const refused = seen.filter((r) => r.status === 401);
  const lastRefused = refused.length > 0 ? Math.max(...refused.map((r) => r.time.getTime())) : t0;
  return {
    late401: refused.filter((r) => r.time.getTime() > reset + CLOCK_SLACK_MS).map((r) => `${r.time.getTime() - reset} ms after the reset: ${r.method} ${r.target}`),
    signedAfter: seen.filter((r) => r.principal === PRINCIPAL && r.status < 300).length,
    resetMs: reset - t0,
    lastRefusedMs: lastRefused - t0,
    firstSignedMs: firstSigned - t0,
  };
}

kernelTest.serial('delete then apply with the workload running: no 401 once the agent has ended its connections, signed again', async (t) => {
  if (!requireBpf(t) || !stack) return;
  const s = stack;
  const start = s.objectStorage.requests.length;
  const workload = await startWorkload(s, 'rebind');
  try {
    await waitFor('signed requests from the running workload', () => s.objectStorage.requests.slice(start).filter((r) => r.principal === PRINCIPAL).length >= 10, 30_000);

    // Revocation: its steered connections are ended, it reconnects directly and is refused.
    const beforeDelete = s.objectStorage.requests.length;
    const revoked = await deleteCredential(s);
    await waitFor('401s after the delete (the revoked process now goes direct)', () => s.objectStorage.requests.slice(beforeDelete).filter((r) => r.status === 401).length >= 5, 15_000);
    const signedAfterRevoke = s.objectStorage.requests.slice(beforeDelete).filter((r) => r.principal === PRINCIPAL && r.time.getTime() > revoked);
    t.is(signedAfterRevoke.length, 0, 'signed after the agent reported the revocation applied');

    const seen = await reapplyAndObserve(s, workload.pid, 'rebind');
    t.log(`re-apply → connections ended ${seen.resetMs} ms, last 401 ${seen.lastRefusedMs} ms, first signed ${seen.firstSignedMs} ms after apply; ${seen.signedAfter} signed since`);
    t.deepEqual(seen.late401, [], '401s after the agent ended the connections');
    t.true(seen.signedAfter >= 10, `only ${seen.signedAfter} signed requests after the re-apply`);
    t.true(workload.pid > 0 && (await waitAlive(workload.pid)), 'the workload is the same running process throughout');
  } finally {
    const run = await workload.stop();
    t.log(`workload: ${run.lines.length} calls, ${run.lines.filter((l) => l['ok'] !== true).length} failed`);
  }
});

kernelTest.serial('a workload started before its identity is applied is steered once it is', async (t) => {
  if (!requireBpf(t) || !stack) return;
  const s = stack;
  await deleteCredential(s);
  const start = s.objectStorage.requests.length;
  const workload = await startWorkload(s, 'early');
  try {
    await waitFor('the unbound workload refused directly', () => s.objectStorage.requests.slice(start).filter((r) => r.status === 401).length >= 10, 30_000);
    const seen = await reapplyAndObserve(s, workload.pid, 'early');
    t.log(`apply → connections ended ${seen.resetMs} ms, last 401 ${seen.lastRefusedMs} ms, first signed ${seen.firstSignedMs} ms after apply; ${seen.signedAfter} signed since`);
    t.deepEqual(seen.late401, [], '401s after the agent ended the connections');
    t.true(seen.signedAfter >= 10, `only ${seen.signedAfter} signed requests after the apply`);
  } finally {
    await workload.stop();
  }
});

async function waitAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
