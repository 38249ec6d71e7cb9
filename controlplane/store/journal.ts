import type { KV } from '@nats-io/kv';
import { isCasConflict, withRetry } from './kv-errors.js';

/**
 * The policy record under META_KEY is the store's commit point. An apply (a) reads a snapshot,
 * (b) claims the next revision by CAS-writing the record with its full list of changes (the intent),
 * (c) writes each key, (d) CAS-clears the intent. Whoever finds an intent (a crashed or slow replica's)
 * finishes it first (roll forward): the intent is already decided, so an apply is all or nothing.
 * A key is written only while its last write is older than the claim, so a late helper can never undo
 * a newer apply.
 *
 * Why not a lock key with a TTL: nats-server 2.9 has no per-key TTL, and a lock held by a dead replica
 * would stall every writer until someone decided it was stale; an intent never needs to be waited for.
 * Limits: commits are serialised through one key (fine for policy edits, not a high-rate database);
 * one apply must fit in one NATS message (the store refuses intents over 900 KiB); while an intent is
 * being written out a raw KV reader may see part of it (readers through ResourceStore never do:
 * they finish the intent first, and compare the record's sequence before and after reading).
 */
export const META_KEY = 'meta.policy';

export interface Change {
  key: string;
  /** JSON of the new value; null deletes the key. */
  value: string | null;
}

export interface Intent {
  applyId: string;
  changes: Change[];
}

export interface PolicyRecord {
  /** Monotonic policy revision: bumped once by every apply or delete that changes something. */
  revision: number;
  /** Set while an apply is being written out. */
  pending?: Intent;
  /** The apply that produced `revision` (lets a retried apply recognise its own commit). */
  lastApplyId?: string;
}

export interface MetaEntry {
  record: PolicyRecord;
  /** The KV (stream) sequence of the record, for CAS; 0 when it was never written. */
  seq: number;
}

export async function readMeta(kv: KV): Promise<MetaEntry> {
  const entry = await withRetry(() => kv.get(META_KEY));
  if (!entry || entry.operation !== 'PUT') return { record: { revision: 0 }, seq: entry?.revision ?? 0 };
  return { record: entry.json<PolicyRecord>(), seq: entry.revision };
}

/** CAS-writes the policy record; false when someone else wrote it first. */
export async function writeMeta(kv: KV, record: PolicyRecord, expectedSeq: number): Promise<number | undefined> {
  try {
    return await withRetry(() => kv.put(META_KEY, JSON.stringify(record), { previousSeq: expectedSeq }));
  } catch (err) {
    if (isCasConflict(err)) return undefined;
    throw err;
  }
}

/** Writes every change of an intent claimed at `claimSeq`; idempotent, safe to run from several replicas. */
export async function rollForward(kv: KV, intent: Intent, claimSeq: number): Promise<void> {
  for (const change of intent.changes) {
    for (;;) {
      const entry = await withRetry(() => kv.get(change.key));
      if (entry && entry.revision > claimSeq) break; // written for this intent already, or by a later one
      const exists = entry !== null && entry.operation === 'PUT';
      try {
        if (change.value === null) {
          if (exists) await withRetry(() => kv.delete(change.key, { previousSeq: entry.revision }));
        } else {
          const value = change.value;
          await withRetry(() => kv.put(change.key, value, { previousSeq: entry?.revision ?? 0 }));
        }
        break;
      } catch (err) {
        if (!isCasConflict(err)) throw err; // another helper wrote it meanwhile: look again
      }
    }
  }
}

/** Finishes whatever intent the record holds, then clears it. */
export async function settle(kv: KV, meta: MetaEntry): Promise<void> {
  const pending = meta.record.pending;
  if (!pending) return;
  await rollForward(kv, pending, meta.seq);
  await writeMeta(kv, { revision: meta.record.revision, lastApplyId: pending.applyId }, meta.seq);
}
