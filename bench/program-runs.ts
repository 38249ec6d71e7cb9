/** Kernel run-time stats of BPF programs, by name: how many runs and how many ns in all. */
export type Snapshot = Map<string, { runs: number; ns: number }>;

/** Mean ns per run of `name` between two snapshots; throws when it did not run in between. */
export function perRun(before: Snapshot, after: Snapshot, name: string): number {
  const a = after.get(name);
  const b = before.get(name) ?? { runs: 0, ns: 0 };
  if (!a || a.runs - b.runs <= 0) throw new Error(`${name} did not run`);
  return (a.ns - b.ns) / (a.runs - b.runs);
}
