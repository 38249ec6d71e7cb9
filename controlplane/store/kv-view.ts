import type { KV, KvEntry } from '@nats-io/kv';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { onAbort, sleep } from '../../common/abort.js';
import type { Logger } from '../log.js';
import { withRetry } from './kv-errors.js';

/**
 * An in-memory copy of every key under one prefix of a KV bucket, kept current by one KV watch, so
 * readers (e.g. `fleet status`) answer from memory instead of creating a consumer per call, and keep
 * answering while JetStream elects a new leader. Each key keeps the stream sequence of the value it
 * holds, so a late or repeated delivery never replaces a newer value. The watch is re-opened from the
 * last sequence seen whenever it ends (server restart, consumer lost).
 */
export class KvView<T> {
  readonly #entries = new Map<string, { value: T | undefined; seq: number }>();
  readonly #listeners = new Set<(key: string, value: T | undefined) => void>();
  /** The last stream sequence the watch delivered: where a re-opened watch resumes. */
  #watchSeq = 0;
  #loaded: Promise<void> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
    private readonly bucket: string,
    /** Keys start with this (e.g. "agent."); the map is keyed by the rest. */
    private readonly prefix: string,
    private readonly decode: (entry: KvEntry) => T,
    private readonly log: Logger,
  ) {}

  /** Resolves once the current values are loaded (once; later calls share it). */
  loaded(): Promise<void> {
    this.#loaded ??= this.#load().catch((err: unknown) => {
      this.#loaded = undefined; // next reader tries again
      throw err;
    });
    return this.#loaded;
  }

  values(): T[] {
    return [...this.#entries.values()].flatMap((e) => (e.value === undefined ? [] : [e.value]));
  }

  get(id: string): T | undefined {
    return this.#entries.get(id)?.value;
  }

  /** Told of every change seen (by the watch or by `record`). */
  onChange(listener: (id: string, value: T | undefined) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** An entry this process read or wrote: visible at once, before the watch brings it. */
  record(entry: KvEntry): void {
    this.#apply(entry);
  }

  /** A value this process wrote at stream sequence `seq`. */
  set(id: string, value: T, seq: number): void {
    const known = this.#entries.get(id);
    if (known && known.seq >= seq) return;
    this.#entries.set(id, { value, seq });
    for (const listener of this.#listeners) listener(id, value);
  }

  /** Every value as stored now, read from the bucket (not from the view); the view learns them too. */
  async readStored(): Promise<T[]> {
    const entries = await this.#readAll();
    const values: T[] = [];
    for (const entry of entries) {
      this.#apply(entry);
      if (entry.operation === 'PUT') values.push(this.decode(entry));
    }
    return values;
  }

  /** Follows the bucket until `signal` fires. */
  async follow(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const watch = await this.kv.watch({ key: `${this.prefix}>`, ...(this.#watchSeq > 0 ? { resumeFromRevision: this.#watchSeq + 1 } : {}) });
        const cancel = onAbort(signal, () => watch.stop());
        try {
          for await (const entry of watch) {
            this.#watchSeq = Math.max(this.#watchSeq, entry.revision);
            this.#apply(entry);
          }
        } finally {
          cancel();
        }
      } catch (err) {
        if (!signal.aborted) this.log.warn({ err: (err as Error).message, bucket: this.bucket, prefix: this.prefix }, 'KV watch failed; re-opening');
      }
      await sleep(250, signal);
    }
  }

  async #load(): Promise<void> {
    for (const entry of await this.#readAll()) this.#apply(entry);
  }

  async #readAll(): Promise<KvEntry[]> {
    // One request lists every key (the stream's per-subject counts); kv.keys() would create a consumer.
    const jsm = await withRetry(() => jetstreamManager(this.nc));
    const subjectPrefix = `$KV.${this.bucket}.${this.prefix}`;
    const info = await withRetry(() => jsm.streams.info(`KV_${this.bucket}`, { subjects_filter: `${subjectPrefix}>` }));
    const keys = Object.keys(info.state.subjects ?? {}).map((s) => s.slice(`$KV.${this.bucket}.`.length));
    const entries = await Promise.all(keys.map((key) => withRetry(() => this.kv.get(key))));
    return entries.filter((e): e is KvEntry => e !== null);
  }

  #apply(entry: KvEntry): void {
    if (!entry.key.startsWith(this.prefix)) return;
    const id = entry.key.slice(this.prefix.length);
    const known = this.#entries.get(id);
    if (known && known.seq >= entry.revision) return;
    let value: T | undefined;
    if (entry.operation === 'PUT') {
      try {
        value = this.decode(entry);
      } catch (err) {
        this.log.warn({ key: entry.key, err: (err as Error).message }, 'undecodable KV value ignored');
        return;
      }
    }
    this.#entries.set(id, { value, seq: entry.revision });
    for (const listener of this.#listeners) listener(id, value);
  }
}
