import type { KV } from '@nats-io/kv';
import { isCasConflict, withRetry } from '../store/kv-errors.js';
import type { KeySetFile, SharedKeySetStore } from './key-set.js';

/** The bucket holding state every replica shares (today: the issuer's key set). */
export const CONTROL_PLANE_BUCKET = 'sigil-controlplane';
const KEY = 'issuer.signing-keys';

/**
 * The issuer's key set in NATS KV instead of a shared directory, so replicas with separate state dirs
 * sign with, rotate and publish one set. Changes are compare-and-set on the key's sequence (two
 * replicas rotating at once: one wins, the other re-reads and finds nothing to do).
 *
 * Who can read it: users of the SIGIL account with JetStream access — the control plane's user and
 * the admin user init-nats writes (admin.creds), both full-access by design. Agents cannot: their
 * NATS permissions allow only their own `sigil.cp.<id>.>` subjects, no `$JS.API` or `$KV` subject.
 */
export class KvKeySetStore implements SharedKeySetStore {
  constructor(private readonly kv: KV) {}

  async read(): Promise<{ file: KeySetFile | undefined; seq: number }> {
    const entry = await withRetry(() => this.kv.get(KEY));
    if (!entry || entry.operation !== 'PUT') return { file: undefined, seq: entry?.revision ?? 0 };
    return { file: entry.json<KeySetFile>(), seq: entry.revision };
  }

  /** False when someone else wrote it since `seq`. */
  async write(file: KeySetFile, seq: number): Promise<boolean> {
    try {
      await withRetry(() => this.kv.put(KEY, JSON.stringify(file), { previousSeq: seq }));
      return true;
    } catch (err) {
      if (isCasConflict(err)) return false;
      throw err;
    }
  }
}
