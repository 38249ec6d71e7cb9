/**
 * The console under /ui/ on the control plane's API listener: read-only pages for people.
 *   GET  /ui/login, POST /ui/login (token → session cookie), POST /ui/logout
 *   GET  /ui/fleet, /ui/inventory, /ui/audit (+ ?identity= &host= &status=), /ui/audit.csv, /ui/audit.json
 *   GET  /ui/assets/console.js, /ui/assets/console.css
 * Every page needs a session (else → the login page); a session is made only from a valid admin or
 * viewer token. Pages marked live are re-fetched by console.js with `x-sigil-partial: 1`, which answers
 * only the main part.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessControl } from '../http/access-tokens.js';
import { readBody } from '../http/respond.js';
import type { AuditStream } from '../audit/audit-stream.js';
import type { PrincipalBook } from '../exchange/principals.js';
import type { FleetService } from '../fleet/fleet-service.js';
import type { ResourceStore } from '../store/resource-store.js';
import { ASSETS } from './assets.js';
import { filterOf, matches, toCsv, type ShownRow } from './audit-query.js';
import { renderHtml, type Html } from './html.js';
import { inventoryView } from './inventory-view.js';
import { auditMain } from './pages/audit.js';
import { fleetMain } from './pages/fleet.js';
import { inventoryMain } from './pages/inventory.js';
import { layout, loginPage, type PageName } from './pages/layout.js';
import { redirect, sameOrigin, send, SECURITY_HEADERS } from './security.js';
import { clearedCookie, sessionCookie, sessionIdOf, type Session, type SessionStore } from './sessions.js';

export interface ConsoleDeps {
  access: AccessControl;
  sessions: SessionStore;
  store: ResourceStore;
  fleet: FleetService | undefined;
  audit: AuditStream | undefined;
  principals: PrincipalBook | undefined;
}

const HTML = 'text/html; charset=utf-8';
const LIVE_MS = 3000;
const AUDIT_ROWS = 1000;

export function consoleRoutes(deps: ConsoleDeps) {
  return async (req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> => {
    if (path === '/ui') return void redirect(res, '/ui/'), true;
    if (!path.startsWith('/ui/')) return false;
    const method = req.method ?? 'GET';
    const asset = ASSETS.get(path);
    if (asset) {
      if (method !== 'GET' && method !== 'HEAD') return void send(res, 405, 'text/plain', 'method not allowed\n', { allow: 'GET' }), true;
      if (req.headers['if-none-match'] === asset.etag) return void res.writeHead(304, { ...SECURITY_HEADERS, etag: asset.etag }).end(), true;
      send(res, 200, asset.type, asset.body, { 'cache-control': 'no-cache', etag: asset.etag });
      return true;
    }
    if (path === '/ui/login') {
      if (method === 'POST') await login(req, res, deps);
      else if (method === 'GET') send(res, 200, HTML, renderHtml(loginPage()));
      else send(res, 405, 'text/plain', 'method not allowed\n', { allow: 'GET, POST' });
      return true;
    }
    if (path === '/ui/logout') {
      if (method !== 'POST') return void send(res, 405, 'text/plain', 'method not allowed\n', { allow: 'POST' }), true;
      if (!sameOrigin(req)) return void send(res, 403, 'text/plain', 'cross-site request refused\n'), true;
      deps.sessions.delete(sessionIdOf(req.headers.cookie));
      redirect(res, '/ui/login', { 'set-cookie': clearedCookie });
      return true;
    }
    const session = deps.sessions.get(sessionIdOf(req.headers.cookie));
    const partial = req.headers['x-sigil-partial'] === '1';
    if (!session) {
      if (partial || path.endsWith('.csv') || path.endsWith('.json')) send(res, 401, 'text/plain', 'sign in first\n');
      else redirect(res, '/ui/login');
      return true;
    }
    if (method !== 'GET' && method !== 'HEAD') return void send(res, 405, 'text/plain', 'the console only reads\n', { allow: 'GET' }), true;
    const params = new URL(req.url ?? '/', 'http://localhost').searchParams;
    switch (path) {
      case '/ui/': return void redirect(res, '/ui/fleet'), true;
      case '/ui/fleet': return page(res, session, 'fleet', 'Fleet', partial, fleetMain(await deps.fleet?.status()), LIVE_MS);
      case '/ui/inventory': {
        const items = deps.fleet ? await deps.fleet.inventory() : [];
        const staleDays = Math.round((deps.fleet?.settings.staleAfterSeconds ?? 0) / 86_400);
        return page(res, session, 'inventory', 'Inventory', partial, inventoryMain(inventoryView(items, await deps.store.snapshot(), deps.principals), staleDays, Date.now()), LIVE_MS * 2);
      }
      case '/ui/audit': case '/ui/audit.csv': case '/ui/audit.json': {
        const filter = filterOf(params);
        const recent = await auditRows(deps);
        const rows = recent.rows.filter((r) => matches(r, filter));
        if (path === '/ui/audit.csv') return void send(res, 200, 'text/csv; charset=utf-8', toCsv(rows), { 'content-disposition': 'attachment; filename="sigil-audit.csv"' }), true;
        if (path === '/ui/audit.json') return void send(res, 200, 'application/json', `${JSON.stringify(rows, null, 2)}\n`, { 'content-disposition': 'attachment; filename="sigil-audit.json"' }), true;
        const identities = [...new Set(recent.rows.flatMap((r) => (r.kind === 'request' ? [r.spiffeId] : [])))].sort();
        const hosts = [...new Set(recent.rows.map((r) => r.hostname))].sort();
        return page(res, session, 'audit', 'Audit', partial, auditMain({ rows, filter, identities, hosts, refusedBatches: recent.refusedBatches, droppedByAgents: recent.droppedByAgents }), LIVE_MS);
      }
      default:
        send(res, 404, 'text/plain', 'no such console page\n');
        return true;
    }
  };
}

function page(res: ServerResponse, session: Session, name: PageName, title: string, partial: boolean, main: Html, live: number): true {
  send(res, 200, HTML, renderHtml(partial ? main : layout(name, title, session.role, main, live)));
  return true;
}

async function auditRows(deps: ConsoleDeps): Promise<{ rows: ShownRow[]; refusedBatches: number; droppedByAgents: number }> {
  if (!deps.audit) return { rows: [], refusedBatches: 0, droppedByAgents: 0 };
  const [recent, agents] = await Promise.all([deps.audit.recent(AUDIT_ROWS), deps.fleet?.registry.list() ?? []]);
  const names = new Map(agents.map((a) => [a.id, a.hostname]));
  return { ...recent, rows: recent.rows.map((r) => ({ ...r, hostname: names.get(r.agentId) ?? r.agentId })) };
}

/** Token in a form → a session; the form must come from our own login page. */
async function login(req: IncomingMessage, res: ServerResponse, deps: ConsoleDeps): Promise<void> {
  if (!sameOrigin(req)) return send(res, 403, 'text/plain', 'cross-site sign-in refused\n');
  const form = new URLSearchParams(await readBody(req, 4096));
  const role = await deps.access.roleOfToken((form.get('token') ?? '').trim());
  if (!role) return send(res, 401, HTML, renderHtml(loginPage('That token is not valid (or has expired).')));
  const session = deps.sessions.create(role);
  const secure = (req.socket as { encrypted?: boolean }).encrypted === true;
  redirect(res, '/ui/fleet', { 'set-cookie': sessionCookie(session, secure) });
}
