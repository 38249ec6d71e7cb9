/**
 * Issue 14 (5): steering must not stop while the destination is in the policy. The agent's
 * destinations come from `dns.resolve` overrides (TTL ∞) here; before the fix the sweep dropped them
 * once `dns.graceSeconds` had passed, and new connections from a bound process went straight to the
 * service. Judged by the Object Storage stand-in: every call of the bound workload arrives signed by
 * its principal. (The workload trusts only the signer's CA, so a connection that is not steered fails.)
 *
 * The first test shrinks the grace to 2 s and lets many times that pass. The soak variant
 * (SIGIL_SOAK=1, optional SIGIL_SOAK_MINUTES, default 15) keeps one stack with the default grace
 * (5 min) up and runs the workload every minute, and once more at the end.
 */
import test, { type ExecutionContext } from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireBpf } from '../helpers/kernel.js';
import { PRINCIPAL, startStack, type Stack } from './stack.js';

const OPS = 5;

async function assertSignedRun(t: ExecutionContext, stack: Stack, tag: string): Promise<void> {
  const before = stack.objectStorage.requests.length;
  const run = await stack.runSdkWorkload({ tag });
  t.is(run.code, 0, `${tag}: ${run.stderr}`);
  t.is(run.lines.filter((l) => l['ok'] === true).length, OPS, `${tag}: ${run.stdout}${run.stderr}`);
  const seen = stack.objectStorage.requests.slice(before);
  t.is(seen.length, OPS, tag);
  t.true(seen.every((r) => r.status < 300 && r.principal === PRINCIPAL), `${tag}: ${JSON.stringify(seen.map((r) => [r.method, r.status, r.principal]))}`);
}

/** Lets wall-clock time pass: the passing of time is what these tests are about. */
async function until(deadline: number): Promise<void> {
  const left = deadline - Date.now();
  if (left > 0) await sleep(left);
}

test.serial('steering still works after many grace periods (dns.graceSeconds 2, override destinations)', async (t) => {
  if (!requireBpf(t)) return;
  t.timeout(3 * 60_000);
  const stack = await startStack({ dnsGraceSeconds: 2 });
  t.teardown(() => stack.stop());
  const started = Date.now();
  await assertSignedRun(t, stack, 'at-start');
  // 2 s grace, refreshes every ≥5 s (the minimum TTL): 20 s is ten grace periods and several refreshes.
  await until(started + 20_000);
  await assertSignedRun(t, stack, 'after-10-graces');
});

const soak = process.env['SIGIL_SOAK'] ? test.serial : test.skip;
const soakMinutes = Number(process.env['SIGIL_SOAK_MINUTES'] ?? 15);

soak(`soak: one stack up for ${soakMinutes} min with the default grace, the bound workload signed every minute`, async (t) => {
  if (!requireBpf(t)) return;
  t.timeout((soakMinutes + 5) * 60_000);
  const stack = await startStack();
  t.teardown(() => stack.stop());
  const started = Date.now();
  for (let minute = 0; minute < soakMinutes; minute++) {
    await assertSignedRun(t, stack, `minute-${minute}`);
    await until(started + (minute + 1) * 60_000);
  }
  await assertSignedRun(t, stack, `after-${soakMinutes}-min`);
  t.log(`${stack.objectStorage.requests.length} requests over ${Math.round((Date.now() - started) / 60_000)} min, all signed`);
});
