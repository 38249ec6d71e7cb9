/**
 * One request and its response on a client connection: the parsed head, its body (a BodyChannel)
 * and the writer of the answer. The response head is held back until the first body bytes (or the
 * end), so a small answer leaves in one TLS write.
 */
import type tls from 'node:tls';
import { STATUS_CODES } from 'node:http';
import type { BodyChannel, BodySink } from './body-channel.js';
import type { RequestHead } from './request-head.js';

export type ResponseFraming =
  /** Exactly this many body bytes follow (the Content-Length header is among the caller's). */
  | { kind: 'length' }
  /** No body whatever the headers say (HEAD, 204, 304). */
  | { kind: 'none' }
  /** Length unknown ahead: sent chunked. */
  | { kind: 'chunked' };

const CRLF = Buffer.from('\r\n');
const LAST_CHUNK_AFTER_DATA = Buffer.from('\r\n0\r\n\r\n');

export interface ExchangeOwner {
  /** The exchange's response ended (all written); `keepAlive` false closes the connection. */
  responseEnded(ex: Exchange, keepAlive: boolean): void;
}

export class Exchange implements BodySink {
  readonly head: RequestHead;
  readonly body: BodyChannel;
  readonly #socket: tls.TLSSocket;
  readonly #owner: ExchangeOwner;
  #pendingHead: string | undefined;
  #chunked = false;
  #ended = false;
  #closeAfter: boolean;
  readonly #onDone: Array<() => void> = [];
  #done = false;
  statusCode = 200;
  headersSent = false;
  /** Every byte of the response was handed to the socket and it took them. */
  finished = false;

  constructor(head: RequestHead, body: BodyChannel, socket: tls.TLSSocket, owner: ExchangeOwner) {
    this.head = head;
    this.body = body;
    this.#socket = socket;
    this.#owner = owner;
    this.#closeAfter = head.close;
  }

  /** Ended: response complete, or its connection gone. */
  get done(): boolean {
    return this.#done;
  }

  /** Calls `fn` once when the exchange ends (at once if it has). */
  whenDone(fn: () => void): void {
    if (this.#done) fn();
    else this.#onDone.push(fn);
  }

  /** The connection went away (or the exchange was abandoned): ends it. */
  close(): void {
    if (this.#done) return;
    this.#done = true;
    for (const fn of this.#onDone.splice(0)) fn();
  }

  /** Starts the response; `raw` are its header fields (`[name, value, …]`). */
  writeHead(status: number, reason: string | undefined, raw: readonly string[], framing: ResponseFraming): void {
    if (this.headersSent) throw new Error('response head already sent');
    this.headersSent = true;
    this.statusCode = status;
    this.#chunked = framing.kind === 'chunked';
    // The connection closes after this response when the client asked, or when its request body was
    // not read to its end (what is left of it cannot be told from the next request).
    if (!this.body.complete) this.#closeAfter = true;
    let text = `HTTP/1.1 ${status} ${reason ?? STATUS_CODES[status] ?? ''}\r\n`;
    for (let i = 0; i + 1 < raw.length; i += 2) text += `${raw[i]}: ${raw[i + 1]}\r\n`;
    if (this.#chunked) text += 'transfer-encoding: chunked\r\n';
    if (this.#closeAfter) text += 'connection: close\r\n';
    this.#pendingHead = `${text}\r\n`;
    if (framing.kind === 'none') this.#chunked = false;
  }

  /** Writes body bytes; false when the client socket is full (see onDrain). */
  write(chunk: Buffer): boolean {
    if (this.#ended || chunk.length === 0) return true;
    const s = this.#socket;
    if (s.destroyed) return false;
    const head = this.#pendingHead;
    this.#pendingHead = undefined;
    if (this.#chunked) {
      const size = `${chunk.length.toString(16)}\r\n`;
      s.cork();
      if (head !== undefined) s.write(head + size, 'latin1');
      else s.write(size, 'latin1');
      s.write(chunk);
      const ok = s.write(CRLF);
      s.uncork();
      return ok;
    }
    if (head === undefined) return s.write(chunk);
    if (chunk.length <= 16 * 1024) return s.write(Buffer.concat([Buffer.from(head, 'latin1'), chunk]));
    s.cork();
    s.write(head, 'latin1');
    const ok = s.write(chunk);
    s.uncork();
    return ok;
  }

  onDrain(fn: () => void): void {
    const s = this.#socket;
    if (s.destroyed) {
      fn();
      return;
    }
    const once = (): void => {
      s.off('drain', once);
      s.off('close', once);
      fn();
    };
    s.on('drain', once);
    s.on('close', once);
  }

  /** Ends the response (optionally with its last bytes): one write for what is left. */
  end(last?: Buffer): void {
    if (this.#ended) return;
    this.#ended = true;
    const s = this.#socket;
    if (s.destroyed) {
      this.close();
      return;
    }
    const head = this.#pendingHead ?? '';
    this.#pendingHead = undefined;
    const hasLast = last !== undefined && last.length > 0;
    let out: Buffer | string | undefined;
    if (this.#chunked) {
      out = hasLast
        ? Buffer.concat([Buffer.from(`${head}${last.length.toString(16)}\r\n`, 'latin1'), last, LAST_CHUNK_AFTER_DATA])
        : `${head}0\r\n\r\n`;
    } else if (hasLast) {
      out = head === '' ? last : Buffer.concat([Buffer.from(head, 'latin1'), last]);
    } else if (head !== '') {
      out = head;
    }
    if (out === undefined) {
      this.finished = !s.destroyed;
      this.close();
    } else {
      // This exchange's end is reported once written; the owner may read the next request meanwhile.
      const onWritten = (err?: Error | null): void => {
        this.finished = !err;
        this.close();
      };
      if (typeof out === 'string') s.write(out, 'latin1', onWritten);
      else s.write(out, onWritten);
    }
    this.#owner.responseEnded(this, !this.#closeAfter);
  }

  /** A complete answer in one write: status, header fields and a small body. */
  respond(status: number, raw: readonly string[], body: string): void {
    this.writeHead(status, undefined, [...raw, 'content-length', String(Buffer.byteLength(body))], { kind: 'length' });
    this.end(Buffer.from(body));
  }

  /** Abandons the response half-way: the client sees its connection close. */
  destroy(): void {
    this.#socket.destroy();
    this.close();
  }
}
