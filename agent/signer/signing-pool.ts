/**
 * RSA-SHA256 signatures on a pool of the agent's own threads, so a signature never holds the event
 * loop and a loaded signer uses every core. One thread is always there (started by start(), about
 * 10 MB of RSS); more start in the background when every ready thread is busy (up to `size`, by
 * default os.availableParallelism()) and end after `idleMs` idle. A request never waits for a thread
 * to boot (under load that took seconds): it goes to a ready thread meanwhile. Keys stay in the
 * process: each is cloned once into a thread that needs it and dropped there when the pool forgets it
 * (at most KEYS_PER_THREAD per thread).
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
  ready = false;
  /** The thread that never ends for idleness. */
  permanent = false;
  readonly online: Promise<void>;

  constructor(onReply: (thread: SigningThread, reply: SignReply) => void, onGone: (thread: SigningThread, err: Error) => void) {
    // A thread needs little heap: a key, a string, a signature.
    this.worker = new Worker(WORKER_URL, { resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 } });
    this.online = new Promise<void>((resolve, reject) => {
      this.worker.once('online', () => {
        this.ready = true;
        resolve();
      });
      this.worker.once('exit', () => reject(new Error('signing thread ended before it was ready')));
    });
    this.online.catch(() => undefined);
    this.worker.on('message', (reply: SignReply) => onReply(this, reply));
    this.worker.once('error', (err) => onGone(this, err));
    this.worker.once('exit', (code) => onGone(this, new Error(`signing thread exited with code ${code}`)));
    // Referenced until it is ready (the agent's start waits for it; an unreferenced boot let the
    // process end with nothing else on the loop), then only while a signature is owed.
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

  /** Starts the thread that is always there and waits until it is ready. */
  async start(): Promise<void> {
    const first = this.#threads.values().next().value ?? this.#spawn();
    await first.online;
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

  /**
   * An idle ready thread; else the least loaded ready one, starting another in the background while
   * below size; a starting thread only when none is ready (its job waits in its port until it is).
   */
  #pick(): SigningThread {
    let best: SigningThread | undefined;
    let starting: SigningThread | undefined;
    for (const t of this.#threads) {
      if (!t.ready) {
        starting ??= t;
        continue;
      }
      if (t.pending.size === 0) return t;
      if (!best || t.pending.size < best.pending.size) best = t;
    }
    if (!starting && this.#threads.size < this.#size) starting = this.#spawn();
    return best ?? starting ?? this.#spawn();
  }

  #spawn(): SigningThread {
    const t = new SigningThread((thread, reply) => this.#onReply(thread, reply), (thread, err) => this.#onGone(thread, err));
    t.permanent = ![...this.#threads].some((other) => other.permanent);
    this.#threads.add(t);
    this.threadsStarted++;
    // A thread started for a burst that ended before it was ready idles from the start.
    void t.online.then(() => {
      if (t.pending.size === 0) this.#idle(t);
    }, () => undefined);
    return t;
  }

  /** Nothing owed: the thread must not keep the agent alive, and ends if it stays idle (but the permanent one). */
  #idle(thread: SigningThread): void {
    thread.worker.unref();
    if (thread.permanent || thread.idleTimer) return;
    thread.idleTimer = setTimeout(() => {
      thread.idleTimer = undefined;
      if (thread.pending.size === 0) void thread.worker.terminate();
    }, this.#idleMs);
    thread.idleTimer.unref();
  }

  #onReply(thread: SigningThread, reply: SignReply): void {
    const p = thread.pending.get(reply.id);
    if (!p) return;
    thread.pending.delete(reply.id);
    if (reply.error !== undefined) p.reject(new Error(reply.error));
    else p.resolve(reply.signature);
    if (thread.pending.size === 0) this.#idle(thread);
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
