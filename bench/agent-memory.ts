/**
 * Where the agent's memory goes (docs/benchmarks.md, "Where the agent's memory goes"), as root on the
 * real kernel: `node dist/bench/agent-memory.js [--hold N] [--rounds R] [--variant NAME:ENV=V,... ...]
 * [--heap-snapshot DIR]` (a V8 heap snapshot of the agent while it holds the connections).
 *
 * Per variant and round, one whole stack (test/e2e/stack.ts; the agent with its systemd unit's
 * NODE_OPTIONS, plus the variant's environment) is warmed up the way bench/through-stack.ts does
 * (bench/load-client.js, 4 connections, 1.5 s) and measured idle, then loaded (8 connections, 4 s:
 * the agent's CPU per request), then made to hold N keep-alive connections (one request each). At both points it records the agent's VmRSS, its /proc/<pid>/smaps by kind of
 * mapping, its threads, and (bench/memory-probe-hook.ts, on SIGWINCH) the main isolate's V8 heap and
 * the modules loaded. Variants run interleaved (A B A B …), so their ratios come from one run.
 * Prints one JSON object per measurement and a summary line per variant.
 */
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { OS_HOST, startStack, type Stack } from '../test/e2e/stack.js';
import { runWorkload } from '../test/e2e/workload-runner.js';
import { unitNodeFlags } from '../test/helpers/agent-unit.js';
import { deployTestApp } from '../test/helpers/test-app.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const LOAD_CLIENT = path.join(HERE, 'load-client.js');
const HOOK = new URL('./memory-probe-hook.js', import.meta.url).href;

interface Variant { name: string; env: Record<string, string> }

/** One mapping of /proc/<pid>/smaps. */
interface Mapping { name: string; perms: string; sizeKb: number; rssKb: number; anonKb: number }

function parseSmaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  let cur: Mapping | undefined;
  for (const line of text.split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      cur = { perms: head[1]!, name: head[2]!, sizeKb: 0, rssKb: 0, anonKb: 0 };
      out.push(cur);
      continue;
    }
    const field = /^(Size|Rss|Anonymous):\s+(\d+) kB/.exec(line);
    if (field && cur) {
      if (field[1] === 'Size') cur.sizeKb = Number(field[2]);
      else if (field[1] === 'Rss') cur.rssKb = Number(field[2]);
      else cur.anonKb = Number(field[2]);
    }
  }
  return out;
}

/** RSS (MB) by kind of mapping: the node binary, shared libraries, bpf maps, [heap] (brk), anonymous, … */
function smapsByKind(maps: Mapping[]): Record<string, number> {
  const kinds: Record<string, number> = {};
  for (const m of maps) {
    const kind = m.name === '' ? 'anonymous'
      : m.name.startsWith('anon_inode:') ? m.name
      : m.name.startsWith('[') ? m.name
      : /\/node$/.test(m.name) ? 'node binary'
      : /\.so(\.|$)|\.node$/.test(m.name) ? 'shared libraries'
      : 'other files';
    kinds[kind] = (kinds[kind] ?? 0) + m.rssKb;
  }
  return Object.fromEntries(Object.entries(kinds).map(([k, kb]) => [k, Math.round(kb / 102.4) / 10]));
}

async function rssMB(pid: number): Promise<number> {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return Math.round(kb / 102.4) / 10;
}

/** user+sys CPU of a process in µs (/proc/<pid>/stat fields 14 and 15, at 100 ticks per second). */
async function processCpuUs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

async function threads(pid: number): Promise<Record<string, number>> {
  const names: Record<string, number> = {};
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    const comm = (await readFile(`/proc/${pid}/task/${tid}/comm`, 'utf8').catch(() => '?')).trim();
    names[comm] = (names[comm] ?? 0) + 1;
  }
  return names;
}

/** The hook's report: asked for with SIGWINCH, written into `dir`. */
async function probe(pid: number, dir: string): Promise<Record<string, unknown>> {
  const file = path.join(dir, `agent-${pid}.json`);
  await rm(file, { force: true });
  process.kill(pid, 'SIGWINCH');
  const deadline = Date.now() + 10_000;
  for (;;) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text) {
      try {
        return JSON.parse(text) as Record<string, unknown>;
      } catch { /* still being written */ }
    }
    if (Date.now() > deadline) throw new Error('the agent wrote no memory report (is bench/memory-probe-hook.js preloaded?)');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const mb = (bytes: number): number => Math.round(bytes / 104857.6) / 10;

/** The figures of one moment: VmRSS, smaps by kind, threads, V8 heap, module counts by package. */
async function snapshot(pid: number, dir: string): Promise<Record<string, unknown>> {
  const report = await probe(pid, dir) as {
    memoryUsage: NodeJS.MemoryUsage; heap: Record<string, number>; code: Record<string, number>;
    spaces: Array<{ space_name: string; space_size: number; space_used_size: number; physical_space_size: number }>; modules: string[];
  };
  const packages: Record<string, number> = {};
  for (const url of report.modules) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? (url.startsWith('node:') ? 'node:' : url.startsWith('file:') ? 'sigil' : 'other');
    packages[pkg] = (packages[pkg] ?? 0) + 1;
  }
  return {
    rssMB: await rssMB(pid),
    smapsMB: smapsByKind(parseSmaps(await readFile(`/proc/${pid}/smaps`, 'utf8'))),
    threads: await threads(pid),
    v8: {
      heapUsedMB: mb(report.memoryUsage.heapUsed), heapTotalMB: mb(report.memoryUsage.heapTotal),
      physicalMB: mb(report.heap['total_physical_size'] ?? 0), externalMB: mb(report.memoryUsage.external), arrayBuffersMB: mb(report.memoryUsage.arrayBuffers),
      spacesPhysicalMB: Object.fromEntries(report.spaces.map((s) => [s.space_name, mb(s.physical_space_size)])),
      codeAndMetadataMB: mb((report.code['code_and_metadata_size'] ?? 0) + (report.code['bytecode_and_metadata_size'] ?? 0)),
    },
    modules: report.modules.length,
    packages,
  };
}

async function sha256File(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}

/** A heap snapshot of the agent (SIGPWR to the hook), copied to `out` once written. */
async function heapSnapshot(pid: number, dir: string, out: string, name: string): Promise<void> {
  const file = path.join(dir, `agent-${pid}.heapsnapshot`);
  process.kill(pid, 'SIGPWR');
  const deadline = Date.now() + 60_000;
  // Written in one go by the agent's main thread: its size stops changing when done.
  for (let last = -1; Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
    const size = (await stat(file).catch(() => undefined))?.size ?? -1;
    if (size > 0 && size === last) {
      await copyFile(file, path.join(out, `${name}-${pid}.heapsnapshot`));
      return;
    }
    last = size;
  }
}

async function measure(variant: Variant, hold: number, dir: string, heapSnapshotDir?: string): Promise<Record<string, unknown>> {
  const saved = { ...process.env };
  // The stack spawns the agent with this process's environment: the unit's flags, the probe, the variant.
  process.env['NODE_OPTIONS'] = [...(await unitNodeFlags()), '--import', HOOK, variant.env['NODE_OPTIONS'] ?? ''].join(' ').trim();
  process.env['SIGIL_BENCH_MEMORY_DIR'] = dir;
  for (const [k, v] of Object.entries(variant.env)) if (k !== 'NODE_OPTIONS') process.env[k] = v;
  let stack: Stack | undefined;
  try {
    stack = await startStack({
      extraPolicy: [
        {
          apiVersion: 'sigil.dev/v1', kind: 'WorkloadIdentity', metadata: { name: 'bench-load' },
          spec: {
            spiffeId: 'spiffe://demo.sigil.dev/bench/load', owner: 'bench', agents: { labels: { role: 'demo' } },
            selectors: [`unix:sha256:${await sha256File(process.execPath)}`, `script:sha256:${await sha256File(LOAD_CLIENT)}`],
          },
        },
        {
          apiVersion: 'sigil.dev/v1', kind: 'WorkloadCredential', metadata: { name: 'bench-load-objectstorage' },
          spec: { workload: 'bench-load', source: 'oci-demo', destinations: [OS_HOST], ttl: '15m' },
        },
      ],
    });
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
  const s = stack;
  try {
    const client = (await deployTestApp(path.join(s.host, 'opt/bench'), ['bench/load-client.js'], ['oci-common'])).path('bench/load-client.js');
    const run = async (args: string[]): Promise<Record<string, unknown>> => {
      const r = await runWorkload({
        cgroup: s.workloadCgroup, hosts: { [OS_HOST]: s.objectStorage.address }, command: process.execPath,
        args: [client, '--config', s.ociConfig, '--host', OS_HOST, '--namespace', s.objectStorage.namespace, '--tag', 'memory', ...args],
        env: { NODE_EXTRA_CA_CERTS: s.caBundle }, timeoutMs: 300_000,
      });
      if (r.code !== 0 || !r.lines[0]) throw new Error(`load client exited ${r.code}: ${r.stderr}`);
      return r.lines[0];
    };
    await run(['--concurrency', '4', '--duration-ms', '1500']);
    const idle = await snapshot(s.agent.pid, dir);
    // CPU per request under load (agent user+sys from /proc ÷ the client's completed requests), so a
    // memory change that costs request CPU shows here too.
    const idleCpuStart = await processCpuUs(s.agent.pid);
    await new Promise((r) => setTimeout(r, 5000));
    const idleCpuUsPerS = Math.round((await processCpuUs(s.agent.pid) - idleCpuStart) / 5);
    const cpuBefore = await processCpuUs(s.agent.pid);
    const load = await run(['--concurrency', '8', '--duration-ms', '4000', '--op', 'get']);
    const agentCpuPerRequestUs = Math.round((await processCpuUs(s.agent.pid) - cpuBefore) / Math.max(1, load['requests'] as number));
    let held: Record<string, unknown> | undefined;
    let whileHeld: Record<string, unknown> | undefined;
    if (hold > 0) {
      const before = await rssMB(s.agent.pid);
      // Sampled while the client holds its connections (it reports the agent's VmRSS at that moment).
      let peak: Record<string, unknown> | undefined;
      const sampler = setInterval(() => {
        void readdir(`/proc/${s.agent.pid}/fd`).then(async (fds) => {
          if (fds.length < hold || peak) return;
          peak = { fds: fds.length };
          Object.assign(peak, await snapshot(s.agent.pid, dir));
          if (heapSnapshotDir) await heapSnapshot(s.agent.pid, dir, heapSnapshotDir, variant.name);
        }, () => undefined);
      }, 250);
      held = await run(['--hold', String(hold), '--rss-of', String(s.agent.pid)]).finally(() => clearInterval(sampler));
      whileHeld = peak;
      held['perConnectionKB'] = Math.round((((held['agentRssMB'] as number) - before) * 1024) / Math.max(1, held['held'] as number));
      held['rssBeforeHoldMB'] = before;
    }
    return { variant: variant.name, idle, load: { requests: load['requests'], rps: load['rps'], agentCpuPerRequestUs, idleCpuUsPerS }, held, whileHeld };
  } finally {
    await s.stop();
  }
}

function parseVariant(spec: string): Variant {
  const [name, rest = ''] = spec.split(/:(.*)/s);
  const env: Record<string, string> = {};
  for (const pair of rest.split(',').filter((p) => p !== '')) {
    const at = pair.indexOf('=');
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return { name: name!, env };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { hold: { type: 'string', default: '1000' }, rounds: { type: 'string', default: '1' }, variant: { type: 'string', multiple: true }, 'heap-snapshot': { type: 'string' } } });
  const variants = (values.variant ?? ['unit:']).map(parseVariant);
  const dir = await mkdtemp(path.join(os.tmpdir(), `sigil-memory-${randomBytes(3).toString('hex')}-`));
  const results: Array<Record<string, unknown>> = [];
  try {
    for (let round = 0; round < Number(values.rounds); round++) {
      for (const v of variants) {
        const r = await measure(v, Number(values.hold), dir, values['heap-snapshot']);
        results.push(r);
        process.stdout.write(`${JSON.stringify({ round, ...r })}\n`);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  for (const v of variants) {
    const mine = results.filter((r) => r['variant'] === v.name);
    const idle = mine.map((r) => (r['idle'] as { rssMB: number }).rssMB);
    const held = mine.map((r) => (r['held'] as { agentRssMB?: number } | undefined)?.agentRssMB);
    process.stdout.write(`${JSON.stringify({ summary: v.name, idleMB: idle, heldMB: held })}\n`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
