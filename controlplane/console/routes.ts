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
import type { AuditStream } from '../audit/index.js';
import type { PrincipalBook } from '../exchange/index.js';
import type { FleetService } from '../fleet/index.js';
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
const TEXT = 'text/plain; charset=utf-8';
const LIVE_MS = 3000;
const AUDIT_ROWS = 1000;

export function consoleRoutes(deps: ConsoleDeps) {
  return async (req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> => {
    if (path !== '/ui' && !path.startsWith('/ui/')) return false;
    await serve(req, res, path, deps);
    return true;
  };
}

async function serve(req: IncomingMessage, res: ServerResponse, path: string, deps: ConsoleDeps): Promise<void> {
  const method = req.method ?? 'GET';
  const reads = method === 'GET' || method === 'HEAD';
  if (path === '/ui') return redirect(res, '/ui/');
  const asset = ASSETS.get(path);
  if (asset) {
    if (!reads) return notAllowed(res, 'GET');
    if (req.headers['if-none-match'] === asset.etag) return void res.writeHead(304, { ...SECURITY_HEADERS, etag: asset.etag }).end();
    return send(res, 200, asset.type, asset.body, { 'cache-control': 'no-cache', etag: asset.etag });
  }
  if (path === '/ui/login') {
    if (method === 'POST') return login(req, res, deps);
    return reads ? send(res, 200, HTML, renderHtml(loginPage())) : notAllowed(res, 'GET, POST');
  }
  if (path === '/ui/logout') {
    if (method !== 'POST') return notAllowed(res, 'POST');
    if (!sameOrigin(req)) return send(res, 403, TEXT, 'cross-site request refused\n');
    deps.sessions.delete(sessionIdOf(req.headers.cookie));
    return redirect(res, '/ui/login', { 'set-cookie': clearedCookie });
  }
  const session = deps.sessions.get(sessionIdOf(req.headers.cookie));
  const partial = req.headers['x-sigil-partial'] === '1';
  if (!session) {
    // Pages send people to sign in; data and live fragments just say so.
    return partial || path.endsWith('.csv') || path.endsWith('.json') ? send(res, 401, TEXT, 'sign in first\n') : redirect(res, '/ui/login');
  }
  if (!reads) return notAllowed(res, 'GET');
  const params = new URL(req.url ?? '/', 'http://localhost').searchParams;
  switch (path) {
    case '/ui/':
      return redirect(res, '/ui/fleet');
    case '/ui/fleet':
      return page(res, session, 'fleet', 'Fleet', partial, fleetMain(await deps.fleet?.status()), LIVE_MS);
    case '/ui/inventory': {
      const items = deps.fleet ? await deps.fleet.inventory() : [];
      const staleDays = Math.round((deps.fleet?.settings.staleAfterSeconds ?? 0) / 86_400);
      const view = inventoryView(items, await deps.store.snapshot(), deps.principals);
      return page(res, session, 'inventory', 'Inventory', partial, inventoryMain(view, staleDays, Date.now()), LIVE_MS * 2);
    }
    case '/ui/audit': case '/ui/audit.csv': case '/ui/audit.json': {
      const filter = filterOf(params);
      const recent = await auditRows(deps);
      const rows = recent.rows.filter((r) => matches(r, filter));
      if (path === '/ui/audit.csv') return send(res, 200, 'text/csv; charset=utf-8', toCsv(rows), { 'content-disposition': 'attachment; filename="sigil-audit.csv"' });
      if (path === '/ui/audit.json') return send(res, 200, 'application/json', `${JSON.stringify(rows, null, 2)}\n`, { 'content-disposition': 'attachment; filename="sigil-audit.json"' });
      const identities = [...new Set(recent.rows.flatMap((r) => (r.kind === 'request' ? [r.spiffeId] : [])))].sort();
      const hosts = [...new Set(recent.rows.map((r) => r.hostname))].sort();
      return page(res, session, 'audit', 'Audit', partial, auditMain({ rows, filter, identities, hosts, refusedBatches: recent.refusedBatches, droppedByAgents: recent.droppedByAgents }), LIVE_MS);
    }
    default:
      return send(res, 404, TEXT, 'no such console page\n');
  }
}

const notAllowed = (res: ServerResponse, allow: string): void => send(res, 405, TEXT, 'method not allowed (the console only reads)\n', { allow });

function page(res: ServerResponse, session: Session, name: PageName, title: string, partial: boolean, main: Html, live: number): void {
  send(res, 200, HTML, renderHtml(partial ? main : layout(name, title, session.role, main, live)));
}

async function auditRows(deps: ConsoleDeps): Promise<{ rows: ShownRow[]; refusedBatches: number; droppedByAgents: number }> {
  if (!deps.audit) return { rows: [], refusedBatches: 0, droppedByAgents: 0 };
  const [recent, agents] = await Promise.all([deps.audit.recent(AUDIT_ROWS), deps.fleet?.registry.list() ?? []]);
  const names = new Map(agents.map((a) => [a.id, a.hostname]));
  return { ...recent, rows: recent.rows.map((r) => ({ ...r, hostname: names.get(r.agentId) ?? r.agentId })) };
}

/** Token in a form → a session; the form must come from our own login page. */
async function login(req: IncomingMessage, res: ServerResponse, deps: ConsoleDeps): Promise<void> {
  if (!sameOrigin(req)) return send(res, 403, TEXT, 'cross-site sign-in refused\n');
  const form = new URLSearchParams(await readBody(req, 4096));
  const role = await deps.access.roleOfToken((form.get('token') ?? '').trim());
  if (!role) return send(res, 401, HTML, renderHtml(loginPage('That token is not valid (or has expired).')));
  const session = deps.sessions.create(role);
  const secure = (req.socket as { encrypted?: boolean }).encrypted === true;
  redirect(res, '/ui/fleet', { 'set-cookie': sessionCookie(session, secure) });
}
