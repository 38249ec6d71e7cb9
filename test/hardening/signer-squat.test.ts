/**
 * Nobody can stand in for the signer (issue 14, part 3). The signer listens on its own loopback
 * address and a privileged port. With the agent killed (-9), a local user (nobody, no capabilities)
 * cannot listen there or on the port's wildcard; the bound workload's steered connects are refused
 * and nothing of it reaches the service; the restarted agent serves the same running workload again.
 * A root process holding the exact address does not keep the agent from starting: it takes the
 * address back and logs who held it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import test from 'ava';
import { bpfUnavailableReason, requireBpf } from '../helpers/kernel.js';
import { startStack, type Stack } from '../e2e/stack.js';
import { runConnectProbe, runSdkAs } from '../e2e/uid-workload.js';
import { NOBODY, applyAndWait, identityDocs, nodeCopy, publicTempDir, waitFor } from './stack-support.js';

const PROBE_ID = 'spiffe://demo.sigil.dev/hardening/squat-probe';

let stack: Stack | undefined;
let work: Awaited<ReturnType<typeof publicTempDir>> | undefined;
let probeNode = '';

test.before(async () => {
  work = await publicTempDir('squat');
  if (bpfUnavailableReason !== undefined) return;
  // A copy of node bound by its hash alone: its `node -e` connect probe is steered.
  const copy = await nodeCopy(work.dir, 'squat-probe', 9);
  probeNode = copy.file;
  stack = await startStack({ heartbeatMs: 300 });
  await applyAndWait(stack, identityDocs('squat-probe', PROBE_ID, [`unix:sha256:${copy.sha256}`]));
});
test.after.always(async () => {
  await stack?.stop();
  await work?.cleanup();
});

async function killAgent(s: Stack): Promise<void> {
  const child = s.agent.child;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

interface Squatter { child: ChildProcess; lines(): Array<Record<string, unknown>>; stop(): Promise<void> }

/** nobody, no capabilities: tries to listen on every address that would get the signer's connections. */
async function startSquatter(host: string, port: number): Promise<Squatter> {
  const script = `const net = require('net');
for (const host of ${JSON.stringify([host, '::1', '0.0.0.0', '::'])}) {
  const srv = net.createServer((c) => { console.log(JSON.stringify({ accepted: host, from: c.remoteAddress + ':' + c.remotePort })); c.destroy(); });
  srv.on('error', (e) => console.log(JSON.stringify({ bind: host, ok: false, code: e.code })));
  srv.listen({ host, port: ${port} }, () => console.log(JSON.stringify({ bind: host, ok: true })));
}
setInterval(() => {}, 1000);`;
  const child = spawn('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--inh-caps=-all', process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  const lines = (): Array<Record<string, unknown>> => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  await waitFor('the squatter to try all four addresses', () => lines().filter((l) => 'bind' in l).length === 4 || child.exitCode !== null);
  return {
    child, lines,
    async stop() {
      if (child.exitCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    },
  };
}

test.serial('agent killed: nobody cannot squat the signer, steered connects are refused, nothing reaches the service; the restarted agent serves the same workload', async (t) => {
  if (!requireBpf(t) || !stack) return;
  const s = stack;
  const { signerHost, signerPort } = s.agent;
  t.true(signerPort < 1024, 'the stack runs the signer on a privileged port, as deployed');
  let pid = 0;
  const workload = runSdkAs(s, { tag: 'squat', uid: NOBODY, repeat: 100_000, pauseMs: 20, timeoutMs: 120_000, onSpawn: (p) => { pid = p; } });
  let squatter: Squatter | undefined;
  try {
    await waitFor('signed requests from the workload', () => s.objectStorage.requests.filter((r) => r.principal !== undefined).length >= 5, 30_000);

    await killAgent(s);
    const downFrom = Date.now();
    squatter = await startSquatter(signerHost, signerPort);
    const binds = squatter.lines().filter((l) => 'bind' in l);
    t.deepEqual(binds.map((l) => [l['bind'], l['ok'], l['code']]).sort(), [[signerHost, false, 'EACCES'], ['0.0.0.0', false, 'EACCES'], ['::', false, 'EACCES'], ['::1', false, 'EACCES']].sort() as unknown[],
      JSON.stringify(squatter.lines()));

    // A bound process connecting now is steered to an address nobody listens on: refused.
    const probe = await runConnectProbe(s, { node: probeNode, uid: NOBODY, attempts: 1 });
    t.deepEqual(probe.lines, [{ op: 'connect', ok: false, cause: 'ECONNREFUSED' }], probe.stdout + probe.stderr);
    // Let the running workload try for a while, with the squatter in place.
    await waitFor('1.5 s of agent downtime', () => Date.now() - downFrom >= 1_500, 5_000);
    const downTo = Date.now();
    t.deepEqual(s.objectStorage.requests.filter((r) => r.time.getTime() >= downFrom && r.time.getTime() <= downTo).map((r) => `${r.method} ${r.target} ${r.status}`), [],
      'requests reached the service while the agent was down');

    await s.restartAgent();
    const upAt = Date.now();
    t.notRegex(s.agent.output(), /EADDRINUSE|ADDRESS_IN_USE/);
    await waitFor('the same workload signed again', () => s.objectStorage.requests.some((r) => r.time.getTime() >= upAt && r.principal !== undefined), 20_000);
    t.true(pid > 0);
    t.deepEqual(squatter.lines().filter((l) => 'accepted' in l), [], 'the squatter received a connection');
  } finally {
    await squatter?.stop();
    try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
    const run = await workload;
    t.true(run.lines.some((l) => l['ok'] === false && l['status'] === undefined), 'the workload tried (and failed to connect) while the agent was down');
    // Across the kill and the restart nothing went out unsigned (a restart keeps bound processes bound).
    t.deepEqual(s.objectStorage.requests.filter((r) => r.status === 401).map((r) => `${r.time.toISOString()} ${r.method} ${r.rejection}`), []);
  }
});

test.serial('a root listener on the signer address does not keep the agent from starting: it is ended and named', async (t) => {
  if (!requireBpf(t) || !stack) return;
  const s = stack;
  await killAgent(s);
  let accepted = 0;
  const squat = net.createServer((c) => { accepted++; c.destroy(); });
  await new Promise<void>((resolve, reject) => { squat.once('error', reject); squat.listen({ host: s.agent.signerHost, port: s.agent.signerPort, exclusive: true }, resolve); });
  const closed = new Promise<void>((resolve) => squat.once('close', () => resolve()));
  squat.on('error', () => undefined);
  try {
    await s.restartAgent();
    t.regex(s.agent.output(), new RegExp(`SIGIL_ERR_SIGNER_ADDRESS_RECLAIMED.*pid ${process.pid} `));
    const run = await runSdkAs(s, { tag: 'after-reclaim', uid: NOBODY });
    t.true(run.lines.length === 5 && run.lines.every((l) => l['ok'] === true), run.stdout + run.stderr);
    t.is(accepted, 0, 'the squatting listener received a steered connection');
  } finally {
    squat.close();
    await Promise.race([closed, new Promise((r) => setTimeout(r, 1_000))]);
  }
});
