import type { IncomingMessage, ServerResponse } from 'node:http';
import { ControlPlaneError } from '../errors.js';
import { ValidationError } from '../resources/issues.js';
import { HTTP_CODES } from './errors.js';

/** Every API error has this shape: a stable code, a human message, and per-field details. */
export interface ErrorBody {
  code: string;
  message: string;
  details: unknown[];
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, err: unknown): void {
  if (err instanceof ControlPlaneError) {
    const body: ErrorBody = { code: err.code, message: err.message, details: err instanceof ValidationError ? err.details : [] };
    sendJson(res, err.status ?? 500, body);
    return;
  }
  sendJson(res, 500, { code: HTTP_CODES.INTERNAL, message: 'internal error', details: [] } satisfies ErrorBody);
}

/** Reads a request body up to `limit` bytes; more is a 413. */
export async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new ControlPlaneError(HTTP_CODES.API_TOO_LARGE, `request body over ${limit} bytes`, { status: 413 });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
