/** Median and min–max of a benchmark's repeated runs: every figure is reported with its spread. */

export interface Spread { median: number; min: number; max: number; runs: number }

export function spread(values: number[], digits = 2): Spread {
  if (values.length === 0) throw new Error('spread of no runs');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const r = (n: number): number => Math.round(n * 10 ** digits) / 10 ** digits;
  return { median: r(median), min: r(sorted[0]!), max: r(sorted[sorted.length - 1]!), runs: values.length };
}
