/**
 * The audit trail: every agent's audit batches (protocol/audit.ts, on `sigil.cp.<id>.audit`) kept in one
 * JetStream stream with bounded retention (bytes and age from config; oldest dropped first). The stream
 * captures what agents publish; nothing here is on their path. The console reads the newest batches back,
 * decodes each (a batch whose agentId is not the one its subject names is dropped, as is anything
 * malformed) and flattens them into rows.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, DiscardPolicy, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType, jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { decodeAuditBatch, type AuditEvent } from '../../protocol/audit.js';
import { agentIdOfSubject, subjects } from '../../protocol/subjects.js';
import { withRetry } from '../store/kv-errors.js';

export const AUDIT_STREAM = 'SIGIL_AUDIT';

export interface AuditRetention {
  maxBytes: number;
  maxAgeSeconds: number;
  replicas: number;
}

/** One event as the console shows it: the event plus which agent sent it. */
export type AuditRow = AuditEvent & { agentId: string };

export interface RecentAudit {
  rows: AuditRow[];
  /** Batches in the stream that did not decode (a misbehaving or forged publisher). */
  refusedBatches: number;
  /** Events agents said they had to drop before shipping. */
  droppedByAgents: number;
}

/** How many of the newest stream messages (batches) a read looks at. */
const MAX_BATCHES_READ = 400;

export class AuditStream {
  private constructor(private readonly nc: NatsConnection, private readonly jsm: JetStreamManager) {}

  /** Creates the stream, or brings an existing one's limits in line with the config. */
  static async open(nc: NatsConnection, retention: AuditRetention): Promise<AuditStream> {
    const jsm = await withRetry(() => jetstreamManager(nc));
    const config = {
      name: AUDIT_STREAM,
      subjects: [subjects.auditWildcard],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_bytes: retention.maxBytes,
      max_age: retention.maxAgeSeconds * 1_000_000_000,
      num_replicas: retention.replicas,
      max_msg_size: 1024 * 1024,
    };
    await withRetry(async () => {
      try {
        await jsm.streams.info(AUDIT_STREAM);
        await jsm.streams.update(AUDIT_STREAM, config);
      } catch (err) {
        if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) throw err;
        await jsm.streams.add(config);
      }
    });
    return new AuditStream(nc, jsm);
  }

  /** The newest events, newest first, at most `limit`. */
  async recent(limit: number): Promise<RecentAudit> {
    const info = await this.jsm.streams.info(AUDIT_STREAM);
    const { first_seq: first, last_seq: last, messages } = info.state;
    const result: RecentAudit = { rows: [], refusedBatches: 0, droppedByAgents: 0 };
    if (messages === 0) return result;
    const start = Math.max(first, last - MAX_BATCHES_READ + 1);
    const consumer = await jetstream(this.nc).consumers.get(AUDIT_STREAM, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start });
    try {
      const batches = await consumer.fetch({ max_messages: last - start + 1, expires: 2000 });
      for await (const msg of batches) {
        const agentId = agentIdOfSubject(msg.subject);
        const batch = decodeAuditBatch(msg.data);
        if (agentId === undefined || !batch.ok || batch.value.agentId !== agentId) result.refusedBatches++;
        else {
          result.droppedByAgents += batch.value.dropped;
          for (const event of batch.value.events) result.rows.push({ ...event, agentId });
        }
        if (msg.seq >= last) break;
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
    result.rows.sort((a, b) => b.at.localeCompare(a.at));
    result.rows = result.rows.slice(0, limit);
    return result;
  }
}
