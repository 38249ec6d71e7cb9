/**
 * RSA-SHA256 signatures on a pool of the agent's own threads, so a signature never holds the event
 * loop and a loaded signer uses every core. The pool starts threads only when every running one is
 * busy (up to `size`, by default os.availableParallelism()) and ends a thread idle for `idleMs`, so an
 * idle agent carries no extra V8 isolates. Keys stay in the process: each is cloned once into a thread
 * that needs it and dropped there when the pool forgets it (at most KEYS_PER_THREAD per thread).
 */
import type { KeyObject } from 'node:crypto';
import os from 'node:os';
import { Worker } from 'node:worker_threads';

/** One request to a signing thread. */
export interface SignJob {
  id: number;
  text: string;
  keyRef: number;
  /** Sent the first time this thread signs with `keyRef`. */
  key?: KeyObject;
  /** A key the thread may forget. */
  drop?: number;
}

export type SignReply = { id: number; signature: string; error?: undefined } | { id: number; error: string; signature?: undefined };

/** Keys a thread keeps: the live session keys of its bindings, plus a few just rotated out. */
const KEYS_PER_THREAD = 64;
const WORKER_URL = new URL('./sign-worker.js', import.meta.url);

interface Pending {
  resolve(signature: string): void;
  reject(err: Error): void;
}

class SigningThread {
  readonly worker: Worker;
  /** Key refs this thread holds, oldest first. */
  readonly known = new Set<number>();
  readonly pending = new Map<number, Pending>();
  idleTimer: NodeJS.Timeout | undefined;

  constructor(onReply: (thread: SigningThread, reply: SignReply) => void, onGone: (thread: SigningThread, err: Error) => void) {
    // A thread needs little heap: a key, a string, a signature.
    this.worker = new Worker(WORKER_URL, { resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 } });
    this.worker.on('message', (reply: SignReply) => onReply(this, reply));
    this.worker.once('error', (err) => onGone(this, err));
    this.worker.once('exit', (code) => onGone(this, new Error(`signing thread exited with code ${code}`)));
    this.worker.unref();
  }
}

export interface SigningPoolOptions {
  /** Most threads; default os.availableParallelism(). */
  size?: number;
  /** A thread idle this long ends; default 30 s. */
  idleMs?: number;
}

export class SigningPool {
  readonly #size: number;
  readonly #idleMs: number;
  readonly #threads = new Set<SigningThread>();
  readonly #keyRefs = new WeakMap<KeyObject, number>();
  #nextKeyRef = 1;
  #nextJob = 1;
  #closed = false;
  /** Threads started since the pool was made (they end when idle and start again on demand). */
  threadsStarted = 0;

  constructor(options: SigningPoolOptions = {}) {
    this.#size = Math.max(1, options.size || os.availableParallelism());
    this.#idleMs = options.idleMs ?? 30_000;
  }

  get size(): number {
    return this.#size;
  }

  /** Threads running now. */
  get threads(): number {
    return this.#threads.size;
  }

  /** base64 RSASSA-PKCS1-v1_5 / SHA-256 signature of the UTF-8 `text`. */
  sign(text: string, key: KeyObject): Promise<string> {
    if (this.#closed) return Promise.reject(new Error('the signing pool is closed'));
    let keyRef = this.#keyRefs.get(key);
    if (keyRef === undefined) {
      keyRef = this.#nextKeyRef++;
      this.#keyRefs.set(key, keyRef);
    }
    const thread = this.#pick();
    const job: SignJob = { id: this.#nextJob++, text, keyRef };
    if (!thread.known.has(keyRef)) {
      job.key = key;
      thread.known.add(keyRef);
      if (thread.known.size > KEYS_PER_THREAD) {
        const oldest = thread.known.values().next().value as number;
        thread.known.delete(oldest);
        job.drop = oldest;
      }
    }
    if (thread.idleTimer) {
      clearTimeout(thread.idleTimer);
      thread.idleTimer = undefined;
    }
    if (thread.pending.size === 0) thread.worker.ref();
    return new Promise<string>((resolve, reject) => {
      thread.pending.set(job.id, { resolve, reject });
      thread.worker.postMessage(job);
    });
  }

  /** An idle thread, else a new one while below size, else the least loaded. */
  #pick(): SigningThread {
    let best: SigningThread | undefined;
    for (const t of this.#threads) {
      if (t.pending.size === 0) return t;
      if (!best || t.pending.size < best.pending.size) best = t;
    }
    if (!best || this.#threads.size < this.#size) {
      const t = new SigningThread((thread, reply) => this.#onReply(thread, reply), (thread, err) => this.#onGone(thread, err));
      this.#threads.add(t);
      this.threadsStarted++;
      return t;
    }
    return best;
  }

  #onReply(thread: SigningThread, reply: SignReply): void {
    const p = thread.pending.get(reply.id);
    if (!p) return;
    thread.pending.delete(reply.id);
    if (reply.error !== undefined) p.reject(new Error(reply.error));
    else p.resolve(reply.signature);
    if (thread.pending.size === 0) {
      // Nothing owed: the thread must not keep the agent alive, and ends if it stays idle.
      thread.worker.unref();
      thread.idleTimer = setTimeout(() => {
        if (thread.pending.size === 0) void thread.worker.terminate();
      }, this.#idleMs);
      thread.idleTimer.unref();
    }
  }

  #onGone(thread: SigningThread, err: Error): void {
    if (!this.#threads.delete(thread)) return;
    if (thread.idleTimer) clearTimeout(thread.idleTimer);
    for (const p of thread.pending.values()) p.reject(err);
    thread.pending.clear();
  }

  /** Ends every thread; pending signatures fail. */
  async close(): Promise<void> {
    this.#closed = true;
    const threads = [...this.#threads];
    await Promise.all(threads.map((t) => t.worker.terminate()));
    for (const t of threads) this.#onGone(t, new Error('the signing pool is closed'));
  }
}
