/**
 * The local demo (`make demo`, `npm run demo [-- --json]`): the whole system on this machine, then
 * the official OCI SDK example as a bound workload (succeeds with no credential of its own) and as an
 * unbound copy of the same program (refused by the service), both as an unprivileged user with no
 * capabilities, trusting the signer as `sigil-agent trust` says, then `sigil fleet status`. It prints the
 * console's URL and a viewer token to sign in with; run from a terminal, it keeps everything up for the
 * console until Ctrl-C (`--no-hold` ends at once). Everything it started is stopped on exit or Ctrl-C.
 * With --json the last line is a JSON summary (and it never holds).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { OS_HOST, ROOT, SPIFFE_ID, startStack, type Stack } from './stack.js';
import { reportedIdentity, type WorkloadRun } from './workload-runner.js';
import { explainRun } from './workload-failure.js';

const { values } = parseArgs({ options: { json: { type: 'boolean', default: false }, 'no-hold': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } } });
if (values.help) {
  process.stdout.write('usage: npm run demo [-- --json] [-- --no-hold]   (as root, on a kernel with BPF and BTF)\n');
  process.exit(0);
}
const json = values.json === true;
// From a terminal the demo stays up for the console until Ctrl-C; in scripts and CI it ends.
const hold = !json && values['no-hold'] !== true && process.stdin.isTTY === true && process.stdout.isTTY === true;
const say = (text: string): void => {
  if (!json) process.stdout.write(`${text}\n`);
};

function summarize(run: WorkloadRun): { made: number; accepted: number; refused: number } {
  const made = run.lines.length;
  const accepted = run.lines.filter((l) => l['ok'] === true).length;
  return { made, accepted, refused: made - accepted };
}

function cli(stack: Stack, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist/controlplane/cli/main.js'), ...args], {
      env: { ...process.env, SIGIL_SERVER: stack.cp.url, SIGIL_TOKEN_FILE: path.join(stack.root, 'controlplane', 'admin.token') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('exit', () => resolve(out));
  });
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) {
    process.stderr.write('the demo needs root: it loads eBPF programs and creates a cgroup\n');
    return 1;
  }
  say('Starting NATS, the control plane, the OCI stand-ins and the Sigil agent ...');
  const stack = await startStack({ heartbeatMs: 1000, controlPlaneListen: '127.0.0.1:0' });
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    say('Stopping everything the demo started ...');
    await stack.stop();
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => { void stop().then(() => process.exit(130)); });
  }
  try {
    say(`  NATS ${stack.nats.url} · control plane ${stack.cp.url} · agent pid ${stack.agent.pid} (steering cgroup ${stack.cgroup})`);
    say(`  Object Storage stand-in: https://${OS_HOST} → ${stack.objectStorage.address}:443 (only in the workloads' private /etc/hosts)`);
    say(`  The workload's OCI config is a placeholder (${stack.ociConfig}); its environment holds only NODE_EXTRA_CA_CERTS=${stack.signerCa} (from \`sigil-agent trust\`).`);
    say('');
    say(`1. The OCI SDK example, run by node (bound to ${SPIFFE_ID}) as uid ${stack.workloadUid}, not root:`);
    const bound = await stack.runSdkWorkload({ tag: 'bound' });
    const who = reportedIdentity(bound);
    say(`     (the kernel says: uid ${who?.uids.join('/') ?? '?'}, effective capabilities ${who?.capEff ?? '?'}, ambient ${who?.capAmb ?? '?'})`);
    for (const l of bound.lines) say(`     ${String(l['op']).padEnd(14)} ${l['ok'] ? 'ok' : `refused ${String(l['status'] ?? '')} ${String(l['code'] ?? '')}`}`);
    say('');
    say('2. The same script run by a copy of node with one byte changed (another hash: not bound):');
    const unbound = await stack.runSdkWorkload({ node: stack.unboundNode, tag: 'unbound' });
    for (const l of unbound.lines) say(`     ${String(l['op']).padEnd(14)} ${l['ok'] ? 'ok' : `refused ${String(l['status'] ?? '')} ${String(l['code'] ?? '')}`}`);
    say('');
    say('3. sigil fleet status:');
    const fleetText = await cli(stack, ['fleet', 'status']);
    say(fleetText.trimEnd().split('\n').map((l) => `     ${l}`).join('\n'));
    const fleetJson = await cli(stack, ['fleet', 'status', '-o', 'json']);
    let fleet: { agents?: Array<{ id: string; state: string; reasons?: string[] }> } = {};
    const problems = [...explainRun('1. bound workload', bound, 'served'), ...explainRun('2. unbound copy', unbound, 'refused')];
    try {
      fleet = JSON.parse(fleetJson) as typeof fleet;
    } catch {
      problems.push(`3. \`sigil fleet status -o json\` did not print JSON:\n  | ${fleetJson.trimEnd().split('\n').join('\n  | ')}`);
    }
    for (const agent of fleet.agents ?? []) {
      if (agent.state !== 'healthy') problems.push(`3. agent ${agent.id} is ${agent.state}: ${(agent.reasons ?? []).join('; ') || 'no reason given'}`);
    }
    if (problems.length > 0) {
      // The agent's own words usually say why (attestation, exchange, steering): its last lines.
      const agentLog = stack.agent.output().trimEnd().split('\n').slice(-20);
      problems.push(`the agent's last ${agentLog.length} log lines:\n  | ${agentLog.join('\n  | ')}`);
    }
    const summary = {
      ok: problems.length === 0,
      problems,
      workload: { uids: who?.uids ?? [], capEff: who?.capEff ?? '?', capAmb: who?.capAmb ?? '?' },
      bound: summarize(bound),
      unbound: summarize(unbound),
      service: {
        requests: stack.objectStorage.requests.length,
        accepted: stack.objectStorage.requests.filter((r) => r.status < 400).length,
        refused: stack.objectStorage.requests.filter((r) => r.status === 401).length,
      },
      fleet: (fleet.agents ?? []).map((a) => ({ id: a.id, state: a.state })),
      console: `${stack.cp.url}/ui/`,
    };
    say('');
    if (summary.ok) {
      say('The bound workload was served; the unbound copy was refused.');
    } else {
      // Also with --json (stdout is then the summary only): the causes go to stderr.
      process.stderr.write(`UNEXPECTED: ${problems.length} problem(s):\n${problems.map((p) => `- ${p}`).join('\n')}\n`);
    }
    const viewer = await stack.api<{ token: string; expiresAt: string }>('POST', '/v1/access-tokens', { role: 'viewer', ttl: '8h' });
    say('');
    say(`4. The console (read-only): ${stack.cp.url}/ui/`);
    say(`     sign in with this viewer token (made by \`sigil token create --role viewer\`): ${viewer.status === 201 ? viewer.body.token : `(not made: HTTP ${viewer.status})`}`);
    if (hold) {
      say('     Fleet, inventory and audit trail of this demo are there now. Press Ctrl-C to stop the demo.');
      await new Promise<void>(() => undefined);
    }
    say('     (run from a terminal, the demo stays up for the console until Ctrl-C)');
    await stop();
    if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    return summary.ok ? 0 : 1;
  } catch (err) {
    await stop();
    throw err;
  }
}

main().then((code) => process.exit(code), (err) => {
  process.stderr.write(`demo failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
