import type { IncomingMessage, ServerResponse } from 'node:http';
import { durationSeconds } from '../resources/duration.js';
import type { AccessControl } from './access-tokens.js';
import { FLEET_CODES } from '../fleet/index.js';
import { HTTP_CODES, accessError } from './errors.js';
import { readBody, sendJson } from './respond.js';

/**
 * Admin (the server already refused viewers on POST):
 *   POST /v1/access-tokens   {role: "viewer", ttl?: "720h"|seconds} → {token, role, expiresAt}
 */
export function accessRoutes(access: AccessControl) {
  return async (req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> => {
    if (path !== '/v1/access-tokens') return false;
    if (req.method !== 'POST') throw accessError(FLEET_CODES.API_METHOD, 'method not allowed (use POST)', 405);
    let body: unknown;
    try {
      const text = await readBody(req, 4096);
      body = text.trim() === '' ? {} : JSON.parse(text);
    } catch (err) {
      if ((err as { status?: number }).status === 413) throw err;
      throw accessError(HTTP_CODES.ACCESS_BAD_REQUEST, 'body is not valid JSON', 400);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw accessError(HTTP_CODES.ACCESS_BAD_REQUEST, 'body must be a JSON object', 400);
    const { role, ttl } = body as { role?: unknown; ttl?: unknown };
    if (role !== 'viewer') throw accessError(HTTP_CODES.ACCESS_BAD_REQUEST, 'role: only "viewer" tokens are made here (the admin token is the file the control plane wrote)', 400);
    const ttlSeconds = typeof ttl === 'string' || typeof ttl === 'number' ? durationSeconds(ttl) : undefined;
    if (ttl !== undefined && (ttlSeconds === undefined || ttlSeconds <= 0)) throw accessError(HTTP_CODES.ACCESS_BAD_REQUEST, 'ttl: a duration like "720h" or a number of seconds', 400);
    sendJson(res, 201, await access.createViewerToken(ttlSeconds));
    return true;
  };
}
