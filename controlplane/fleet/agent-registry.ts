import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../log.js';
import { isCasConflict, withRetry } from '../store/kv-errors.js';
import { KvView } from '../store/kv-view.js';
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

/**
 * Enrolled agents in the fleet bucket. Revoked agents stay listed (and keep being revoked in NATS).
 * `list()` answers from a watched in-memory view (one KV watch per process, `run(signal)` follows it);
 * `get()` and `listStored()` read the bucket itself, for decisions that must see other replicas'
 * writes at once (exchange ownership, the revocation list).
 */
export class AgentRegistry {
  readonly view: KvView<AgentRecord>;

  constructor(readonly kv: KV, nc: NatsConnection, bucket: string, log: Logger) {
    this.view = new KvView(nc, kv, bucket, PREFIX, (entry) => entry.json<AgentRecord>(), log);
  }

  static readonly KEY_PREFIX = PREFIX;

  /** Keeps the view current until `signal` fires. */
  run(signal: AbortSignal): Promise<void> {
    return this.view.follow(signal);
  }

  async add(record: AgentRecord): Promise<void> {
    const seq = await withRetry(() => this.kv.create(`${PREFIX}${record.id}`, JSON.stringify(record)));
    this.#recorded(record, seq);
  }

  async get(id: string): Promise<AgentRecord | undefined> {
    const entry = await withRetry(() => this.kv.get(`${PREFIX}${id}`));
    if (entry) this.view.record(entry);
    return entry && entry.operation === 'PUT' ? entry.json<AgentRecord>() : undefined;
  }

  /** Every agent, from memory (no NATS round trip once loaded). */
  async list(): Promise<AgentRecord[]> {
    await this.view.loaded();
    return sorted(this.view.values());
  }

  /** Every agent, read from the bucket now (one stream request plus one get per agent). */
  async listStored(): Promise<AgentRecord[]> {
    return sorted(await this.view.readStored());
  }

  #recorded(record: AgentRecord, seq: number): void {
    this.view.set(record.id, record, seq);
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
        const seq = await withRetry(() => this.kv.put(`${PREFIX}${id}`, JSON.stringify(revoked), { previousSeq: entry.revision }));
        this.#recorded(revoked, seq);
        return revoked;
      } catch (err) {
        if (!isCasConflict(err)) throw err;
      }
    }
  }
}

function sorted(records: AgentRecord[]): AgentRecord[] {
  return records.sort((a, b) => a.id.localeCompare(b.id));
}

/** NATS revocation list for the account JWT: every revoked agent's nkey → revocation time (s). */
export function revocationsOf(records: AgentRecord[]): Record<string, number> {
  return Object.fromEntries(records.filter((r) => r.revokedAt).map((r) => [r.publicNkey, Math.ceil(Date.parse(r.revokedAt as string) / 1000)]));
}
