import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { ControlPlaneError } from '../errors.js';
import { sleep } from '../../common/abort.js';
import { STORE_CODES } from './errors.js';

/** A compare-and-set lost: someone else wrote the key since we read it. */
export function isCasConflict(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence;
}

// JetStreamNotEnabled is how nats.js reports a publish nobody answered: in a cluster, a stream with no
// leader for a moment (leader election, a replica count being changed).
const TRANSIENT = new Set(['TimeoutError', 'NoRespondersError', 'ConnectionError', 'RequestError', 'ClosedConnectionError', 'JetStreamNotEnabled']);

// A stream create on a cluster whose meta group has just formed (or is still placing the previous
// attempt) is refused with this (status 500) for a moment; the same create succeeds shortly after.
// Seen when the nodes and the control plane start together, and in CI right after the cluster formed.
const STREAM_STORE_NOT_READY = 'error creating store for stream';

/** NATS or JetStream briefly away (restart, reconnect, leader election, a forming cluster): worth retrying. */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (TRANSIENT.has(err.name)) return true;
  return err instanceof JetStreamApiError && (err.status === 503 || err.message === STREAM_STORE_NOT_READY);
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


/**
 * For start-up: runs `op` until it succeeds while the store is unavailable (a replica started during
 * a JetStream outage waits for quorum instead of exiting), telling `onWait` once per failure.
 * Other errors, and `signal` firing, end it.
 */
export async function whenStoreAvailable<T>(op: () => Promise<T>, signal: AbortSignal, onWait: (err: Error) => void): Promise<T> {
  for (;;) {
    try {
      return await op();
    } catch (err) {
      const unavailable = err instanceof ControlPlaneError && err.code === STORE_CODES.STORE_UNAVAILABLE;
      if (!unavailable || signal.aborted) throw err;
      onWait(err);
      await sleep(1_000, signal);
    }
  }
}
