/** The goals of issues 9, 15 and 19 and the table main.ts prints: each figure, its goal, met or not (min–max where measured in rounds). */

export interface Goal {
  /** Dotted path into the results JSON. */
  path: string;
  unit: string;
  /** Absent: reported for context, no goal. */
  max?: number;
  min?: number;
}

export const GOALS: Goal[] = [
  { path: 'signer.signCostUs', unit: 'µs' },
  { path: 'signer.signHandOffCpuUs', unit: 'µs' },
  { path: 'signer.asyncSignMainThreadUs', unit: 'µs' },
  { path: 'signer.agentCpuPerRequestUs', unit: 'µs' },
  { path: 'signer.cpuOverheadRatio', unit: '×', max: 1.3 },
  { path: 'signer.cpuOverheadRatioSdk', unit: '×' },
  { path: 'signer.addedLatencyP50OverSign', unit: 'signs', max: 1 },
  { path: 'signer.addedLatencyP99OverSign', unit: 'signs', max: 3 },
  { path: 'signer.agentCoresUsedAtSaturation', unit: 'cores', min: 1 },
  { path: 'signer.hopCpuOverNginx', unit: '×', max: 2 },
  { path: 'signer.hopLatencyOverNginx', unit: '×', max: 2 },
  { path: 'signer.nodeTlsFloorCpuPerRequestUs', unit: 'µs' },
  { path: 'signer.hopCpuOverNodeTlsFloor', unit: '×' },
  { path: 'signer.nodeTlsFloorAddedLatencyP50Us', unit: 'µs' },
  { path: 'signer.viaSigilRps', unit: 'req/s' },
  { path: 'signer.inAppSdkRps', unit: 'req/s' },
  { path: 'signer.ratioToInApp', unit: '×', min: 0.8 },
  { path: 'signer.clientCpuPerRequestUsViaSigil', unit: 'µs' },
  { path: 'signer.clientCpuPerRequestUsInApp', unit: 'µs' },
  { path: 'signer.addedLatencyP50Us', unit: 'µs', max: 250 },
  { path: 'signer.addedLatencyP99Us', unit: 'µs', max: 2000 },
  { path: 'bpf.connect4SteeredNs', unit: 'ns' },
  { path: 'bpf.connect4PassNs', unit: 'ns' },
  { path: 'bpf.noopNs', unit: 'ns' },
  { path: 'bpf.connect4SteeredOverNoop', unit: '×', max: 3 },
  { path: 'bpf.connect4PassOverNoop', unit: '×', max: 1.5 },
  { path: 'attest.first100MBms', unit: 'ms' },
  { path: 'attest.sha256sumMs', unit: 'ms' },
  { path: 'attest.first100MBOverSha256sum', unit: '×', max: 1.5 },
  { path: 'attest.cachedUs', unit: 'µs', max: 20 },
  { path: 'fleet.applyToAckP99Ms', unit: 'ms', max: 500 },
  { path: 'fleet.realApplyToAckP99Ms', unit: 'ms' },
  { path: 'fleet.allReal.applyToAckP99Ms', unit: 'ms' },
  { path: 'fleet.pushAll10kMs', unit: 'ms' },
  // Issue 15 (bench/fleet-ha.ts, full run only): the same 1,000 agents on a 3-node NATS cluster from
  // init-nats --cluster 3 and on one node, same run. Issue 7's 500 ms holds for the cluster too: an HA
  // installation is the production one. Apply → running with the policy bucket's stream leader killed
  // during the run has no goal in the issue (its test asks 5 s from the apply's return, not its start).
  { path: 'fleet.ha.applyToAckP99MsCluster', unit: 'ms', max: 500 },
  { path: 'fleet.ha.applyToAckP99MsOneNode', unit: 'ms' },
  { path: 'fleet.ha.applyToRunningP50Ms', unit: 'ms' },
  { path: 'fleet.ha.applyToRunningP99Ms', unit: 'ms' },
  { path: 'fleet.ha.killedApplyMs', unit: 'ms' },
  { path: 'agent.rssIdleMB', unit: 'MB', max: 60 },
  { path: 'agent.rssMB1000Conns', unit: 'MB', max: 100 },
  { path: 'bulk.putOverNginx', unit: '×', min: 0.9 },
  { path: 'bulk.getOverNginx', unit: '×', min: 0.9 },
  { path: 'bulk.cpuPerMiBOverNginx', unit: '×', max: 1.5 },
  { path: 'credentials.blockedOnRefresh', unit: '', max: 0 },
];

/** The figure at `dotted`; null when a part on the way is null (a phase this run left out: "not run"). */
export function valueAt(results: unknown, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((v, key) => (v === null ? null : typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined), results);
}

export function verdict(goal: Goal, value: unknown): string {
  if (value === null) return 'not run';
  if (typeof value !== 'number' || Number.isNaN(value)) return 'MISSING';
  if (goal.max !== undefined) return value <= goal.max ? 'met' : 'MISSED';
  if (goal.min !== undefined) return value >= goal.min ? 'met' : 'MISSED';
  return '';
}

export function formatTable(results: unknown, goals: Goal[]): string {
  const rows = goals.map((g) => {
    const value = valueAt(results, g.path);
    // Figures measured in several runs carry their min–max in results.spread.
    const range = (valueAt(results, 'spread') as Record<string, [number, number]> | undefined)?.[g.path];
    const goal = g.max !== undefined ? `≤ ${g.max}` : g.min !== undefined ? `≥ ${g.min}` : '';
    const shown = `${typeof value === 'number' ? value : String(value)}${range ? ` (${range[0]}–${range[1]})` : ''}`;
    return [g.path, `${shown} ${g.unit}`.trim(), goal, verdict(g, value)];
  });
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length), ['figure', 'value', 'goal', ''][i]!.length));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(['figure', 'value', 'goal', '']), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
