import { digest, html, query, type Html } from '../html.js';
import { isRefusal, reasonOf, type AuditFilter, type ShownRow } from '../audit-query.js';
import { barsSvg, type Bucketed } from '../svg.js';

const BUCKETS = 24;
const MAX_SERIES = 8;
/** Rows in the table (the chart and the exports take all of them). */
const TABLE_ROWS = 200;

/** Requests served and refused per identity over the span of the rows shown (unbound counts as "unbound processes"). */
function chart(rows: ShownRow[]): Html {
  if (rows.length === 0) return html``;
  const times = rows.map((r) => Date.parse(r.at));
  const from = Math.min(...times);
  const to = Math.max(...times, from + 60_000);
  const span = (to - from) / BUCKETS;
  const series = new Map<string, Bucketed>();
  for (const r of rows) {
    const label = r.kind === 'request' ? r.spiffeId : 'unbound processes';
    let s = series.get(label);
    if (!s) {
      if (series.size >= MAX_SERIES) continue;
      s = { label, buckets: Array.from({ length: BUCKETS }, () => ({ ok: 0, refused: 0 })) };
      series.set(label, s);
    }
    const b = s.buckets[Math.min(BUCKETS - 1, Math.floor((Date.parse(r.at) - from) / span))]!;
    const n = r.kind === 'unbound' ? r.passed + r.denied : 1;
    if (isRefusal(r)) b.refused += n;
    else b.ok += n;
  }
  return html`<div class="card">${barsSvg([...series.values()], new Date(from), new Date(to))}</div>`;
}

/** "12-01 11:59:06.333" (UTC); the full timestamp is the cell's tooltip and in the exports. */
const shortTime = (iso: string): string => `${iso.slice(5, 10)} ${iso.slice(11, 23)}`;

export interface AuditPageData {
  rows: ShownRow[];
  filter: AuditFilter;
  identities: string[];
  hosts: string[];
  refusedBatches: number;
  droppedByAgents: number;
}

export function auditMain(d: AuditPageData): Html {
  const refusals = d.rows.filter(isRefusal).length;
  const exportQuery = query({ identity: d.filter.identity, host: d.filter.host, status: d.filter.status });
  const option = (value: string, current: string | undefined, label = value): Html => html`<option value="${value}"${value === (current ?? '') ? html` selected` : ''}>${label}</option>`;
  return html`<h1>Audit</h1>
<form class="filters" method="get" action="/ui/audit">
<label>Identity<select name="identity">${option('', d.filter.identity, 'all')}${d.identities.map((i) => option(i, d.filter.identity))}</select></label>
<label>Host<select name="host">${option('', d.filter.host, 'all')}${d.hosts.map((h) => option(h, d.filter.host))}</select></label>
<label>Status<select name="status">${option('', d.filter.status, 'all')}${option('ok', d.filter.status, 'served (< 400)')}${option('refused', d.filter.status, 'refused')}${['2xx', '4xx', '5xx', '401', '403'].map((s) => option(s, d.filter.status))}</select></label>
<button class="primary" type="submit">Filter</button>
<span class="exports">Export: <a href="/ui/audit.csv${exportQuery}" download>CSV</a><a href="/ui/audit.json${exportQuery}" download>JSON</a></span>
</form>
<p class="summary">${d.rows.length} event(s), ${refusals} refusal(s)${d.rows.length > TABLE_ROWS ? ` · the newest ${TABLE_ROWS} below (export for all)` : ''}${d.droppedByAgents > 0 ? html` · <span class="error">${d.droppedByAgents} event(s) dropped by agents before shipping</span>` : ''}${d.refusedBatches > 0 ? html` · <span class="error">${d.refusedBatches} malformed batch(es) ignored</span>` : ''}</p>
${chart(d.rows)}
<table id="audit"><thead><tr><th>Time (UTC)</th><th>Host</th><th>Identity</th><th>Executable</th><th>Destination</th><th>Method</th><th>Path</th><th>Status</th><th>Latency</th><th>Reason</th></tr></thead><tbody>
${d.rows.slice(0, TABLE_ROWS).map((r) => r.kind === 'unbound'
    ? html`<tr class="refusal unbound"><td class="mono" title="${r.at}">${shortTime(r.at)}</td><td>${r.hostname}</td><td colspan="5" class="muted">unbound processes (counted by the kernel)</td><td><span class="pill refused">unbound</span></td><td></td><td class="reasons">${reasonOf(r)}</td></tr>`
    : html`<tr class="${isRefusal(r) ? 'refusal' : 'served'}"><td class="mono" title="${r.at}">${shortTime(r.at)}</td><td>${r.hostname}</td><td class="mono">${r.spiffeId}</td>
<td><div class="mono">${r.exePath}</div><div class="mono muted">sha256 ${digest(r.exeSha256)}</div></td><td>${r.host}</td><td>${r.method}</td><td class="mono">${r.path}</td>
<td><span class="pill ${isRefusal(r) ? 'refused' : 'ok'}">${r.status}</span></td><td class="num">${r.latencyMs} ms</td><td class="reasons">${reasonOf(r)}</td></tr>`)}
</tbody></table>`;
}
