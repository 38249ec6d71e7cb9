/**
 * Who may use the admin API, and as what. Two roles:
 *   admin   the admin token file (controlplane/http/admin-token.ts): everything
 *   viewer  read-only (GET/HEAD): tokens made by `sigil token create --role viewer`, stored in KV by
 *           their sha256 only (a KV reader learns no usable token), each with an expiry
 * The HTTP server refuses a viewer on every other method before any route runs.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { KV } from '@nats-io/kv';
import { withRetry } from '../store/kv-errors.js';
import { bearerMatches } from './admin-token.js';

export type Role = 'admin' | 'viewer';

export const ACCESS_BUCKET = 'sigil-access';
export const DEFAULT_VIEWER_TOKEN_TTL_SECONDS = 30 * 86_400;
export const MAX_VIEWER_TOKEN_TTL_SECONDS = 366 * 86_400;
const PREFIX = 'viewer.';

interface ViewerTokenRecord {
  role: 'viewer';
  createdAt: string;
  expiresAt: string;
}

export interface CreatedViewerToken {
  /** Shown once. */
  token: string;
  role: 'viewer';
  expiresAt: string;
}

const keyOf = (token: string): string => `${PREFIX}${createHash('sha256').update(token).digest('hex')}`;

/** Methods a viewer may use: reads only. */
export const isReadMethod = (method: string | undefined): boolean => method === 'GET' || method === 'HEAD';

export class AccessControl {
  constructor(private readonly adminToken: string, private readonly kv: KV, private readonly now: () => number = Date.now) {}

  async createViewerToken(ttlSeconds = DEFAULT_VIEWER_TOKEN_TTL_SECONDS): Promise<CreatedViewerToken> {
    const token = `svt_${randomBytes(32).toString('base64url')}`;
    const created = this.now();
    const record: ViewerTokenRecord = { role: 'viewer', createdAt: new Date(created).toISOString(), expiresAt: new Date(created + Math.min(ttlSeconds, MAX_VIEWER_TOKEN_TTL_SECONDS) * 1000).toISOString() };
    await withRetry(() => this.kv.create(keyOf(token), JSON.stringify(record)));
    return { token, role: 'viewer', expiresAt: record.expiresAt };
  }

  /** The role of a bare token (console login), or undefined when it is none of ours or expired. */
  async roleOfToken(token: string): Promise<Role | undefined> {
    if (token === '' || token.length > 512 || /\s/.test(token)) return undefined;
    if (bearerMatches(`Bearer ${token}`, this.adminToken)) return 'admin';
    if (!token.startsWith('svt_')) return undefined;
    const entry = await withRetry(() => this.kv.get(keyOf(token)));
    if (!entry || entry.operation !== 'PUT') return undefined;
    const record = entry.json<ViewerTokenRecord>();
    return record.role === 'viewer' && Date.parse(record.expiresAt) > this.now() ? 'viewer' : undefined;
  }

  /** The role an `Authorization: Bearer` header grants, or undefined. */
  async roleOfHeader(header: string | undefined): Promise<Role | undefined> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    return match?.[1] ? this.roleOfToken(match[1]) : undefined;
  }
}
