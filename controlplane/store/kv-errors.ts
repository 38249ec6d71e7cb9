import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { ControlPlaneError } from '../errors.js';
import { sleep } from '../../common/abort.js';
import { STORE_CODES } from './errors.js';

/** A compare-and-set lost: someone else wrote the key since we read it. */
export function isCasConflict(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence;
}

const TRANSIENT = new Set(['TimeoutError', 'NoRespondersError', 'ConnectionError', 'RequestError', 'ClosedConnectionError']);

/** NATS or JetStream briefly away (restart, reconnect, leader election): worth retrying. */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (TRANSIENT.has(err.name)) return true;
  return err instanceof JetStreamApiError && err.status === 503;
}

/**
 * Runs `op`, retrying transient NATS failures with backoff until `deadlineMs` has passed; then fails
 * with SIGIL_ERR_STORE_UNAVAILABLE (503). Safe for our writes because every write is a compare-and-set:
 * a write that did land before the failure turns into a CAS conflict on retry, which callers handle.
 */
export async function withRetry<T>(op: () => Promise<T>, deadlineMs = 15_000): Promise<T> {
  const start = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (!isTransient(err)) throw err;
      if (Date.now() - start > deadlineMs) {
        throw new ControlPlaneError(STORE_CODES.STORE_UNAVAILABLE, `the store (NATS JetStream) is unavailable: ${(err as Error).message}`, { cause: err, status: 503 });
      }
      await sleep(Math.min(1000, 50 * 2 ** attempt) * (0.5 + Math.random() / 2));
    }
  }
}

