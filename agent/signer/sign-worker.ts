/**
 * A signing thread of the agent (node:worker_threads): RSA signatures off the event loop. Keys come
 * from the agent's own memory as KeyObjects (postMessage clones them inside the process; nothing is
 * written anywhere) and are kept by the small id the pool gave them until the pool says to drop one.
 */
import { sign, type KeyObject } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import type { SignJob, SignReply } from './signing-pool.js';

const keys = new Map<number, KeyObject>();
const port = parentPort;
if (!port) throw new Error('sign-worker.js runs only as a worker thread of the signer');

port.on('message', (job: SignJob) => {
  if (job.key !== undefined) keys.set(job.keyRef, job.key);
  if (job.drop !== undefined) keys.delete(job.drop);
  const key = keys.get(job.keyRef);
  let reply: SignReply;
  if (!key) {
    reply = { id: job.id, error: `signing key ${job.keyRef} is not known to this signing thread` };
  } else {
    try {
      reply = { id: job.id, signature: sign('sha256', Buffer.from(job.text, 'utf8'), key).toString('base64') };
    } catch (err) {
      // The message only: an error object from OpenSSL never carries key material, but say less anyway.
      reply = { id: job.id, error: `RSA signing failed: ${(err as Error).message}` };
    }
  }
  port.postMessage(reply);
});
