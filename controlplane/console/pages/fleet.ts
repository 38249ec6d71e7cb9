import { html, type Html } from '../html.js';
import type { FleetStatus } from '../../fleet/index.js';
import { age } from './layout.js';

/** Every agent, as `sigil fleet status` computes it (controlplane/fleet/views.ts). */
export function fleetMain(status: FleetStatus | undefined): Html {
  if (!status) return html`<h1>Fleet</h1><p class="muted">This control plane runs without a fleet (no NATS fleet authority configured).</p>`;
  const counts = new Map<string, number>();
  for (const a of status.agents) counts.set(a.state, (counts.get(a.state) ?? 0) + 1);
  return html`<h1>Fleet</h1>
<p class="summary">Policy revision ${status.currentRevision} · ${status.agents.length} agent(s): ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ') || 'none'}</p>
<table id="agents"><thead><tr><th>Host</th><th>Agent</th><th>State</th><th>Revision applied / issued</th><th>Heartbeat</th><th>Protection</th><th>Programs (kernel)</th><th>Version</th><th>Kernel</th><th>Labels</th></tr></thead><tbody>
${status.agents.map((a) => html`<tr data-agent="${a.id}"><td>${a.hostname}</td><td class="mono">${a.id}</td>
<td><span class="pill ${a.state}">${a.state}</span>${a.reasons.length > 0 ? html`<div class="reasons">${a.reasons.map((r) => html`<div>${r}</div>`)}</div>` : ''}</td>
<td>${a.appliedRevision} / ${a.issuedRevision ?? '-'}${a.issuedRevision !== undefined && a.appliedRevision < a.issuedRevision ? html` <span class="pill degraded">behind</span>` : ''}</td>
<td>${age(a.lastHeartbeatAgeSeconds)}</td>
<td>${a.protection ? html`${a.protection.mode}<div class="muted">${a.protection.reason}</div>` : '-'}</td>
<td>${a.programs.length === 0 ? '-' : a.programs.map((p) => html`<div class="mono" title="id ${p.id}, tag ${p.tag}">${p.attachType}: ${p.name}</div>`)}</td>
<td>${a.version ?? '-'}</td><td class="mono">${a.kernel ?? '-'}</td>
<td>${Object.entries(a.labels).map(([k, v]) => html`<div class="mono">${k}=${v}</div>`)}</td></tr>`)}
</tbody></table>`;
}
