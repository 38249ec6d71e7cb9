import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { Logger } from '../log.js';
import { withRetry } from './kv-errors.js';

export const DEFAULT_BUCKET = 'sigil-resources';

/**
 * Each JetStream request's own timeout (nats.js default: 5 s). A stream whose leader died answers
 * nothing until JetStream has elected another (nats-server 2.9: a few seconds); withRetry retries a
 * timeout, so a short one lets an apply go through soon after the election instead of up to 5 s
 * later (measured: apply with the policy bucket's leader killed, 10.1-10.2 s with 5 s). Every store
 * write is a compare-and-set, so a retried request whose first try did land is harmless.
 */
export const JS_REQUEST_TIMEOUT_MS = 1_000;

export interface BucketOptions {
  /** JetStream replicas of the bucket's stream (config nats.replicas; default 1). */
  replicas?: number;
  /** Told when an existing bucket's replica count is changed (or could not be). */
  log?: Logger;
}

/**
 * Opens (creating when missing) a KV bucket with one value per key: the store keeps current state only;
 * history lives in the policy revision, not in old values. Works on nats-server 2.9.
 * An existing bucket with another replica count is brought to `replicas` (a stream update, which
 * JetStream carries out online); if that fails the bucket is used as it is and the failure is logged.
 * Other parts (fleet: agents, join tokens) open their own bucket the same way.
 */
export async function openBucket(nc: NatsConnection, name: string = DEFAULT_BUCKET, options: BucketOptions = {}): Promise<KV> {
  const replicas = options.replicas ?? 1;
  // Creating or changing the stream keeps nats.js's 5 s: in a cluster it takes a while (placement, a
  // new raft group), and a create retried after a short timeout fails ("error creating store for stream").
  await withRetry(() => new Kvm(nc).create(name, { history: 1, replicas }));
  const jsm = await withRetry(() => jetstreamManager(nc));
  const stream = `KV_${name}`;
  const info = await withRetry(() => jsm.streams.info(stream));
  const had = info.config.num_replicas;
  if (had !== replicas) {
    try {
      await withRetry(() => jsm.streams.update(stream, { num_replicas: replicas }));
      options.log?.info({ bucket: name, from: had, to: replicas }, 'bucket replica count changed to the configured one');
    } catch (err) {
      options.log?.warn({ bucket: name, replicas: had, configured: replicas, err: (err as Error).message }, 'could not change the bucket replica count; using it as it is');
    }
  }
  // Reads and writes time out sooner (JS_REQUEST_TIMEOUT_MS), each retried by its caller's withRetry.
  return withRetry(() => new Kvm(jetstream(nc, { timeout: JS_REQUEST_TIMEOUT_MS })).open(name));
}
