import test from 'ava';
import { escapeHtml, html, query, renderHtml } from '../../../controlplane/console/html.js';
import { reachSvg } from '../../../controlplane/console/svg.js';
import type { IdentityView } from '../../../controlplane/console/inventory-view.js';
import { toCsv, type ShownRow } from '../../../controlplane/console/audit-query.js';

const PROBE = `<script>alert(1)</script>"'&<img src=x onerror=alert(2)>`;

test('every interpolated value is escaped, in text and in attributes; only html output passes as markup', (t) => {
  const out = renderHtml(html`<p title="${PROBE}">${PROBE}${html`<b>${PROBE}</b>`}${[PROBE, html`<i>ok</i>`]}${undefined}${false}${3}</p>`);
  t.false(out.includes('<script>'));
  t.false(out.includes('<img'));
  t.false(/title="[^"]*"[^>]*"/.test(out.split('>')[0]!), 'the attribute cannot be closed early');
  t.true(out.includes('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;&lt;img src=x onerror=alert(2)&gt;'));
  t.true(out.includes('<b>&lt;script&gt;'));
  t.true(out.includes('<i>ok</i>'));
  t.true(out.endsWith('3</p>'));
  t.is(escapeHtml('a&b'), 'a&amp;b');
  // A plain object that looks like markup is still text.
  t.false(renderHtml(html`${{ toString: () => '<script>x</script>' }}`).includes('<script>'));
});

test('query strings are encoded, and escaped where interpolated', (t) => {
  const q = query({ identity: 'spiffe://x/"><script>', host: '', status: undefined });
  t.is(q, '?identity=spiffe%3A%2F%2Fx%2F%22%3E%3Cscript%3E');
  t.is(renderHtml(html`<a href="/ui/audit${q}">x</a>`), '<a href="/ui/audit?identity=spiffe%3A%2F%2Fx%2F%22%3E%3Cscript%3E">x</a>');
});

test('the reach picture escapes every label', (t) => {
  const identity = {
    workload: 'w', spiffeId: `spiffe://x/${PROBE}`, owner: PROBE, bindings: [], hosts: [], requestsSigned: 0, lastUsedAt: undefined, destinationsUsed: [], stale: false,
    selectors: [], orphaned: false,
    credentials: [{ name: 'c', destinations: [`${PROBE}.example`], methods: undefined, source: PROBE, region: undefined, unboundAccess: 'allow', principal: PROBE }],
  } satisfies IdentityView;
  const svg = renderHtml(reachSvg(identity));
  t.true(svg.startsWith('<svg'));
  t.false(svg.includes('<script>'));
  t.false(svg.includes('<img'));
});

test('CSV export quotes fields and defuses spreadsheet formulas', (t) => {
  const row: ShownRow = { kind: 'request', at: '2026-01-01T00:00:00.000Z', agentId: 'agent-1', hostname: 'h,1', spiffeId: 'spiffe://x/y', tgid: 1,
    exePath: '=cmd|"/c calc"!A1', exeSha256: 'a'.repeat(64), host: 'objectstorage.x', method: 'GET', path: '/n/"q"', status: 200, latencyMs: 1 };
  const [header, line] = toCsv([row]).split('\r\n');
  t.is(header, 'time,host,agentId,kind,spiffeId,exePath,exeSha256,destination,method,path,status,latencyMs,reason');
  t.true(line!.includes('"h,1"'));
  t.true(line!.includes(`"'=cmd|""/c calc""!A1"`));
  t.true(line!.includes('"/n/""q"""'));
});
