/**
 * Binding changes reach running workloads. A long-running SDK client (keep-alive, unprivileged uid)
 * keeps its connections: without the agent ending them, connections opened while the process was
 * unbound go straight to the service after the binding is (re)applied and every request on them is
 * refused 401 with the placeholder key. With SOCK_DESTROY on the state change, the client reconnects
 * and is steered. Asserted on what the Object Storage stand-in accepted and refused, by time.
 */
import test from 'ava';
import { bpfUnavailableReason, requireBpf } from '../helpers/kernel.js';
import { NOBODY, applyAndWait, fleetRow, waitFor } from '../hardening/stack-support.js';
import { OS_HOST, PRINCIPAL, startStack, type Stack } from './stack.js';
import { runSdkAs } from './uid-workload.js';
import type { WorkloadRun } from './workload-runner.js';

/** The stated window (docs/operator-guide.md): from `apply` returning to every request being signed. */
const WINDOW_MS = 3_000;
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

/**
 * Re-applies the credential and watches: returns the window (apply → last 401) and the requests
 * seen after the apply. Waits for the first signed request, then OBSERVE_MS more.
 */
async function reapplyAndObserve(s: Stack, label: string): Promise<{ t0: number; late401: number; signedAfter: number; lastRefusedMs: number; firstSignedMs: number }> {
  const before = s.objectStorage.requests.length;
  const t0 = Date.now();
  await applyAndWait(s, [credentialDoc]);
  const after = (): typeof s.objectStorage.requests => s.objectStorage.requests.slice(before);
  await waitFor(`${label}: a signed request after the re-apply`, () => after().some((r) => r.principal === PRINCIPAL), 20_000);
  const firstSigned = after().find((r) => r.principal === PRINCIPAL)!.time.getTime();
  await waitFor(`${label}: ${OBSERVE_MS} ms of traffic after the first signed request`, () => Date.now() - firstSigned >= OBSERVE_MS, OBSERVE_MS + 5_000);
  const seen = after();
  const refused = seen.filter((r) => r.status === 401);
  const lastRefused = refused.length > 0 ? Math.max(...refused.map((r) => r.time.getTime())) : t0;
  return {
    t0,
    late401: refused.filter((r) => r.time.getTime() > t0 + WINDOW_MS).length,
    signedAfter: seen.filter((r) => r.principal === PRINCIPAL && r.status < 300).length,
    lastRefusedMs: lastRefused - t0,
    firstSignedMs: firstSigned - t0,
  };
}

test.serial('delete then apply with the workload running: after the re-apply, no 401 beyond the window', async (t) => {
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

    const seen = await reapplyAndObserve(s, 'rebind');
    t.log(`re-apply → first signed request ${seen.firstSignedMs} ms, last 401 ${seen.lastRefusedMs} ms after apply; ${seen.signedAfter} signed since`);
    t.is(seen.late401, 0, `401s more than ${WINDOW_MS} ms after the re-apply`);
    t.true(seen.signedAfter >= 10, `only ${seen.signedAfter} signed requests after the re-apply`);
    t.true(workload.pid > 0 && (await waitAlive(workload.pid)), 'the workload is the same running process throughout');
  } finally {
    const run = await workload.stop();
    t.log(`workload: ${run.lines.length} calls, ${run.lines.filter((l) => l['ok'] !== true).length} failed`);
  }
});

test.serial('a workload started before its identity is applied is steered once it is', async (t) => {
  if (!requireBpf(t) || !stack) return;
  const s = stack;
  await deleteCredential(s);
  const start = s.objectStorage.requests.length;
  const workload = await startWorkload(s, 'early');
  try {
    await waitFor('the unbound workload refused directly', () => s.objectStorage.requests.slice(start).filter((r) => r.status === 401).length >= 10, 30_000);
    const seen = await reapplyAndObserve(s, 'early');
    t.log(`apply → first signed request ${seen.firstSignedMs} ms, last 401 ${seen.lastRefusedMs} ms after apply; ${seen.signedAfter} signed since`);
    t.is(seen.late401, 0, `401s more than ${WINDOW_MS} ms after the apply`);
    t.true(seen.signedAfter >= 10, `only ${seen.signedAfter} signed requests after the apply`);
  } finally {
    await workload.stop();
  }
  // The agent says what it did.
  t.regex(s.agent.output(), /existing connections of these processes ended/);
});

async function waitAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
