/**
 * `npm run bench` (`node dist/bench/main.js [--quick] [--out FILE] [--only-stack | --only-ha]`): every Sigil benchmark side by side
 * in one run, as root on the real kernel. Writes bench/results/latest.json (or --out) and prints a
 * table of the figures against the goals of issue 9. `--quick` takes 1–2 minutes; the full run ~6–8.
 *
 * The fleet runs in child processes of its own (lite agents beside 20 real ones, then, in the full run,
 * 1,000 real agents over 4 processes; the control plane's push to 10,000 agents alone; and, full run
 * only, the same 1,000 agents on a 3-node NATS cluster vs one node with a node killed, bench/fleet-ha.ts),
 * so neither the stack nor this process's event loop is in its figures.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchAttest } from './attest.js';
import { benchIdentityCost } from './identity-cost.js';
import { benchBpf } from './bpf.js';
import type { FleetBenchResult, FleetPushResult } from './fleet.js';
import type { FleetHaResult } from './fleet-ha.js';
import { benchSignCost } from './sign.js';
import { benchThroughStack } from './through-stack.js';
import { GOALS, formatTable } from './goals.js';
import { writeSummaryTables } from './summary-tables.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string' }, 'profile-agent': { type: 'string' }, 'only-stack': { type: 'boolean', default: false }, 'only-ha': { type: 'boolean', default: false } } });
const quick = values.quick ?? false;
const out = values.out ?? path.join(ROOT, 'bench/results/latest.json');
const started = Date.now();
const log = (line: string): void => {
  process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
};

/** Runs bench/fleet.js in a child with the bigger thread pool it documents; returns its figures. */
function fleetInChild<T>(key: 'fleet' | 'fleetPush' | 'fleetHa', args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(HERE, 'fleet.js'), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, UV_THREADPOOL_SIZE: '64' },
    });
    let text = '';
    child.stdout.on('data', (d: Buffer) => { text += d.toString(); });
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = text.split('\n').find((l) => l.startsWith('{'));
      if (code !== 0 || !line) return reject(new Error(`bench fleet ${args.join(' ')} exited ${code}: ${text}`));
      resolve((JSON.parse(line) as Record<string, T>)[key]!);
    });
  });
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the benchmarks load BPF programs and move processes between cgroups: run them as root');
  const cpus = os.cpus();
  const machine = {
    cores: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    kernel: os.release(),
    node: process.version,
    date: new Date().toISOString(),
  };
  log(`${quick ? 'quick' : 'full'} run on ${machine.cores} × ${machine.cpuModel}, Linux ${machine.kernel}, node ${machine.node}`);

  log('RSA-2048 sign cost');
  const signing = await benchSignCost(quick ? 1000 : 4000);
  const { signCostUs } = signing;
  // The signer phase's options; the native-client figures are medians of `rounds` runs.
  const stackOptions = {
    throughputSeconds: quick ? 6 : 20, concurrency: 16, latencyRequests: quick ? 300 : 2000, heldConnections: 1000, tokenLifetimeSeconds: 10,
    signCostUs, rounds: quick ? 3 : 5, wrkSeconds: quick ? 3 : 5, bulkRounds: quick ? 1 : 3,
    ...(values['profile-agent'] ? { profileAgentDir: path.resolve(values['profile-agent']) } : {}),
    log,
  };

  if (values['only-stack']) {
    // The signer phase alone (profiling, the signer's figures): printed with its goals; written only
    // to an explicit --out, so a partial run never replaces latest.json.
    const partial = { run: { mode: `${quick ? 'quick' : 'full'}, only-stack`, seconds: 0 }, machine, ...signerFigures(signCostUs, await benchThroughStack(stackOptions)) };
    partial.run.seconds = Math.round((Date.now() - started) / 1000);
    if (values.out) await writeFile(values.out, `${JSON.stringify(partial, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(partial, null, 2)}\n${formatTable(partial, GOALS)}\n`);
    return;
  }

  if (values['only-ha']) {
    // The NATS-cluster figures alone (bench/fleet-ha.ts); like --only-stack, written only to an explicit --out.
    log('fleet: 1,000 agents on a 3-node NATS cluster vs one node; apply → running with a node killed');
    const ha = await fleetInChild<FleetHaResult>('fleetHa', ['1000', '2', '--ha']);
    const partial = { run: { mode: 'full, only-ha', seconds: Math.round((Date.now() - started) / 1000) }, machine, fleet: { ha }, spread: spreadsOf({ 'fleet.ha': ha.spread }) };
    if (values.out) await writeFile(values.out, `${JSON.stringify(partial, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(partial, null, 2)}\n${formatTable(partial, GOALS.filter((g) => g.path.startsWith('fleet.ha.')))}\n`);
    return;
  }

  log('connect4 hook run time against no-op programs on the same hook');
  const bpf = await benchBpf(quick ? 1000 : 2000, quick ? 3 : 5);

  log('identity protection: kernel programs against no-op programs of the same type');
  const identityCost = await benchIdentityCost(quick ? 1000 : 5000, quick ? 100 : 500);

  log('attestation');
  const attest = await benchAttest(quick ? 3 : 5);

  log('signer through the whole stack');
  const stackBench = await benchThroughStack(stackOptions);

  log('fleet: 1,000 agents (980 lite in 2 processes, 20 real FleetClients in another)');
  const fleetLite = await fleetInChild<FleetBenchResult>('fleet', ['1000', '2', '--lite']);
  log(`  ${JSON.stringify(fleetLite)}`);
  // Context, full run only: every agent a real FleetClient, 4 processes on this machine's cores.
  let fleetAllReal: FleetBenchResult | null = null;
  if (!quick) {
    log('fleet: 1,000 real agents in 4 processes');
    fleetAllReal = await fleetInChild<FleetBenchResult>('fleet', ['1000', '4']);
    log(`  ${JSON.stringify(fleetAllReal)}`);
  }
  log('fleet: control-plane push to 10,000 agents');
  const fleetPush = await fleetInChild<FleetPushResult>('fleetPush', [quick ? '2000' : '10000', '--push']);
  log(`  ${JSON.stringify(fleetPush)}`);
  // Full run only (~2 min): the fleet on a 3-node NATS cluster (init-nats --cluster 3) vs one node, and
  // apply → running with the policy bucket's stream leader killed during the run.
  let fleetHa: FleetHaResult | null = null;
  if (!quick) {
    log('fleet: 1,000 agents on a 3-node NATS cluster vs one node; apply → running with a node killed');
    fleetHa = await fleetInChild<FleetHaResult>('fleetHa', ['1000', '2', '--ha']);
    log(`  ${JSON.stringify(fleetHa)}`);
  }

  const { signer, bulk, agent, credentials, spread } = signerFigures(signCostUs, stackBench);
  const results = {
    run: { mode: quick ? 'quick' : 'full', seconds: Math.round((Date.now() - started) / 1000) },
    machine,
    // What a signature costs made the signer's way (off the event loop) beyond the inline floor.
    signer: { ...signer, asyncSignCpuUs: signing.asyncSignCpuUs, asyncSignMainThreadUs: signing.asyncSignMainThreadUs, signHandOffCpuUs: signing.handOffCpuUs },
    bulk,
    bpf,
    attest,
    identityCost,
    fleet: {
      agents: fleetLite.agents,
      applyToAckP99Ms: fleetLite.applyToAckP99Ms,
      realApplyToAckP99Ms: fleetLite.realApplyToAckP99Ms,
      pushAllMs: fleetLite.pushAllMs,
      pushAll10kMs: fleetPush.agents === 10_000 ? fleetPush.pushAllMs : null,
      lite: fleetLite,
      allReal: fleetAllReal,
      push: fleetPush,
      ha: fleetHa,
    },
    agent,
    credentials,
    spread: {
      ...spread,
      ...spreadsOf({ attest: attest.spread, fleet: fleetLite.spread ?? null, 'fleet.ha': fleetHa?.spread ?? null }),
      // bench/bpf.ts and bench/fleet.ts name their rounds' figures shorter than the results do.
      ...aliased(bpf.spread, { steeredOverNoop: 'bpf.connect4SteeredOverNoop', passOverNoop: 'bpf.connect4PassOverNoop', steeredNs: 'bpf.connect4SteeredNs', passNs: 'bpf.connect4PassNs', noopNs: 'bpf.noopNs' }),
      ...(fleetPush.agents === 10_000 ? aliased(fleetPush.spread, { pushAllMs: 'fleet.pushAll10kMs' }) : {}),
    },
  };
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
  log(`wrote ${path.relative(process.cwd(), out) || out}`);
  // The README's and docs/benchmarks.md's tables follow latest.json, never another file.
  if (values.out === undefined) log(`tables rewritten: ${writeSummaryTables(ROOT, results).join(', ') || 'none changed'}`);
  process.stdout.write(`${formatTable(results, GOALS)}\n`);
}

/** The signer phase's part of the results: SDK figures, wrk/nginx medians, bulk, memory, refresh. */
function signerFigures(signCostUs: number, stackBench: Awaited<ReturnType<typeof benchThroughStack>>) {
  const { signer: stackSigner, agent, credentials, native } = stackBench;
  return {
    signer: {
      signCostUs,
      ...stackSigner,
      // With the SDK client (bench/load-client.ts), which saturates before the agent does.
      cpuOverheadRatioSdk: Math.round((stackSigner.agentCpuPerRequestUs / signCostUs) * 100) / 100,
      // With wrk (bench/native-clients.ts): medians of the rounds; min–max in `spread`.
      ...medians(native.signer),
      native: native.signer,
    },
    bulk: native.bulk === null ? null : { ...medians(native.bulk), native: native.bulk },
    agent,
    credentials,
    spread: spreadsOf({ signer: native.signer, bulk: native.bulk }),
  };
}

type SpreadLike = { median: number; min: number; max: number };
const isSpread = (v: unknown): v is SpreadLike => typeof v === 'object' && v !== null && 'median' in v && 'min' in v;

/** The median of every top-level Spread field, under the same name. */
function medians(o: object): Record<string, number> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => isSpread(v)).map(([k, v]) => [k, (v as SpreadLike).median]));
}

/** [min, max] of the Spread figures `names` picks from `o`, under the results' paths it gives them. */
function aliased(o: object | null | undefined, names: Record<string, string>): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  for (const [k, v] of Object.entries(o ?? {})) if (names[k] && isSpread(v)) out[names[k]] = [v.min, v.max];
  return out;
}

/** `dotted.path` → [min, max] of every Spread figure, for the table's min–max column. */
function spreadsOf(groups: Record<string, object | null>): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  for (const [group, o] of Object.entries(groups)) {
    for (const [k, v] of Object.entries(o ?? {})) if (isSpread(v)) out[`${group}.${k}`] = [v.min, v.max];
  }
  return out;
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
