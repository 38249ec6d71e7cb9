/**
 * The HTTP/1.1 side of one terminated client connection: reads request heads and bodies off the TLS
 * socket, hands each request to the signer as an Exchange, one at a time (pipelined requests wait in
 * a bounded buffer for their turn), and applies the header, request, keep-alive and idle timeouts.
 * A malformed head or body is answered 400 (431 when too large, 408 when too slow) in OCI's error
 * shape, naming llhttp's code, and the connection is closed.
 */
import { STATUS_CODES } from 'node:http';
import type tls from 'node:tls';
import { BodyChannel, type BodySource } from './body-channel.js';
import { SIGNER_ERRORS } from '../errors.js';
import { ChunkedDecoder } from './chunked.js';
import { Exchange, type ExchangeOwner } from './exchange.js';
import { headEnd } from './fields.js';
import { ParseError } from './parse-error.js';
import { parseRequestHead, type RequestHead } from './request-head.js';
import type { ConnectionSweeper } from './sweeper.js';

export interface ConnectionLimits {
  maxHeaderSize: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  idleTimeoutMs: number;
}

export interface ConnectionEvents {
  /** A request to serve; the exchange ends with its response or its connection. */
  request(ex: Exchange): void;
  /** A request refused before it became an exchange, or whose body was malformed (for the log). */
  refused(code: string, reason: string, target?: string): void;
}

/** Pipelined bytes held while a request is being served before the socket is paused. */
const PIPELINE_BUFFER = 64 * 1024;

const enum State { Head, Body, Busy, Closed }
const enum Deadline { None, Headers, Request, KeepAlive }

/** The body of a framing refusal, in OCI's error shape. */
function refusalBody(message: string): string {
  return JSON.stringify({ code: SIGNER_ERRORS.BAD_REQUEST.ociCode, message });
}

/** Answers on a connection that is then closed (a head that never became a request, a timeout). */
export function refuseRaw(socket: tls.TLSSocket, status: number, message: string): void {
  if (!socket.writable || socket.destroyed) {
    socket.destroy();
    return;
  }
  const body = refusalBody(message);
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

export class ClientConnection implements ExchangeOwner, BodySource {
  readonly #socket: tls.TLSSocket;
  readonly #limits: ConnectionLimits;
  readonly #events: ConnectionEvents;
  readonly #sweeper: ConnectionSweeper;
  #state = State.Head;
  #buf: Buffer | undefined;
  #scanned = 0;
  #current: Exchange | undefined;
  #remaining = 0;
  #chunked: ChunkedDecoder | undefined;
  #bodyPaused = false;
  #bufferPaused = false;
  #headStart = 0;
  deadline = Infinity;
  #deadlineKind = Deadline.None;

  constructor(socket: tls.TLSSocket, limits: ConnectionLimits, events: ConnectionEvents, sweeper: ConnectionSweeper) {
    this.#socket = socket;
    this.#limits = limits;
    this.#events = events;
    this.#sweeper = sweeper;
    this.#headStart = Date.now();
    this.#setDeadline(Deadline.Headers, this.#headStart + limits.headersTimeoutMs);
    sweeper.add(this);
    socket.setTimeout(limits.idleTimeoutMs, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.once('close', () => this.#onClose());
  }

  // BodySource: the current request body's backpressure.
  pause(): void {
    this.#bodyPaused = true;
    this.#socket.pause();
  }

  resume(): void {
    this.#bodyPaused = false;
    if (!this.#bufferPaused && this.#state !== State.Closed) this.#socket.resume();
  }

  /** Called by the sweeper once `deadline` has passed. */
  expire(): void {
    const kind = this.#deadlineKind;
    this.#setDeadline(Deadline.None, Infinity);
    if (kind === Deadline.KeepAlive) {
      this.#socket.destroy();
    } else if (kind === Deadline.Headers) {
      this.#refuse(new Error(`request head not received within ${this.#limits.headersTimeoutMs} ms`), 408, 'ERR_HTTP_REQUEST_TIMEOUT');
    } else if (kind === Deadline.Request) {
      // Only set while a body is being read: the body fails, and the answer is 408 unless one was sent.
      this.#refuse(new Error(`request not received within ${this.#limits.requestTimeoutMs} ms`), 408, 'ERR_HTTP_REQUEST_TIMEOUT');
    }
  }

  #setDeadline(kind: Deadline, at: number): void {
    this.#deadlineKind = kind;
    this.deadline = at;
  }

  #onData(chunk: Buffer): void {
    switch (this.#state) {
      case State.Closed:
        return;
      case State.Body: {
        const used = this.#feedBody(chunk, 0);
        if (used < chunk.length) this.#append(chunk.subarray(used));
        break;
      }
      default:
        this.#append(chunk);
    }
    if (this.#state === State.Head) this.#parseHeads();
    else if (this.#state === State.Busy && (this.#buf?.length ?? 0) > PIPELINE_BUFFER && !this.#bufferPaused) {
      this.#bufferPaused = true;
      this.#socket.pause();
    }
  }

  #append(chunk: Buffer): void {
    this.#buf = this.#buf === undefined ? chunk : Buffer.concat([this.#buf, chunk]);
  }

  #parseHeads(): void {
    while (this.#state === State.Head && this.#buf !== undefined) {
      let buf = this.#buf;
      // Empty lines before a request line are ignored (RFC 9112 §2.2).
      while (this.#scanned === 0 && buf.length >= 2 && buf[0] === 0x0d && buf[1] === 0x0a) buf = buf.subarray(2);
      if (buf.length === 0) {
        this.#buf = undefined;
        return;
      }
      this.#buf = buf;
      if (this.#deadlineKind === Deadline.KeepAlive) {
        this.#headStart = Date.now();
        this.#setDeadline(Deadline.Headers, this.#headStart + this.#limits.headersTimeoutMs);
      }
      let head: RequestHead;
      try {
        const found = headEnd(buf, this.#scanned);
        if (found.end === -1) {
          this.#scanned = found.scanned;
          if (buf.length > this.#limits.maxHeaderSize) throw new ParseError('HPE_HEADER_OVERFLOW', 'header block too large');
          return;
        }
        if (found.end > this.#limits.maxHeaderSize + 4) throw new ParseError('HPE_HEADER_OVERFLOW', 'header block too large');
        head = parseRequestHead(buf.toString('latin1', 0, found.end));
        this.#buf = found.end < buf.length ? buf.subarray(found.end) : undefined;
        this.#scanned = 0;
      } catch (err) {
        if (!(err instanceof ParseError)) throw err;
        this.#refuse(err, err.status, err.code);
        return;
      }
      if (head.method === 'CONNECT') {
        this.#state = State.Closed;
        this.#events.refused('CONNECT', 'CONNECT refused', head.target);
        refuseRaw(this.#socket, 400, `CONNECT is not supported: the signer is not a proxy; send origin-form requests (${SIGNER_ERRORS.BAD_REQUEST.code})`);
        return;
      }
      this.#start(head);
    }
  }

  #start(head: RequestHead): void {
    if (head.version !== '1.1') head.close = true;
    const body = new BodyChannel(this);
    const ex = new Exchange(head, body, this.#socket, this);
    this.#current = ex;
    if (head.chunked) {
      this.#chunked = new ChunkedDecoder(this.#limits.maxHeaderSize);
      this.#state = State.Body;
    } else if (head.contentLength !== undefined && head.contentLength > 0) {
      this.#chunked = undefined;
      this.#remaining = head.contentLength;
      this.#state = State.Body;
    } else {
      body.end();
      this.#state = State.Busy;
    }
    if (this.#state === State.Body) {
      this.#setDeadline(Deadline.Request, this.#headStart + this.#limits.requestTimeoutMs);
      // What Node's server does without a checkContinue listener: go ahead at once.
      if (head.expect !== undefined && head.expect.toLowerCase() === '100-continue') this.#socket.write('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
    } else {
      this.#setDeadline(Deadline.None, Infinity);
    }
    this.#events.request(ex);
    if (this.#state === State.Body && this.#buf !== undefined && ex === this.#current) {
      const buf = this.#buf;
      this.#buf = undefined;
      const used = this.#feedBody(buf, 0);
      if (used < buf.length) this.#append(buf.subarray(used));
    }
  }

  /** Feeds body bytes of the current request from `buf` at `start`; returns the index past them. */
  #feedBody(buf: Buffer, start: number): number {
    const ex = this.#current as Exchange;
    try {
      if (this.#chunked) {
        const used = this.#chunked.feed(buf, start, (c) => ex.body.push(c));
        if (this.#chunked.done) this.#bodyDone(ex);
        return used;
      }
      const n = Math.min(this.#remaining, buf.length - start);
      ex.body.push(start === 0 && n === buf.length ? buf : buf.subarray(start, start + n));
      this.#remaining -= n;
      if (this.#remaining === 0) this.#bodyDone(ex);
      return start + n;
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      this.#refuse(err, err.status, err.code);
      return buf.length;
    }
  }

  #bodyDone(ex: Exchange): void {
    this.#state = State.Busy;
    this.#setDeadline(Deadline.None, Infinity);
    ex.body.end();
  }

  /** Answers a framing error (and fails the body being read, if any) and closes. */
  #refuse(err: Error, status: number, code: string): void {
    const ex = this.#current;
    this.#state = State.Closed;
    this.#buf = undefined;
    this.#events.refused(code, err.message, ex?.head.target);
    const message = `malformed HTTP request (${code})`;
    if (ex && !ex.body.complete) {
      ex.body.fail(err);
      if (!ex.headersSent) {
        ex.respond(status, ['content-type', 'application/json'], refusalBody(message));
        return;
      }
      ex.destroy();
      return;
    }
    refuseRaw(this.#socket, status, message);
  }

  responseEnded(ex: Exchange, keepAlive: boolean): void {
    if (ex !== this.#current) return;
    this.#current = undefined;
    if (!keepAlive || this.#state !== State.Busy) {
      this.#state = State.Closed;
      this.#socket.end();
      return;
    }
    this.#state = State.Head;
    if (this.#buf !== undefined) {
      this.#headStart = Date.now();
      this.#setDeadline(Deadline.Headers, this.#headStart + this.#limits.headersTimeoutMs);
    } else {
      this.#setDeadline(Deadline.KeepAlive, Date.now() + this.#limits.keepAliveTimeoutMs);
    }
    if (this.#bufferPaused) {
      this.#bufferPaused = false;
      if (!this.#bodyPaused) this.#socket.resume();
    }
    this.#parseHeads();
  }

  #onClose(): void {
    const wasServing = this.#state !== State.Closed;
    this.#state = State.Closed;
    this.#sweeper.delete(this);
    const current = this.#current;
    this.#current = undefined;
    if (current) {
      current.body.fail(new Error('the client closed its connection'));
      current.close();
    }
    // Requests pipelined behind the one being served and left with their connection still each end
    // (abandoned), so every request the client sent is accounted for.
    let buf = wasServing ? this.#buf : undefined;
    this.#buf = undefined;
    while (buf !== undefined && buf.length > 0) {
      let head: RequestHead;
      let end: number;
      try {
        end = headEnd(buf, 0).end;
        if (end === -1 || end > this.#limits.maxHeaderSize) return;
        head = parseRequestHead(buf.toString('latin1', 0, end));
      } catch {
        return;
      }
      if (head.chunked || (head.contentLength ?? 0) > 0 || head.method === 'CONNECT') return;
      const body = new BodyChannel(this);
      body.end();
      const ex = new Exchange(head, body, this.#socket, this);
      ex.close();
      this.#events.request(ex);
      buf = buf.subarray(end);
    }
  }
}
