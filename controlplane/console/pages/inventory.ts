import { digest, html, query, type Html } from '../html.js';
import type { IdentityView } from '../inventory-view.js';
import { reachSvg } from '../svg.js';
import { since } from './layout.js';

/** Every WorkloadIdentity: who owns it, where it runs, what it may reach as which principal. */
export function inventoryMain(items: IdentityView[], staleDays: number, now: number): Html {
  const stale = items.filter((i) => i.stale).length;
  const orphaned = items.filter((i) => i.orphaned).length;
  return html`<h1>Inventory</h1>
<p class="summary">${items.length} workload identit${items.length === 1 ? 'y' : 'ies'} · ${stale} stale (unused for ${staleDays} days) · ${orphaned} orphaned (no owner)</p>
<table id="identities"><thead><tr><th>Identity</th><th>Owner</th><th>Selectors</th><th>Runs now on</th><th>Credentials → destinations (methods) · principal</th><th>Requests</th><th>Last used</th><th>Flags</th></tr></thead><tbody>
${items.map((i) => html`<tr data-workload="${i.workload}"><td><div class="mono">${i.spiffeId}</div><div class="muted">${i.workload}</div></td>
<td>${i.owner.trim() === '' ? html`<span class="muted">none</span>` : i.owner}</td>
<td>${i.selectors.map((s) => html`<div class="mono">${digest(s)}</div>`)}</td>
<td class="hosts">${i.hosts.length === 0 ? html`<span class="muted">nowhere</span>` : i.hosts.map((h) => html`<div>${h.hostname} <span class="muted">(${h.processes} process${h.processes === 1 ? '' : 'es'})</span></div>`)}</td>
<td>${i.credentials.length === 0 ? html`<span class="muted">no credential</span>` : i.credentials.map((c) => html`<div><b>${c.name}</b> → ${c.destinations.join(', ')} <span class="muted">(${c.methods?.join(', ') ?? 'all methods'}${c.unboundAccess === 'deny' ? ', egress-locked' : ''})</span> · <span class="mono">${c.principal ?? 'principal not seen yet'}</span></div>`)}</td>
<td class="num"><a href="/ui/audit${query({ identity: i.spiffeId })}">${i.requestsSigned}</a></td>
<td>${since(i.lastUsedAt, now)}</td>
<td>${i.stale ? html`<span class="pill stale">stale</span> ` : ''}${i.orphaned ? html`<span class="pill orphaned">orphaned</span> ` : ''}${i.credentials.length === 0 ? html`<span class="pill degraded">no credential</span>` : ''}</td></tr>`)}
</tbody></table>
<h2>Reach</h2>
<p class="muted">Each identity → the destinations its credentials allow → the OCI principal its session tokens name (from the last exchange).</p>
${items.map((i) => html`<div class="card" data-reach="${i.workload}">${reachSvg(i)}</div>`)}`;
}
