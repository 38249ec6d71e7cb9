/**
 * The audit page's rows: the stream's recent events with each agent's hostname, filtered by identity,
 * host and status, and the same rows as CSV or JSON for export.
 */
import type { AuditRow } from '../audit/index.js';

export type ShownRow = AuditRow & { hostname: string };

export interface AuditFilter {
  identity?: string;
  host?: string;
  /** "ok" (< 400), "refused" (≥ 400, signer refusals, unbound connections), "403", "4xx". */
  status?: string;
}

export function filterOf(params: URLSearchParams): AuditFilter {
  const get = (k: string): string | undefined => {
    const v = params.get(k)?.trim();
    return v ? v.slice(0, 2048) : undefined;
  };
  const status = get('status');
  return {
    ...(get('identity') ? { identity: get('identity')! } : {}),
    ...(get('host') ? { host: get('host')! } : {}),
    ...(status && /^(ok|refused|\d{3}|\dxx)$/.test(status) ? { status } : {}),
  };
}

/** Served (< 400) or not. An unbound connection is never served by Sigil. */
export const isRefusal = (row: AuditRow): boolean => row.kind === 'unbound' || row.status >= 400 || row.refusal !== undefined;

export function matches(row: ShownRow, f: AuditFilter): boolean {
  if (f.host !== undefined && row.hostname !== f.host && row.agentId !== f.host) return false;
  if (f.identity !== undefined && (row.kind !== 'request' || row.spiffeId !== f.identity)) return false;
  if (f.status === undefined) return true;
  if (f.status === 'ok') return !isRefusal(row);
  if (f.status === 'refused') return isRefusal(row);
  if (row.kind !== 'request') return false;
  if (/^\dxx$/.test(f.status)) return String(row.status)[0] === f.status[0];
  return String(row.status) === f.status;
}

/** Why a row is a refusal, in words. */
export function reasonOf(row: AuditRow): string {
  if (row.kind === 'unbound') {
    const parts = [];
    if (row.passed > 0) parts.push(`${row.passed} connection(s) from unbound processes went to OCI unsigned (the service refuses them)`);
    if (row.denied > 0) parts.push(`${row.denied} connection(s) from unbound processes refused by the kernel (egress lock)`);
    return parts.join('; ');
  }
  if (row.refusal !== undefined) return `refused by the signer: ${row.refusal}`;
  if (row.status >= 400) return `the service answered ${row.status}`;
  return row.aborted ? 'client went away before the end' : '';
}

const CSV_COLUMNS = ['time', 'host', 'agentId', 'kind', 'spiffeId', 'exePath', 'exeSha256', 'destination', 'method', 'path', 'status', 'latencyMs', 'reason'] as const;

/** RFC 4180 quoting; a leading = + - @ is prefixed with ' so a spreadsheet does not run it. */
function cell(value: string | number | undefined): string {
  let text = value === undefined ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(rows: ShownRow[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of rows) {
    const req = r.kind === 'request' ? r : undefined;
    lines.push([r.at, r.hostname, r.agentId, r.kind, req?.spiffeId, req?.exePath, req?.exeSha256, req?.host, req?.method, req?.path, req?.status, req?.latencyMs, reasonOf(r)].map(cell).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
