import type { IncomingMessage, ServerResponse } from 'node:http';
import { ControlPlaneError } from '../errors.js';
import { resolveKind, type Kind } from '../resources/kinds.js';
import { checkDocuments } from '../resources/validate.js';
import type { ChangeReport, ResourceStore } from '../store/resource-store.js';
import { secretFileWarnings } from '../resources/secret-files.js';
import type { Logger } from '../log.js';
import { readBody, sendJson } from './respond.js';
import { HTTP_CODES } from './errors.js';
import { FLEET_CODES } from '../fleet/index.js';

/** The largest apply body (and file `sigil validate` accepts). */
export const MAX_APPLY_BYTES = 1024 * 1024;

export interface ApiHooks {
  /** An apply committed: every change it reports (the metrics count what was stored). */
  onApplied?: (changes: ChangeReport[]) => void;
}

/**
 * The admin API (bearer token checked by the server before this is called):
 *   POST   /v1/apply                 body: YAML/JSON documents → {revision, changes[], warnings?[]}
 *   POST   /v1/apply?dryRun=true     the same checks and report, nothing stored → {revision, changes[], warnings?[], dryRun: true}
 *   GET    /v1/resources/<kind>       → {revision, items[]}
 *   GET    /v1/resources/<kind>/<name> → resource
 *   DELETE /v1/resources/<kind>/<name> → {revision, changes[]}
 * `<kind>` accepts the CLI's aliases (wi, cs, wc, ...).
 */
export async function handleApi(req: IncomingMessage, res: ServerResponse, path: string, store: ResourceStore, log: Logger, hooks: ApiHooks = {}): Promise<boolean> {
  if (path === '/v1/apply') {
    if (req.method !== 'POST') return methodNotAllowed(['POST']);
    const dryRun = dryRunOf(req);
    const resources = checkDocuments(await readBody(req, MAX_APPLY_BYTES));
    if (dryRun) {
      const warnings = await secretFileWarnings(resources);
      sendJson(res, 200, { ...(await store.dryRun(resources)), ...(warnings.length ? { warnings } : {}), dryRun: true });
      return true;
    }
    const result = await store.apply(resources);
    hooks.onApplied?.(result.changes);
    const warnings = await secretFileWarnings(resources);
    log.info({ revision: result.revision, changes: result.changes, ...(warnings.length ? { warnings } : {}) }, 'applied');
    sendJson(res, 200, warnings.length ? { ...result, warnings } : result);
    return true;
  }
  const match = /^\/v1\/resources\/([^/]+)(?:\/([^/]+))?$/.exec(path);
  if (!match?.[1]) return false;
  const kind = kindOf(decodeURIComponent(match[1]));
  const name = match[2] === undefined ? undefined : decodeURIComponent(match[2]);
  if (req.method === 'GET' && name === undefined) {
    const snapshot = await store.snapshot();
    const items = [...snapshot.resources.values()].filter((r) => r.kind === kind)
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    sendJson(res, 200, { revision: snapshot.revision, items });
    return true;
  }
  if (req.method === 'GET' && name !== undefined) {
    const resource = await store.get(kind, name);
    if (!resource) throw new ControlPlaneError(HTTP_CODES.RESOURCE_NOT_FOUND, `${kind} "${name}" does not exist`, { status: 404 });
    sendJson(res, 200, resource);
    return true;
  }
  if (req.method === 'DELETE' && name !== undefined) {
    const result = await store.delete(kind, name);
    log.info({ revision: result.revision, changes: result.changes }, 'deleted');
    sendJson(res, 200, result);
    return true;
  }
  return methodNotAllowed(name === undefined ? ['GET'] : ['GET', 'DELETE']);
}

/** `?dryRun=true` (or `1`); any other value is refused rather than taken as a real apply. */
function dryRunOf(req: IncomingMessage): boolean {
  const value = new URL(req.url ?? '/', 'http://localhost').searchParams.get('dryRun');
  if (value === null || value === 'false') return false;
  if (value === 'true' || value === '1' || value === '') return true;
  throw new ControlPlaneError(HTTP_CODES.API_BAD_QUERY, `dryRun must be true or false, not "${value}"`, { status: 400 });
}

function kindOf(name: string): Kind {
  const kind = resolveKind(name);
  if (!kind) throw new ControlPlaneError(HTTP_CODES.API_UNKNOWN_KIND, `unknown kind "${name}" (use workloadidentity/wi, credentialsource/cs, workloadcredential/wc)`, { status: 404 });
  return kind;
}

function methodNotAllowed(allowed: string[]): never {
  throw new ControlPlaneError(FLEET_CODES.API_METHOD, `method not allowed (use ${allowed.join(', ')})`, { status: 405 });
}
