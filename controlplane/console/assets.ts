/**
 * The console's two static files, served from the package at /ui/assets/ (no CDN, no build step).
 * console.js is the only script: on pages marked `data-live`, it re-fetches the page's main part every
 * few seconds (the server renders it, escaped as ever) and swaps it in; it reads no data itself.
 */
import { createHash } from 'node:crypto';

const CLIENT_JS = `'use strict';
(function () {
  var main = document.querySelector('main[data-live]');
  if (!main) return;
  var every = Number(main.getAttribute('data-live')) || 5000;
  var stamp = document.getElementById('updated');
  function refresh() {
    fetch(location.pathname + location.search, { headers: { 'x-sigil-partial': '1' }, credentials: 'same-origin', cache: 'no-store' })
      .then(function (res) {
        if (res.status === 401) { location.assign('/ui/login'); return undefined; }
        return res.ok ? res.text() : undefined;
      })
      .then(function (text) {
        if (text === undefined) return;
        main.innerHTML = text;
        if (stamp) stamp.textContent = 'updated ' + new Date().toLocaleTimeString();
      })
      .catch(function () { if (stamp) stamp.textContent = 'control plane unreachable; retrying'; })
      .finally(function () { setTimeout(refresh, every); });
  }
  setTimeout(refresh, every);
})();
`;

const CSS = `:root { --fg: #1d2330; --muted: #667085; --line: #d8dde6; --bg: #f6f7f9; --ok: #1a7f37; --warn: #b35900; --bad: #c0262d; --accent: #2450a6; }
* { box-sizing: border-box; }
body { min-width: fit-content; margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; gap: 24px; padding: 10px 24px; background: #14213d; color: #fff; }
header .brand { font-weight: 700; letter-spacing: .04em; }
header nav a { color: #cfd8ea; text-decoration: none; margin-right: 16px; }
header nav a.here { color: #fff; border-bottom: 2px solid #fff; }
header .who { margin-left: auto; color: #cfd8ea; display: flex; gap: 12px; align-items: center; }
header form { margin: 0; }
header button { background: transparent; color: #cfd8ea; border: 1px solid #51607d; border-radius: 4px; padding: 2px 8px; cursor: pointer; }
main { padding: 16px 24px 40px; }
h1 { font-size: 20px; margin: 4px 0 12px; }
h2 { font-size: 16px; margin: 24px 0 8px; }
.summary { color: var(--muted); margin-bottom: 12px; }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f5; font-weight: 600; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; overflow-wrap: anywhere; }
td:first-child { min-width: 14em; }
.pill { white-space: nowrap; display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; }
.pill.healthy, .pill.ok { background: var(--ok); }
.pill.degraded, .pill.stale { background: var(--warn); }
.pill.silent, .pill.revoked, .pill.refused, .pill.orphaned { background: var(--bad); }
.muted { color: var(--muted); }
.reasons { color: var(--bad); font-size: 12px; }
form.filters { display: flex; gap: 8px; align-items: end; flex-wrap: wrap; margin-bottom: 12px; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
input, select { font: inherit; padding: 4px 6px; border: 1px solid var(--line); border-radius: 4px; }
.button, button.primary { background: var(--accent); color: #fff; border: 0; border-radius: 4px; padding: 6px 12px; text-decoration: none; cursor: pointer; }
.exports a { margin-right: 12px; }
.card { background: #fff; border: 1px solid var(--line); padding: 12px; margin-bottom: 12px; }
svg text { font: 12px system-ui, sans-serif; fill: var(--fg); }
svg .node rect { fill: #eef1f5; stroke: #8a96ab; }
svg .node.identity rect { fill: #e3ebfb; stroke: var(--accent); }
svg .node.principal rect { fill: #e6f4ea; stroke: var(--ok); }
svg .edge { stroke: #8a96ab; fill: none; }
svg .bar.ok { fill: var(--ok); }
svg .bar.refused { fill: var(--bad); }
.login { max-width: 420px; margin: 80px auto; background: #fff; border: 1px solid var(--line); padding: 24px; }
.login input { width: 100%; margin: 8px 0 16px; }
.error { color: var(--bad); }
#updated { font-size: 12px; }
`;

export interface Asset {
  body: string;
  type: string;
  etag: string;
}

const asset = (body: string, type: string): Asset => ({ body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"` });

export const ASSETS: ReadonlyMap<string, Asset> = new Map([
  ['/ui/assets/console.js', asset(CLIENT_JS, 'text/javascript; charset=utf-8')],
  ['/ui/assets/console.css', asset(CSS, 'text/css; charset=utf-8')],
]);
