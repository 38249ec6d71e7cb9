/**
 * The console's one escaping rule: pages are built with the `html` tag, and every value interpolated
 * into it is escaped (text and quoted attributes alike: & < > " ' become entities) unless it is itself
 * the output of `html`. SPIFFE IDs, paths, labels and hostnames are attacker-influenced strings; there
 * is no way to put one into a page without passing through `escapeHtml`.
 */
const RAW = Symbol('html');

/** Markup that is already safe: only `html` makes one. */
export interface Html {
  readonly [RAW]: string;
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ENTITIES[c] as string);
}

const isHtml = (v: unknown): v is Html => typeof v === 'object' && v !== null && RAW in v;

/** Arrays are joined, undefined/null/false render as nothing, everything else is escaped text. */
function piece(value: unknown): string {
  if (isHtml(value)) return value[RAW];
  if (Array.isArray(value)) return value.map(piece).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += piece(value) + (strings[i + 1] ?? '');
  });
  return { [RAW]: out };
}

export function renderHtml(h: Html): string {
  return h[RAW];
}

/** `?a=1&b=2` from the non-empty entries (the result is still escaped where it is interpolated). */
export function query(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const text = q.toString();
  return text === '' ? '' : `?${text}`;
}

/** Long hex digests shortened for reading (`6295488653f0…6ffd`), the whole value in a tooltip. */
export function digest(value: string): Html {
  const shown = value.replace(/[0-9a-f]{64}/g, (hex) => `${hex.slice(0, 12)}…${hex.slice(-4)}`);
  return shown === value ? html`${value}` : html`<span title="${value}">${shown}</span>`;
}
