/**
 * The native programs the signer benchmark drives (Debian packages, never installed by the bench):
 * wrk (load generator), nginx (the anchor proxy), curl (bulk transfers). Missing one is an error that
 * names the package, so a run never quietly leaves a figure out.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

const PACKAGE_OF: Record<string, string> = { wrk: 'wrk', nginx: 'nginx', curl: 'curl' };

/** Absolute path of `name` on PATH (plus /usr/sbin, where Debian puts nginx). */
export function requireTool(name: 'wrk' | 'nginx' | 'curl'): string {
  const dirs = [...(process.env['PATH'] ?? '').split(':'), '/usr/sbin', '/usr/bin'].filter((d) => d !== '');
  for (const dir of dirs) {
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this directory
    }
  }
  throw new Error(`the signer benchmark needs ${name} (Debian package ${PACKAGE_OF[name]}), which is not installed: apt-get install ${PACKAGE_OF[name]} (the benchmark installs nothing itself)`);
}

/** Median, min and max of a list of figures (the runs of one measurement). */
export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

export function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const r = (n: number): number => Math.round(n * 100) / 100;
  return { median: r(median), min: r(sorted[0]!), max: r(sorted[sorted.length - 1]!), runs: values.map(r) };
}
