import { createHash, randomBytes } from 'node:crypto';
import type { KV } from '@nats-io/kv';
import { isCasConflict, withRetry } from '../store/kv-errors.js';
import { FLEET_CODES, fleetError } from './errors.js';

interface JoinTokenRecord {
  createdAt: string;
  expiresAt: string;
  labels: Record<string, string>;
  consumedAt?: string;
}

export interface CreatedJoinToken {
  /** Shown once; only its sha256 is stored. */
  token: string;
  expiresAt: string;
  labels: Record<string, string>;
}

const PREFIX = 'token.';
export const DEFAULT_JOIN_TOKEN_TTL_SECONDS = 15 * 60;

const keyOf = (token: string): string => `${PREFIX}${createHash('sha256').update(token).digest('hex')}`;

/**
 * One-time join tokens in KV: stored by hash (a KV reader learns no usable token), with expiry and
 * the labels the enrolling agent will carry. Consumed by compare-and-set, so of two enrolments racing
 * with the same token exactly one wins.
 */
export class JoinTokens {
  constructor(private readonly kv: KV, private readonly now: () => number = Date.now) {}

  async create(ttlSeconds: number, labels: Record<string, string>): Promise<CreatedJoinToken> {
    const token = `sjt_${randomBytes(32).toString('base64url')}`;
    const createdAt = this.now();
    const record: JoinTokenRecord = { createdAt: new Date(createdAt).toISOString(), expiresAt: new Date(createdAt + ttlSeconds * 1000).toISOString(), labels };
    await withRetry(() => this.kv.create(keyOf(token), JSON.stringify(record)));
    return { token, expiresAt: record.expiresAt, labels };
  }

  /** Uses the token up, returning its labels; refused when unknown, used or expired. */
  async consume(token: string): Promise<Record<string, string>> {
    const key = keyOf(token);
    const entry = await withRetry(() => this.kv.get(key));
    if (!entry || entry.operation !== 'PUT') throw fleetError(FLEET_CODES.TOKEN_INVALID, 'unknown join token', 401);
    const record = entry.json<JoinTokenRecord>();
    if (record.consumedAt) throw fleetError(FLEET_CODES.TOKEN_USED, 'this join token was already used', 401);
    if (Date.parse(record.expiresAt) <= this.now()) throw fleetError(FLEET_CODES.TOKEN_EXPIRED, `this join token expired at ${record.expiresAt}`, 401);
    const consumed: JoinTokenRecord = { ...record, consumedAt: new Date(this.now()).toISOString() };
    try {
      await withRetry(() => this.kv.put(key, JSON.stringify(consumed), { previousSeq: entry.revision }));
    } catch (err) {
      if (isCasConflict(err)) throw fleetError(FLEET_CODES.TOKEN_USED, 'this join token was already used', 401);
      throw err;
    }
    return record.labels;
  }
}
