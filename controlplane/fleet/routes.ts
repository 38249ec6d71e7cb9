import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson } from '../http/respond.js';
import { durationSeconds } from '../resources/duration.js';
import { decodeEnrollRequest } from '../../protocol/fleet.js';
import { isAgentId } from '../../protocol/subjects.js';
import { FLEET_CODES, fleetError } from './errors.js';
import type { FleetService } from './fleet-service.js';
import { checkLabels } from './labels.js';

const MAX_BODY = 16 * 1024;

/**
 * Public (the join token is the credential):
 *   POST /v1/enroll                {token, publicNkey, hostname} → EnrollResponse
 * Admin (bearer token, checked by the HTTP server first):
 *   POST /v1/tokens                {ttl?: "15m"|seconds, labels?: {k: v}} → {token, expiresAt, labels}
 *   GET  /v1/agents                → {items: AgentRecord[]}
 *   POST /v1/agents/<id>/revoke    → AgentRecord
 *   GET  /v1/fleet/status[?revision=N] → FleetStatus
 *   GET  /v1/inventory[?staleAfter=168h] → {items: InventoryItem[]}
 */
export function publicFleetRoutes(fleet: FleetService) {
  return async (req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> => {
    if (path !== '/v1/enroll') return false;
    if (req.method !== 'POST') throw fleetError(FLEET_CODES.API_METHOD, 'method not allowed (use POST)', 405);
    const decoded = decodeEnrollRequest(await readJson(req));
    if (!decoded.ok) throw fleetError(FLEET_CODES.BAD_REQUEST, decoded.reason, 400);
    sendJson(res, 200, await fleet.enroll(decoded.value));
    return true;
  };
}

export function adminFleetRoutes(fleet: FleetService) {
  return async (req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> => {
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
    if (path === '/v1/tokens' && req.method === 'POST') {
      const body = (await readJson(req)) ?? {};
      if (typeof body !== 'object' || Array.isArray(body)) throw fleetError(FLEET_CODES.BAD_REQUEST, 'body must be a JSON object', 400);
      const { ttl, labels } = body as { ttl?: unknown; labels?: unknown };
      const ttlSeconds = typeof ttl === 'string' || typeof ttl === 'number' ? durationSeconds(ttl) : undefined;
      if (ttl !== undefined && (ttlSeconds === undefined || ttlSeconds <= 0)) throw fleetError(FLEET_CODES.BAD_REQUEST, 'ttl: a duration like "15m" or a number of seconds', 400);
      sendJson(res, 201, await fleet.createToken(ttlSeconds, checkLabels(labels)));
      return true;
    }
    if (path === '/v1/agents' && req.method === 'GET') {
      sendJson(res, 200, { items: await fleet.registry.list() });
      return true;
    }
    const revoke = /^\/v1\/agents\/([^/]+)\/revoke$/.exec(path);
    if (revoke?.[1] && req.method === 'POST') {
      const id = decodeURIComponent(revoke[1]);
      if (!isAgentId(id)) throw fleetError(FLEET_CODES.AGENT_NOT_FOUND, `no agent "${id}"`, 404);
      sendJson(res, 200, await fleet.revoke(id));
      return true;
    }
    if (path === '/v1/fleet/status' && req.method === 'GET') {
      const revision = query.get('revision');
      if (revision !== null && !/^\d+$/.test(revision)) throw fleetError(FLEET_CODES.BAD_REQUEST, 'revision: a whole number', 400);
      sendJson(res, 200, await fleet.status(revision === null ? undefined : Number(revision)));
      return true;
    }
    if (path === '/v1/inventory' && req.method === 'GET') {
      const staleAfter = query.get('staleAfter');
      const seconds = staleAfter === null ? undefined : durationSeconds(/^\d+$/.test(staleAfter) ? Number(staleAfter) : staleAfter);
      if (staleAfter !== null && seconds === undefined) throw fleetError(FLEET_CODES.BAD_REQUEST, 'staleAfter: a duration like "168h" or seconds', 400);
      sendJson(res, 200, { items: await fleet.inventory(seconds) });
      return true;
    }
    return false;
  };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const text = await readBody(req, MAX_BODY);
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw fleetError(FLEET_CODES.BAD_REQUEST, 'body is not valid JSON', 400);
  }
}
