/**
 * End to end on the real kernel: the official OCI SDK with a placeholder config, run by a bound
 * program, succeeds against the strictly verifying Object Storage stand-in — signed on the wire by
 * the agent with a session token the control plane exchanged at the IAM stand-in. The same script run
 * by a copy of node with one byte changed is not bound: its requests go out with the placeholder
 * key and are refused 401.
 */
import test from 'ava';
import { settledLines } from '../helpers/agent-output.js';
import { bpfUnavailableReason, kernelTest, requireBpf } from '../helpers/kernel.js';
import { PRINCIPAL, SPIFFE_ID, WORKLOAD_UID, startStack, type Stack } from './stack.js';
import { reportedIdentity } from './workload-runner.js';

let stack: Stack | undefined;

test.before(async () => {
  if (bpfUnavailableReason === undefined) stack = await startStack({ heartbeatMs: 500, ...(process.env["SIGIL_AGENT_LOG"] ? { agentLogFile: process.env["SIGIL_AGENT_LOG"] } : {}) });
});
test.after.always(async () => {
  await stack?.stop();
});

const OPS = ['getNamespace', 'putObject', 'getObject', 'listObjects', 'deleteObject'];

kernelTest.serial('a bound SDK workload succeeds through the signer; every request is signed by its principal', async (t) => {
  if (!requireBpf(t) || !stack) return;
  const before = stack.objectStorage.requests.length;
  const run = await stack.runSdkWorkload({ tag: 'bound' });
  t.is(run.code, 0, run.stderr);
  // As an unprivileged user with no capability, trusting only the file `sigil-agent trust` names.
  t.deepEqual(reportedIdentity(run), { uids: [WORKLOAD_UID, WORKLOAD_UID, WORKLOAD_UID, WORKLOAD_UID], capEff: '0000000000000000', capAmb: '0000000000000000' }, run.stderr);
  t.deepEqual(run.lines.map((l) => [l['op'], l['ok']]), OPS.map((op) => [op, true]), run.stdout + run.stderr);
  const seen = stack.objectStorage.requests.slice(before);
  t.is(seen.length, OPS.length);
  for (const r of seen) {
    t.is(r.status < 300, true, `${r.method} ${r.target} → ${r.status} ${r.rejection ?? ''}`);
    t.is(r.principal, PRINCIPAL);
  }
  // The agent attested the process and the audit log names it, with no credential material.
  const audit = await settledLines(() => stack!.agent.output(), (l) => l.includes('"event":"request"'), OPS.length);
  t.true(audit.length >= OPS.length);
  t.true(audit.every((l) => l.includes(SPIFFE_ID)));
  t.false(/ST\$|Signature version|BEGIN [A-Z ]*PRIVATE KEY/.test(stack.agent.output()));
});

kernelTest.serial('the same script under a copy of node with another hash is not bound: 401 from the service', async (t) => {
  if (!requireBpf(t) || !stack) return;
  const before = stack.objectStorage.requests.length;
  const run = await stack.runSdkWorkload({ node: stack.unboundNode, tag: 'unbound' });
  const first = run.lines[0];
  t.is(first?.['op'], 'getNamespace', run.stdout + run.stderr);
  t.is(first?.['ok'], false);
  t.is(first?.['status'], 401, run.stdout + run.stderr);
  const seen = stack.objectStorage.requests.slice(before);
  t.true(seen.length >= 1);
  t.true(seen.every((r) => r.status === 401 && r.principal === undefined));
});

kernelTest.serial('the fleet sees the agent healthy with the kernel-reported programs and the current revision', async (t) => {
  if (!requireBpf(t) || !stack) return;
  const { status, body } = await stack.api<{ agents: Array<{ state: string; reasons: string[]; programs: Array<{ name: string }>; revisionApplied: number; protection?: { mode: string; reason: string } }>; currentRevision: number }>('GET', '/v1/fleet/status');
  t.is(status, 200);
  t.is(body.agents.length, 1, JSON.stringify(body));
  const [agent] = body.agents;
  t.is(agent?.state, 'healthy', JSON.stringify(agent));
  t.true((agent?.programs ?? []).some((p) => p.name.includes('connect4')), JSON.stringify(agent));
  // The host's identity-protection mode, as the agent loaded it: this machine's own doctor says which.
  t.true(agent?.protection?.mode === 'enforce' || agent?.protection?.mode === 'taint-only', JSON.stringify(agent?.protection));
  t.truthy(agent?.protection?.reason);
  // The same, as Prometheus text on the control plane's loopback port.
  const metrics = await (await fetch(`${stack.cp.url}/metrics`)).text();
  t.regex(metrics, /^sigil_controlplane_agents\{state="healthy"\} 1$/m, metrics);
});
