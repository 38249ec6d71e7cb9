/**
 * `-o table|wide|json|yaml|name`, the one way every command that prints resources or lists prints
 * them (kubectl's meanings): table = aligned columns, wide = more columns, json/yaml = the document
 * (a list is `{apiVersion, kind: List, items}`), name = one `<kind>/<name>` per line. Unknown values
 * are refused by the option itself (commander's choices: exit 2).
 */
import { Option } from 'commander';
import { stringify } from 'yaml';

export const OUTPUT_FORMATS = ['table', 'wide', 'json', 'yaml', 'name'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/**
 * The `-o, --output` option; `formats` narrows the choices (a command with no table, say). With a null
 * default the command prints its own plain text when `-o` is absent (apply's "created" lines, a token).
 */
export function outputOption(formats: readonly OutputFormat[] = OUTPUT_FORMATS, defaultFormat: OutputFormat | null = 'table'): Option {
  const option = new Option('-o, --output <format>', 'output format').choices(formats);
  return defaultFormat === null ? option : option.default(defaultFormat);
}

export interface Column<T> {
  header: string;
  value: (item: T) => string;
  /** Only in `-o wide`. */
  wide?: boolean;
}

export interface View<T> {
  items: readonly T[];
  columns: ReadonlyArray<Column<T>>;
  /** `<kind>/<name>` for `-o name`. */
  name: (item: T) => string;
  /** What table/wide print when there are no items (kubectl: "No resources found."). */
  empty: string;
  /** json/yaml: this document instead of the List of items (one resource, a status object). */
  document?: unknown;
  /** apiVersion of the List document. */
  apiVersion?: string;
  /** Lines printed before the table (e.g. the fleet's current revision). */
  heading?: string[];
}

export function listDocument<T>(items: readonly T[], apiVersion = 'sigil.dev/v1'): { apiVersion: string; kind: 'List'; items: readonly T[] } {
  return { apiVersion, kind: 'List', items };
}

/** The text `format` prints for `view` (ends with a newline unless empty). */
export function render<T>(format: OutputFormat, view: View<T>): string {
  const document = view.document !== undefined ? view.document : listDocument(view.items, view.apiVersion);
  switch (format) {
    case 'json':
      return `${JSON.stringify(document, null, 2)}\n`;
    case 'yaml':
      return stringify(document);
    case 'name':
      return view.items.map((item) => `${view.name(item)}\n`).join('');
    case 'table':
    case 'wide': {
      const heading = (view.heading ?? []).map((line) => `${line}\n`).join('');
      if (view.items.length === 0) return `${heading}${view.empty}\n`;
      const columns = view.columns.filter((c) => format === 'wide' || !c.wide);
      return heading + alignedColumns(columns.map((c) => c.header), view.items.map((item) => columns.map((c) => c.value(item))));
    }
  }
}

/** Aligned columns, three spaces apart, the last one unpadded. */
export function alignedColumns(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return `${all.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 3))).join('')).join('\n')}\n`;
}
