import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';
import { withRetry } from './kv-errors.js';

export const DEFAULT_BUCKET = 'sigil-resources';

/**
 * Opens (creating when missing) a KV bucket with one value per key: the store keeps current state only;
 * history lives in the policy revision, not in old values. Works on nats-server 2.9.
 * Other parts (fleet: agents, join tokens) may open their own bucket the same way.
 */
export async function openBucket(nc: NatsConnection, name: string = DEFAULT_BUCKET): Promise<KV> {
  return withRetry(() => new Kvm(nc).create(name, { history: 1 }));
}
