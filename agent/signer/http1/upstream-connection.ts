/**
 * One kept-alive TLS connection to an upstream: sends a request (head and a small body in one write,
 * or a streamed body after it), parses the response head (1xx skipped), delivers the body by its
 * framing (none for HEAD/204/304, Content-Length, chunked, or until close) with backpressure, and
 * says whether the connection may carry another request: only when the request was sent whole and
 * the response ended cleanly on a persistent connection.
 */
import type tls from 'node:tls';
import { BodyChannel, type BodySink, type BodySource } from './body-channel.js';
import { ChunkedDecoder } from './chunked.js';
import { headEnd } from './fields.js';
import { ParseError } from './parse-error.js';
import { parseResponseHead, type ResponseHead } from './response-head.js';

/** Largest response head accepted from an upstream. */
const MAX_RESPONSE_HEAD = 64 * 1024;

export interface UpstreamResponse {
  head: ResponseHead;
  body: BodyChannel;
}

export interface UpstreamOwner {
  /** The exchange on `conn` ended; `reusable` says whether it may carry another. */
  released(conn: UpstreamConnection, reusable: boolean): void;
}

const enum State { Idle, AwaitHead, Body, Closed }

export class UpstreamConnection implements BodySink, BodySource {
  readonly socket: tls.TLSSocket;
  readonly #owner: UpstreamOwner;
  readonly #timeoutMs: number;
  #state = State.Idle;
  #buf: Buffer | undefined;
  #scanned = 0;
  #pending: { resolve(r: UpstreamResponse): void; reject(err: Error): void } | undefined;
  #body: BodyChannel | undefined;
  #remaining = 0;
  #chunked: ChunkedDecoder | undefined;
  #untilClose = false;
  #headRequest = false;
  #requestSent = false;
  #reusable = false;
  #error: Error | undefined;
  /** Epoch ms after which an idle connection is not used again (the upstream's keep-alive hint). */
  idleUntil = Infinity;
  /** Requests this connection carried. */
  uses = 0;

  constructor(socket: tls.TLSSocket, owner: UpstreamOwner, timeoutMs: number) {
    this.socket = socket;
    this.#owner = owner;
    this.#timeoutMs = timeoutMs;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err: Error) => {
      this.#error ??= err;
    });
    socket.once('close', () => this.#onClose());
    socket.on('timeout', () => this.destroy(new Error('upstream timed out')));
  }

  get alive(): boolean {
    return this.#state !== State.Closed && !this.socket.destroyed;
  }

  /**
   * Sends a request: `head` (ending in the empty line) and, when given, its whole body; otherwise
   * `streamed` says a body follows through write()/endRequest(). Resolves with the response head.
   */
  send(head: string, body: Buffer | undefined, streamed: boolean, isHead: boolean): Promise<UpstreamResponse> {
    this.uses++;
    this.#state = State.AwaitHead;
    this.#headRequest = isHead;
    this.#requestSent = !streamed;
    this.#reusable = false;
    this.socket.ref();
    this.socket.setTimeout(this.#timeoutMs);
    const promise = new Promise<UpstreamResponse>((resolve, reject) => {
      this.#pending = { resolve, reject };
    });
    if (body === undefined || body.length === 0) this.socket.write(head, 'latin1');
    else this.socket.write(Buffer.concat([Buffer.from(head, 'latin1'), body]));
    return promise;
  }

  // BodySink: a streamed request body.
  write(chunk: Buffer): boolean {
    if (!this.alive) return false;
    return this.socket.write(chunk);
  }

  onDrain(fn: () => void): void {
    if (!this.alive) {
      fn();
      return;
    }
    const once = (): void => {
      this.socket.off('drain', once);
      this.socket.off('close', once);
      fn();
    };
    this.socket.on('drain', once);
    this.socket.on('close', once);
  }

  /** The streamed request body was written whole. */
  endRequest(): void {
    this.#requestSent = true;
  }

  // BodySource: the response body's backpressure.
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    if (this.alive) this.socket.resume();
  }

  destroy(err?: Error): void {
    if (err) this.#error ??= err;
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    if (this.#state === State.Body) {
      const used = this.#feedBody(chunk, 0);
      if (used < chunk.length && (this.#state as State) !== State.Closed) this.destroy(new Error('the upstream sent bytes after its response'));
      return;
    }
    if (this.#state !== State.AwaitHead) {
      // Nothing is owed on an idle connection: whatever comes is not a response to us.
      this.destroy(new Error('the upstream sent bytes on an idle connection'));
      return;
    }
    this.#buf = this.#buf === undefined ? chunk : Buffer.concat([this.#buf, chunk]);
    try {
      this.#parseHead();
    } catch (err) {
      this.destroy(err instanceof ParseError ? new Error(`malformed response from the upstream (${err.code}: ${err.message})`) : (err as Error));
    }
  }

  #parseHead(): void {
    while (this.#state === State.AwaitHead && this.#buf !== undefined) {
      const buf = this.#buf;
      const found = headEnd(buf, this.#scanned);
      if (found.end === -1) {
        this.#scanned = found.scanned;
        if (buf.length > MAX_RESPONSE_HEAD) throw new ParseError('HPE_HEADER_OVERFLOW', 'response head too large');
        return;
      }
      const head = parseResponseHead(buf.toString('latin1', 0, found.end));
      this.#buf = found.end < buf.length ? buf.subarray(found.end) : undefined;
      this.#scanned = 0;
      if (head.status < 200) {
        if (head.status === 101) throw new ParseError('HPE_INVALID_STATUS', 'the upstream switched protocols');
        continue; // 100 Continue, 103 Early Hints: informational, the response follows.
      }
      this.#startBody(head);
    }
  }

  #startBody(head: ResponseHead): void {
    const body = new BodyChannel(this);
    this.#body = body;
    this.#state = State.Body;
    this.#untilClose = false;
    this.#chunked = undefined;
    const noBody = this.#headRequest || head.status === 204 || head.status === 304;
    if (noBody) this.#remaining = 0;
    else if (head.chunked) this.#chunked = new ChunkedDecoder(MAX_RESPONSE_HEAD);
    else if (head.contentLength !== undefined) this.#remaining = head.contentLength;
    else this.#untilClose = true;
    this.#reusable = head.version === '1.1' && !head.close && !this.#untilClose;
    if (head.keepAliveSeconds !== undefined) this.idleUntil = Date.now() + Math.max(0, head.keepAliveSeconds - 1) * 1000;
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.resolve({ head, body });
    if (!this.#chunked && !this.#untilClose && this.#remaining === 0) {
      this.#bodyDone();
      if (this.#buf !== undefined) this.destroy(new Error('the upstream sent bytes after its response'));
      return;
    }
    const rest = this.#buf;
    this.#buf = undefined;
    if (rest !== undefined) {
      const used = this.#feedBody(rest, 0);
      if (used < rest.length && (this.#state as State) !== State.Closed) this.destroy(new Error('the upstream sent bytes after its response'));
    }
  }

  #feedBody(buf: Buffer, start: number): number {
    const body = this.#body as BodyChannel;
    if (this.#untilClose) {
      body.push(start === 0 ? buf : buf.subarray(start));
      return buf.length;
    }
    if (this.#chunked) {
      let used: number;
      try {
        used = this.#chunked.feed(buf, start, (c) => body.push(c));
      } catch (err) {
        this.destroy(new Error(`malformed response body from the upstream (${(err as ParseError).code})`));
        return buf.length;
      }
      if (this.#chunked.done) this.#bodyDone();
      return used;
    }
    const n = Math.min(this.#remaining, buf.length - start);
    body.push(start === 0 && n === buf.length ? buf : buf.subarray(start, start + n));
    this.#remaining -= n;
    if (this.#remaining === 0) this.#bodyDone();
    return start + n;
  }

  #bodyDone(): void {
    const body = this.#body as BodyChannel;
    this.#body = undefined;
    const reusable = this.#reusable && this.#requestSent;
    this.#state = reusable ? State.Idle : State.Closed;
    this.socket.setTimeout(0);
    if (reusable) this.socket.unref();
    body.end();
    this.#owner.released(this, reusable);
    if (!reusable) this.socket.destroy();
  }

  #onClose(): void {
    const state = this.#state;
    this.#state = State.Closed;
    const err = this.#error ?? new Error('the upstream closed the connection');
    if (state === State.AwaitHead) {
      const pending = this.#pending;
      this.#pending = undefined;
      pending?.reject(err);
      this.#owner.released(this, false);
    } else if (state === State.Body) {
      const body = this.#body as BodyChannel;
      this.#body = undefined;
      if (this.#untilClose && this.#error === undefined) body.end();
      else body.fail(err);
      this.#owner.released(this, false);
    } else if (state === State.Idle) {
      this.#owner.released(this, false);
    }
  }
}
