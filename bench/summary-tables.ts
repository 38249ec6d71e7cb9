/**
 * The benchmark tables of README.md ("## Benchmarks") and docs/benchmarks.md ("## Latest figures"),
 * rendered from a results file: each row names its figures by their path in the JSON, so the prose
 * around a table can be edited by hand but its numbers cannot drift from the run they came from.
 * `bench/main.ts` rewrites both after a full or quick run that writes latest.json;
 * `node dist/bench/summary-tables.js` does it for the committed latest.json; test/deploy/benchmarks-doc checks they match.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GOALS, valueAt, verdict } from './goals.js';

interface Figure {
  path: string;
  /** Shown after the last figure of the cell. */
  unit?: string;
}

export interface Row {
  label: string;
  figures: Figure[];
  /** The goal as written in the table; the verdict comes from bench/goals.ts for the same paths. */
  goal: string;
}

const f = (p: string, unit?: string): Figure => (unit === undefined ? { path: p } : { path: p, unit });

/** The README's rows: every figure with a goal, and the few needed to read them. */
export const README_ROWS: Row[] = [
  { label: 'agent CPU per signed request ÷ one RSA-2048 signature, wrk (`signer.cpuOverheadRatio`)', figures: [f('signer.cpuOverheadRatio')], goal: '≤ 1.3' },
  { label: 'added latency p50 / p99 over direct, in signatures (`signer.addedLatencyP50OverSign`, `…P99OverSign`)', figures: [f('signer.addedLatencyP50OverSign'), f('signer.addedLatencyP99OverSign')], goal: '≤ 1 / ≤ 3' },
  { label: 'agent cores used at saturation (`signer.agentCoresUsedAtSaturation`)', figures: [f('signer.agentCoresUsedAtSaturation')], goal: '≥ 1' },
  { label: "Sigil's hop beyond the signature ÷ nginx's, CPU / latency (`signer.hopCpuOverNginx`, `…hopLatencyOverNginx`)", figures: [f('signer.hopCpuOverNginx'), f('signer.hopLatencyOverNginx')], goal: '≤ 2 / ≤ 2' },
  { label: "the same hop's CPU ÷ a bare Node TLS pass-through's, same run (`signer.hopCpuOverNodeTlsFloor`)", figures: [f('signer.hopCpuOverNodeTlsFloor')], goal: '' },
  { label: 'through Sigil vs in-app `oci-common` signing, same SDK client (`signer.ratioToInApp`)', figures: [f('signer.ratioToInApp')], goal: '≥ 0.8' },
  { label: 'connect4 ÷ a no-op program on the same hook, steered / passed (`bpf.connect4SteeredOverNoop`, `…PassOverNoop`)', figures: [f('bpf.connect4SteeredOverNoop'), f('bpf.connect4PassOverNoop')], goal: '≤ 3 / ≤ 1.5' },
  { label: 'attestation: first 100 MB executable ÷ `sha256sum` of it / cached (`attest.first100MBOverSha256sum`, `attest.cachedUs`)', figures: [f('attest.first100MBOverSha256sum'), f('attest.cachedUs', 'µs')], goal: '≤ 1.5 / ≤ 20 µs' },
  { label: 'fleet apply→ack p99, 1,000 simulated agents, one NATS (`fleet.applyToAckP99Ms`)', figures: [f('fleet.applyToAckP99Ms', 'ms')], goal: '≤ 500 ms' },
  { label: 'the same on a 3-node NATS cluster / on one node, same run (`fleet.ha.applyToAckP99MsCluster`, `…OneNode`)', figures: [f('fleet.ha.applyToAckP99MsCluster'), f('fleet.ha.applyToAckP99MsOneNode', 'ms')], goal: '≤ 500 ms /' },
  { label: "apply→agent running p50 / p99 on the cluster, the policy bucket's stream leader killed during the run (`fleet.ha.applyToRunningP50Ms`, `…P99Ms`)", figures: [f('fleet.ha.applyToRunningP50Ms'), f('fleet.ha.applyToRunningP99Ms', 'ms')], goal: '' },
  { label: "control plane's push to 10,000 agents (`fleet.pushAll10kMs`)", figures: [f('fleet.pushAll10kMs', 'ms')], goal: '' },
  { label: 'agent RSS idle / with 1,000 steered connections open (`agent.rssIdleMB`, `agent.rssMB1000Conns`)', figures: [f('agent.rssIdleMB'), f('agent.rssMB1000Conns', 'MB')], goal: '≤ 60 / ≤ 100 MB' },
  { label: '1 GiB PUT / GET through Sigil ÷ through nginx; CPU per MiB ÷ nginx\'s (`bulk.putOverNginx`, `…getOverNginx`, `…cpuPerMiBOverNginx`)', figures: [f('bulk.putOverNginx'), f('bulk.getOverNginx'), f('bulk.cpuPerMiBOverNginx')], goal: '≥ 0.9 / ≥ 0.9 / ≤ 1.5' },
  { label: 'requests that waited on a token refresh, 10 s tokens (`credentials.blockedOnRefresh`)', figures: [f('credentials.blockedOnRefresh')], goal: '0' },
];

/** docs/benchmarks.md's rows: the README's, with the absolute figures the ratios are made of. */
export const DOCS_ROWS: Row[] = [
  { label: 'one RSA-2048 signature, CPU (`signer.signCostUs`): the floor', figures: [f('signer.signCostUs', 'µs')], goal: '' },
  { label: 'agent CPU per signed request, wrk / SDK client (`signer.agentCpuPerRequestUsWrk`, `signer.agentCpuPerRequestUs`)', figures: [f('signer.agentCpuPerRequestUsWrk'), f('signer.agentCpuPerRequestUs', 'µs')], goal: '' },
  { label: "CPU per proxied request: nginx / a bare Node TLS pass-through (`signer.nginxCpuPerRequestUs`, `signer.nodeTlsFloorCpuPerRequestUs`)", figures: [f('signer.nginxCpuPerRequestUs'), f('signer.nodeTlsFloorCpuPerRequestUs', 'µs')], goal: '' },
  ...README_ROWS.slice(0, 5),
  { label: 'added p50 over direct, µs: Sigil / nginx / Node TLS pass-through (`signer.native.addedLatencyP50Us.*`, `signer.nodeTlsFloorAddedLatencyP50Us`)', figures: [f('signer.native.addedLatencyP50Us.sigil.median'), f('signer.native.addedLatencyP50Us.nginx.median'), f('signer.nodeTlsFloorAddedLatencyP50Us', 'µs')], goal: '' },
  ...README_ROWS.slice(5, 6),
  { label: 'connect4 run time: steered / passed / no-op (`bpf.connect4SteeredNs`, `bpf.connect4PassNs`, `bpf.noopNs`)', figures: [f('bpf.connect4SteeredNs'), f('bpf.connect4PassNs'), f('bpf.noopNs', 'ns')], goal: '' },
  ...README_ROWS.slice(6, 7),
  { label: 'attestation, first 100 MB / `sha256sum` of it (`attest.first100MBms`, `attest.sha256sumMs`)', figures: [f('attest.first100MBms'), f('attest.sha256sumMs', 'ms')], goal: '' },
  ...README_ROWS.slice(7, 12),
  { label: 'the apply the kill hit: store call / last real agent running (`fleet.ha.killedApplyMs`, `fleet.ha.killedApplyToRunningMaxMs`)', figures: [f('fleet.ha.killedApplyMs'), f('fleet.ha.killedApplyToRunningMaxMs', 'ms')], goal: '' },
  ...README_ROWS.slice(12),
];

/** 1234.5 → "1,234.5"; at most two decimals, as the JSON holds them. */
function number(v: number): string {
  return v.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

function cell(results: unknown, row: Row): { value: string; met: string } {
  const spread = (valueAt(results, 'spread') ?? {}) as Record<string, [number, number]>;
  const parts = row.figures.map((fig) => {
    const v = valueAt(results, fig.path);
    if (typeof v !== 'number') return v === null ? 'not run' : 'missing';
    const range = spread[fig.path];
    return `${number(v)}${range ? ` (${number(range[0])}–${number(range[1])})` : ''}`;
  });
  const unit = row.figures[row.figures.length - 1]?.unit;
  const verdicts = row.figures.flatMap((fig) => {
    const goal = GOALS.find((g) => g.path === fig.path);
    return goal && (goal.max !== undefined || goal.min !== undefined) ? [verdict(goal, valueAt(results, fig.path))] : [];
  });
  const met = verdicts.length === 0 ? '' : verdicts.every((v) => v === 'not run') ? 'not run'
    : verdicts.some((v) => v === 'MISSED' || v === 'MISSING') ? 'no' : 'yes';
  return { value: `${parts.join(' / ')}${unit && parts.every((p) => p !== 'not run' && p !== 'missing') ? ` ${unit}` : ''}`, met };
}

/** A markdown table of `rows` for `results`. */
export function renderTable(results: unknown, rows: Row[]): string {
  const lines = ['| figure | value | goal | met |', '|---|---|---|---|'];
  for (const row of rows) {
    const { value, met } = cell(results, row);
    lines.push(`| ${row.label} | ${value} | ${row.goal} | ${met} |`);
  }
  return lines.join('\n');
}

/** `doc` with the first table under `## heading` replaced by `table`. */
export function withTable(doc: string, heading: string, table: string): string {
  const start = doc.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`no section "## ${heading}"`);
  const lines = doc.slice(start + 1).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const next = lines.findIndex((l, i) => i > 0 && l.startsWith('## '));
  if (first < 0 || (next >= 0 && first > next)) throw new Error(`no table under "## ${heading}"`);
  let last = first;
  while (lines[last + 1]?.startsWith('|')) last++;
  lines.splice(first, last - first + 1, ...table.split('\n'));
  return doc.slice(0, start + 1) + lines.join('\n');
}

export const SUMMARY_TABLES = [
  { file: 'README.md', heading: 'Benchmarks', rows: README_ROWS },
  { file: 'docs/benchmarks.md', heading: 'Latest figures', rows: DOCS_ROWS },
] as const;

/** Rewrites both tables from `results`; returns the files changed. */
export function writeSummaryTables(root: string, results: unknown): string[] {
  const changed: string[] = [];
  for (const { file, heading, rows } of SUMMARY_TABLES) {
    const full = path.join(root, file);
    const before = readFileSync(full, 'utf8');
    const after = withTable(before, heading, renderTable(results, rows));
    if (after !== before) {
      writeFileSync(full, after);
      changed.push(file);
    }
  }
  return changed;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const results: unknown = JSON.parse(readFileSync(path.join(root, 'bench/results/latest.json'), 'utf8'));
  process.stdout.write(`${writeSummaryTables(root, results).join('\n') || 'tables already match bench/results/latest.json'}\n`);
}
