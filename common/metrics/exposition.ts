/**
 * Prometheus text exposition format 0.0.4, written by hand: a few families do not justify a
 * dependency. One family = one `# HELP`, one `# TYPE`, then its samples; label values and help text
 * are escaped as the format requires, so any string (a hostname, an error code) is safe to export.
 */

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type MetricType = 'counter' | 'gauge';

export interface Sample {
  labels?: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  /** [a-zA-Z_:][a-zA-Z0-9_:]*; counters end in `_total`. */
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const escapeHelp = (text: string): string => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabelValue = (text: string): string => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function formatLabels(labels: Record<string, string> | undefined, family: string): string {
  const entries = Object.entries(labels ?? {});
  if (entries.length === 0) return '';
  for (const [key] of entries) {
    if (!LABEL.test(key) || key.startsWith('__')) throw new TypeError(`metric ${family}: invalid label name "${key}"`);
  }
  return `{${entries.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

/** The whole exposition, newline-terminated. Throws TypeError on an invalid metric or label name. */
export function renderExposition(families: MetricFamily[]): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const family of families) {
    if (!NAME.test(family.name)) throw new TypeError(`invalid metric name "${family.name}"`);
    if (seen.has(family.name)) throw new TypeError(`metric ${family.name} rendered twice`);
    seen.add(family.name);
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) lines.push(`${family.name}${formatLabels(sample.labels, family.name)} ${formatValue(sample.value)}`);
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** A counter keyed by one label's value, for families like requests-by-status. */
export class LabelledCounter {
  readonly #counts = new Map<string, number>();

  inc(labelValue: string, by = 1): void {
    this.#counts.set(labelValue, (this.#counts.get(labelValue) ?? 0) + by);
  }

  get(labelValue: string): number {
    return this.#counts.get(labelValue) ?? 0;
  }

  samples(label: string): Sample[] {
    return [...this.#counts.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([value, count]) => ({ labels: { [label]: value }, value: count }));
  }
}
