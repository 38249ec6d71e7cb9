/**
 * RSA-SHA256 signatures off the event loop, on libuv's thread pool (node:crypto's asynchronous
 * `sign(…, callback)`): a signature never holds the loop, a loaded signer uses every core, and no
 * JavaScript thread is needed for it. A worker thread per core cost ~10 MB of V8 heap each (plus its
 * malloc arena), kept after it ended (V8 pools the pages), and a structured clone each way per
 * signature; docs/benchmarks.md, "Where the agent's memory goes", has the figures.
 *
 * At most `size` signatures are handed to libuv at once (default: two per core), the others wait here
 * in arrival order: enough that every core has the next signature queued when one finishes (with one
 * per core, a core idled until the event loop got round to handing it the next), few enough that file
 * reads and DNS lookups on the same pool (attestation, destinations) wait behind at most that many.
 * Keys never leave the process's memory.
 */
import { sign, type KeyObject } from 'node:crypto';
import os from 'node:os';

export interface SigningPoolOptions {
  /** Most signatures handed to libuv at once; default two per core. */
  size?: number;
}

interface Job {
  data: Buffer;
  key: KeyObject;
  resolve(signature: string): void;
  reject(err: Error): void;
}

export class SigningPool {
  readonly #size: number;
  readonly #waiting: Job[] = [];
  #head = 0;
  #running = 0;
  #closed = false;

  constructor(options: SigningPoolOptions = {}) {
    this.#size = Math.max(1, options.size || 2 * os.availableParallelism());
  }

  /** Most signatures handed to libuv at once. */
  get size(): number {
    return this.#size;
  }

  /** Signatures being made now. */
  get running(): number {
    return this.#running;
  }

  /** Signatures waiting for one of the `size` slots. */
  get waiting(): number {
    return this.#waiting.length - this.#head;
  }

  /** Nothing to start (kept so the signer's start-up reads the same): libuv's pool is always there. */
  async start(): Promise<void> {
    if (this.#closed) throw new Error('the signing pool is closed');
  }

  /** base64 RSASSA-PKCS1-v1_5 / SHA-256 signature of the UTF-8 `text`. */
  sign(text: string, key: KeyObject): Promise<string> {
    if (this.#closed) return Promise.reject(new Error('the signing pool is closed'));
    return new Promise<string>((resolve, reject) => {
      const job: Job = { data: Buffer.from(text, 'utf8'), key, resolve, reject };
      if (this.#running < this.#size) this.#run(job);
      else this.#waiting.push(job);
    });
  }

  #run(job: Job): void {
    this.#running++;
    try {
      sign('sha256', job.data, job.key, (err, signature) => {
        this.#done();
        // The message only: an error from OpenSSL never carries key material, but say less anyway.
        if (err) job.reject(new Error(`RSA signing failed: ${err.message}`));
        else job.resolve(signature.toString('base64'));
      });
    } catch (err) {
      // A key that cannot sign at all (a public key) throws before anything is queued.
      this.#done();
      job.reject(new Error(`RSA signing failed: ${(err as Error).message}`));
    }
  }

  #done(): void {
    this.#running--;
    if (this.#closed || this.#head === this.#waiting.length) return;
    const next = this.#waiting[this.#head]!;
    this.#waiting[this.#head++] = undefined as unknown as Job;
    if (this.#head === this.#waiting.length) {
      this.#waiting.length = 0;
      this.#head = 0;
    }
    this.#run(next);
  }

  /** Signatures not yet started fail; those on the pool finish (libuv cannot cancel them). */
  async close(): Promise<void> {
    this.#closed = true;
    const left = this.#waiting.splice(this.#head);
    this.#waiting.length = 0;
    this.#head = 0;
    for (const job of left) job.reject(new Error('the signing pool is closed'));
  }
}
