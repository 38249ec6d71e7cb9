/**
 * The console's two pictures, as inline SVG built with the same `html` tag (every label escaped):
 * an identity's reach (identity → destinations → OCI principal) and requests/refusals over time.
 */
import { html, type Html } from './html.js';
import type { IdentityView } from './inventory-view.js';

const BOX_W = 300;
const BOX_H = 24;
const ROW = 32;
const COLS = [10, 370, 730];

function box(x: number, y: number, label: string, cls: string): Html {
  const shown = label.length > 44 ? `${label.slice(0, 21)}…${label.slice(-22)}` : label;
  return html`<g class="node ${cls}"><rect x="${x}" y="${y}" width="${BOX_W}" height="${BOX_H}" rx="4"></rect><text x="${x + 8}" y="${y + 16}">${shown}</text><title>${label}</title></g>`;
}

function edge(x1: number, y1: number, x2: number, y2: number): Html {
  const mid = (x1 + x2) / 2;
  return html`<path class="edge" d="M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}"></path>`;
}

/** identity → each destination its credentials allow → the principal those credentials' tokens name. */
export function reachSvg(identity: IdentityView): Html {
  const destinations = [...new Set(identity.credentials.flatMap((c) => c.destinations))].sort();
  const principals = [...new Set(identity.credentials.map((c) => c.principal ?? `${c.source}: principal not seen yet`))].sort();
  const rows = Math.max(1, destinations.length, principals.length);
  const height = rows * ROW + 8;
  const y = (i: number, n: number): number => 4 + ((rows - n) * ROW) / 2 + i * ROW;
  const idY = y(0, 1);
  const destY = new Map(destinations.map((d, i) => [d, y(i, destinations.length)]));
  const prinY = new Map(principals.map((p, i) => [p, y(i, principals.length)]));
  const edges: Html[] = [];
  for (const d of destinations) edges.push(edge(COLS[0]! + BOX_W, idY + BOX_H / 2, COLS[1]!, destY.get(d)! + BOX_H / 2));
  for (const c of identity.credentials) {
    const p = c.principal ?? `${c.source}: principal not seen yet`;
    for (const d of c.destinations) edges.push(edge(COLS[1]! + BOX_W, destY.get(d)! + BOX_H / 2, COLS[2]!, prinY.get(p)! + BOX_H / 2));
  }
  return html`<svg class="reach" role="img" aria-label="reach of ${identity.spiffeId}" viewBox="0 0 1040 ${height}" width="1040" height="${height}" xmlns="http://www.w3.org/2000/svg">
${edges}
${box(COLS[0]!, idY, identity.spiffeId, 'identity')}
${destinations.map((d) => box(COLS[1]!, destY.get(d)!, d, 'destination'))}
${principals.map((p) => box(COLS[2]!, prinY.get(p)!, p, 'principal'))}
</svg>`;
}

export interface Bucketed {
  label: string;
  /** Per time bucket: requests served, requests refused. */
  buckets: Array<{ ok: number; refused: number }>;
}

/** One small bar chart per series over the same time buckets (oldest left). */
export function barsSvg(series: Bucketed[], from: Date, to: Date): Html {
  const width = 920;
  const rowH = 56;
  const labelW = 300;
  const n = series[0]?.buckets.length ?? 0;
  const barW = n === 0 ? 0 : (width - labelW - 10) / n;
  const max = Math.max(1, ...series.flatMap((s) => s.buckets.map((b) => b.ok + b.refused)));
  const rows = series.map((s, r) => {
    const top = r * rowH + 4;
    const bars = s.buckets.map((b, i) => {
      const x = labelW + i * barW;
      const okH = (b.ok / max) * (rowH - 14);
      const refH = (b.refused / max) * (rowH - 14);
      const base = top + rowH - 10;
      return html`<rect class="bar ok" x="${x.toFixed(1)}" y="${(base - okH).toFixed(1)}" width="${Math.max(1, barW - 2).toFixed(1)}" height="${okH.toFixed(1)}"><title>${b.ok} served</title></rect><rect class="bar refused" x="${x.toFixed(1)}" y="${(base - okH - refH).toFixed(1)}" width="${Math.max(1, barW - 2).toFixed(1)}" height="${refH.toFixed(1)}"><title>${b.refused} refused</title></rect>`;
    });
    const total = s.buckets.reduce((a, b) => ({ ok: a.ok + b.ok, refused: a.refused + b.refused }), { ok: 0, refused: 0 });
    const shown = s.label.length > 44 ? `…${s.label.slice(-43)}` : s.label;
    return html`<text x="0" y="${top + 20}">${shown}</text><text x="0" y="${top + 36}" class="muted">${total.ok} served · ${total.refused} refused</text>${bars}`;
  });
  const height = series.length * rowH + 20;
  return html`<svg class="chart" role="img" aria-label="requests and refusals per identity" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">
${rows}
<text x="${labelW}" y="${height - 4}">${from.toISOString().slice(11, 19)}</text><text x="${width - 60}" y="${height - 4}">${to.toISOString().slice(11, 19)}</text>
</svg>`;
}
