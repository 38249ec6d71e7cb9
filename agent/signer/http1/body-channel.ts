/**
 * One message body between the parser that produces it and the one consumer that takes it (collect
 * it whole, or pipe it to a sink), with backpressure on the socket it comes from: while nobody takes
 * it, at most HIGH_WATER bytes wait here before the source is paused; a sink that says "full" pauses
 * the source until it drains. No node:stream machinery: a body is one callback per chunk.
 */

/** Where a body goes: the client connection (a response body) or an upstream socket (a request body). */
export interface BodySink {
  /** False when the sink is full: wait for onDrain before more. */
  write(chunk: Buffer): boolean;
  /** Calls `fn` once when the sink can take more (or has failed). */
  onDrain(fn: () => void): void;
}

export interface BodySource {
  pause(): void;
  resume(): void;
}

const HIGH_WATER = 64 * 1024;

export class BodyChannel {
  readonly #source: BodySource;
  #waiting: Buffer[] = [];
  #waitingBytes = 0;
  #ended = false;
  #error: Error | undefined;
  #sink: BodySink | undefined;
  #settle: { resolve(): void; reject(err: Error): void } | undefined;
  #drainPending = false;
  /** Bytes of body seen so far. */
  received = 0;

  constructor(source: BodySource) {
    this.#source = source;
  }

  /** The whole body has arrived. */
  get complete(): boolean {
    return this.#ended;
  }

  get failed(): boolean {
    return this.#error !== undefined;
  }

  push(chunk: Buffer): void {
    if (this.#error) return;
    this.received += chunk.length;
    const sink = this.#sink;
    if (sink) {
      if (!sink.write(chunk)) this.#waitForDrain(sink);
      return;
    }
    this.#waiting.push(chunk);
    this.#waitingBytes += chunk.length;
    if (this.#waitingBytes > HIGH_WATER) this.#source.pause();
  }

  end(): void {
    if (this.#ended || this.#error) return;
    this.#ended = true;
    if (this.#sink) this.#finish();
  }

  fail(err: Error): void {
    if (this.#ended || this.#error) return;
    this.#error = err;
    this.#waiting = [];
    const settle = this.#settle;
    this.#settle = undefined;
    settle?.reject(err);
  }

  /** Moves the body into `sink`; resolves once all of it was handed over. */
  pipeTo(sink: BodySink): Promise<void> {
    if (this.#sink) return Promise.reject(new Error('the body is already being read'));
    if (this.#error) return Promise.reject(this.#error);
    this.#sink = sink;
    const waiting = this.#waiting;
    this.#waiting = [];
    this.#waitingBytes = 0;
    let full = false;
    for (const chunk of waiting) if (!sink.write(chunk)) full = true;
    if (this.#error) return Promise.reject(this.#error);
    if (full) this.#waitForDrain(sink);
    else this.#source.resume();
    if (this.#ended) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
  }

  /** The whole body as one Buffer; `tooLarge` rejects as soon as it grows past `limit`. */
  collect(limit: number, tooLarge: () => Error): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    const sink: BodySink = {
      write: (chunk) => {
        size += chunk.length;
        if (size > limit) {
          if (!over) {
            over = true;
            this.fail(tooLarge());
          }
          return true;
        }
        chunks.push(chunk);
        return true;
      },
      onDrain: () => undefined,
    };
    return this.pipeTo(sink).then(() => (chunks.length === 1 ? chunks[0] as Buffer : Buffer.concat(chunks, size)));
  }

  #finish(): void {
    const settle = this.#settle;
    this.#settle = undefined;
    settle?.resolve();
  }

  #waitForDrain(sink: BodySink): void {
    if (this.#drainPending) return;
    this.#drainPending = true;
    this.#source.pause();
    sink.onDrain(() => {
      this.#drainPending = false;
      if (!this.#error) this.#source.resume();
    });
  }
}
