/**
 * sha256 of open fds on worker threads (hash-worker.ts), off the agent's event loop: a 100 MB
 * executable takes ~60 ms of SHA-NI hashing that would otherwise stall every signed request.
 * Files up to `inlineBytes` are read asynchronously and hashed right here instead (under a millisecond
 * of hashing, less than a worker's round trip, and no wait for a worker to start). Workers start on
 * first use and end after `idleMs` without work: each is a V8 isolate (~10 MB) plus its read buffer,
 * while big executables are hashed once per file (hash-cache.ts), in bursts (start-up, deploys), and
 * starting a worker (~30 ms) costs less than hashing 100 MB (~60 ms). While none has work they do
 * not keep the process alive.
 */
import { createHash } from 'node:crypto';
import { read } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

const WORKER = new URL('./hash-worker.js', import.meta.url);

interface Pending { resolve: (sha256: string) => void; reject: (err: Error) => void }
interface Slot { worker: Worker; index: number; pending: Map<number, Pending>; idleTimer?: NodeJS.Timeout }

export interface FileHasherOptions {
  /** Worker threads (default: half the cores, 1–4). */
  workers?: number;
  /** Bytes per read (default 4 MiB: few syscalls, stays in L2/L3 while hashed). */
  chunkBytes?: number;
  /** Files up to this size are hashed on the calling thread, read asynchronously (default 1 MiB). */
  inlineBytes?: number;
  /** A worker this long without work ends; the next big file starts another (default 2 s). */
  idleMs?: number;
}

export class FileHasher {
  private readonly size: number;
  private readonly chunkBytes: number;
  private readonly inlineBytes: number;
  private readonly idleMs: number;
  private readonly slots: (Slot | undefined)[];
  private nextId = 1;

  constructor(options: FileHasherOptions = {}) {
    this.size = options.workers ?? Math.max(1, Math.min(4, Math.floor(availableParallelism() / 2)));
    this.chunkBytes = options.chunkBytes ?? 4 << 20;
    this.inlineBytes = options.inlineBytes ?? 1 << 20;
    this.idleMs = options.idleMs ?? 2000;
    this.slots = new Array<Slot | undefined>(this.size).fill(undefined);
  }

  /**
   * sha256 (hex) of everything `fd` holds, read from offset 0; `size` (from fstat) only picks where it
   * runs. The caller keeps fd open until this settles.
   */
  hashFd(fd: number, size: number): Promise<string> {
    if (size <= this.inlineBytes) return hashInline(fd, size);
    const slot = this.leastBusy();
    const id = this.nextId++;
    return new Promise<string>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      if (slot.idleTimer) {
        clearTimeout(slot.idleTimer);
        slot.idleTimer = undefined;
      }
      if (slot.pending.size === 1) slot.worker.ref();
      slot.worker.postMessage({ id, fd });
    });
  }

  /** Workers running now. */
  get workers(): number {
    return this.slots.filter((s) => s !== undefined).length;
  }

  /** Ends the workers; hashing in flight is rejected. */
  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s?.worker.terminate()));
    this.slots.fill(undefined);
  }

  private leastBusy(): Slot {
    let best = -1;
    for (let i = 0; i < this.size; i++) {
      const s = this.slots[i];
      if (!s) return (this.slots[i] = this.spawn(i));
      if (best < 0 || s.pending.size < this.slots[best]!.pending.size) best = i;
    }
    return this.slots[best]!;
  }

  private spawn(index: number): Slot {
    const worker = new Worker(WORKER, { workerData: { chunkBytes: this.chunkBytes } });
    const slot: Slot = { worker, index, pending: new Map() };
    worker.unref();
    worker.on('message', (m: { id: number; sha256?: string; error?: { message: string; code?: string } }) => {
      const p = slot.pending.get(m.id);
      if (!p) return;
      slot.pending.delete(m.id);
      if (slot.pending.size === 0) this.idle(slot);
      if (m.sha256 !== undefined) p.resolve(m.sha256);
      else p.reject(Object.assign(new Error(m.error?.message ?? 'hashing failed'), { code: m.error?.code }));
    });
    const fail = (err: Error): void => {
      if (slot.idleTimer) clearTimeout(slot.idleTimer);
      if (this.slots[index] === slot) this.slots[index] = undefined; // the next job starts a fresh worker
      for (const p of slot.pending.values()) p.reject(err);
      slot.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`hash worker exited (${code})`)));
    return slot;
  }

  /** No work left on `slot`: it must not keep the process alive, and ends if it stays idle. */
  private idle(slot: Slot): void {
    slot.worker.unref();
    slot.idleTimer = setTimeout(() => {
      slot.idleTimer = undefined;
      if (slot.pending.size > 0) return;
      // Out of the slots first: a job arriving while it ends starts a fresh worker.
      if (this.slots[slot.index] === slot) this.slots[slot.index] = undefined;
      void slot.worker.terminate();
    }, this.idleMs);
    slot.idleTimer.unref();
  }
}

/**
 * Small files here: asynchronous reads on the libuv pool (one of the whole file, more only if it grew
 * meanwhile, one to see the end), hashed on this thread (well under a millisecond).
 */
async function hashInline(fd: number, size: number): Promise<string> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(size + 1);
  for (let position = 0; ;) {
    const n = await readAt(fd, buffer, position);
    if (n === 0) break;
    hash.update(buffer.subarray(0, n));
    position += n;
  }
  return hash.digest('hex');
}

function readAt(fd: number, buffer: Buffer, position: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buffer, 0, buffer.length, position, (err, n) => (err ? reject(err) : resolve(n))));
}
