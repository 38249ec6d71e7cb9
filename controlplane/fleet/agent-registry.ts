import type { KV } from '@nats-io/kv';
import { isCasConflict, withRetry } from '../store/kv-errors.js';
import { FLEET_CODES, fleetError } from './errors.js';

/** An enrolled agent, as kept in KV (`agent.<id>`). */
export interface AgentRecord {
  id: string;
  hostname: string;
  labels: Record<string, string>;
  /** The agent's NATS user public nkey (what a revocation names). */
  publicNkey: string;
  enrolledAt: string;
  revokedAt?: string;
}

const PREFIX = 'agent.';

/** Enrolled agents in the fleet bucket. Revoked agents stay listed (and keep being revoked in NATS). */
export class AgentRegistry {
  constructor(readonly kv: KV) {}

  static readonly KEY_PREFIX = PREFIX;

  async add(record: AgentRecord): Promise<void> {
    await withRetry(() => this.kv.create(`${PREFIX}${record.id}`, JSON.stringify(record)));
  }

  async get(id: string): Promise<AgentRecord | undefined> {
    const entry = await withRetry(() => this.kv.get(`${PREFIX}${id}`));
    return entry && entry.operation === 'PUT' ? entry.json<AgentRecord>() : undefined;
  }

  async list(): Promise<AgentRecord[]> {
    const keys: string[] = [];
    for await (const key of await withRetry(() => this.kv.keys(`${PREFIX}>`))) keys.push(key);
    const records = await Promise.all(keys.map((key) => this.get(key.slice(PREFIX.length))));
    return records.filter((r): r is AgentRecord => r !== undefined).sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Marks the agent revoked (idempotent); returns the record as stored. */
  async markRevoked(id: string, at: Date): Promise<AgentRecord> {
    for (;;) {
      const entry = await withRetry(() => this.kv.get(`${PREFIX}${id}`));
      if (!entry || entry.operation !== 'PUT') throw fleetError(FLEET_CODES.AGENT_NOT_FOUND, `no agent "${id}"`, 404);
      const record = entry.json<AgentRecord>();
      if (record.revokedAt) return record;
      const revoked = { ...record, revokedAt: at.toISOString() };
      try {
        await withRetry(() => this.kv.put(`${PREFIX}${id}`, JSON.stringify(revoked), { previousSeq: entry.revision }));
        return revoked;
      } catch (err) {
        if (!isCasConflict(err)) throw err;
      }
    }
  }
}

/** NATS revocation list for the account JWT: every revoked agent's nkey → revocation time (s). */
export function revocationsOf(records: AgentRecord[]): Record<string, number> {
  return Object.fromEntries(records.filter((r) => r.revokedAt).map((r) => [r.publicNkey, Math.ceil(Date.parse(r.revokedAt as string) / 1000)]));
}
