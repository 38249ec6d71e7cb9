/**
 * Decodes a chunked body (RFC 9112 §7.1) as it arrives: strict chunk-size lines (hex, at most 13
 * digits so the size is exact, optional extensions), CRLF after every chunk, trailer lines read and
 * dropped within a bound. What comes after the last CRLF is the next message's and is left alone.
 */
import { ParseError } from './parse-error.js';

const enum State { Size, Data, DataCr, DataLf, Trailer, Done }

/** Longest chunk-size line (with extensions) and trailer section accepted. */
const MAX_LINE = 4096;
const SIZE_LINE = /^([0-9a-fA-F]{1,13})[ \t]*(;[\x20-\x7e\t]*)?$/;

export class ChunkedDecoder {
  #state = State.Size;
  #remaining = 0;
  #line = '';
  #trailerBytes = 0;
  readonly #maxTrailer: number;

  constructor(maxTrailerBytes: number) {
    this.#maxTrailer = maxTrailerBytes;
  }

  get done(): boolean {
    return this.#state === State.Done;
  }

  /**
   * Consumes `buf` from `start`; hands body bytes to `onData` and returns the index where this body
   * ended (done) or `buf.length` (more to come). Throws ParseError on a framing error.
   */
  feed(buf: Buffer, start: number, onData: (chunk: Buffer) => void): number {
    let i = start;
    while (i < buf.length) {
      switch (this.#state) {
        case State.Data: {
          const n = Math.min(this.#remaining, buf.length - i);
          onData(buf.subarray(i, i + n));
          i += n;
          this.#remaining -= n;
          if (this.#remaining === 0) this.#state = State.DataCr;
          break;
        }
        case State.DataCr:
          if (buf[i] !== 0x0d) throw new ParseError('HPE_STRICT', 'expected CRLF after chunk data');
          i++;
          this.#state = State.DataLf;
          break;
        case State.DataLf:
          if (buf[i] !== 0x0a) throw new ParseError('HPE_STRICT', 'expected LF after chunk data');
          i++;
          this.#state = State.Size;
          break;
        case State.Size:
        case State.Trailer: {
          const lf = buf.indexOf(0x0a, i);
          const end = lf === -1 ? buf.length : lf;
          this.#line += buf.toString('latin1', i, end);
          if (this.#line.length > MAX_LINE + 1) throw new ParseError(this.#state === State.Size ? 'HPE_INVALID_CHUNK_SIZE' : 'HPE_HEADER_OVERFLOW', 'chunk line too long');
          if (lf === -1) return buf.length;
          i = lf + 1;
          const line = this.#line;
          this.#line = '';
          if (!line.endsWith('\r')) throw new ParseError('HPE_CR_EXPECTED', 'LF without CR in chunked framing');
          const text = line.slice(0, -1);
          if (this.#state === State.Size) {
            const m = SIZE_LINE.exec(text);
            if (!m) throw new ParseError('HPE_INVALID_CHUNK_SIZE', 'invalid chunk size');
            const size = parseInt(m[1] as string, 16);
            if (!Number.isSafeInteger(size)) throw new ParseError('HPE_INVALID_CHUNK_SIZE', 'chunk size too large');
            if (size === 0) this.#state = State.Trailer;
            else {
              this.#remaining = size;
              this.#state = State.Data;
            }
          } else {
            if (text === '') {
              this.#state = State.Done;
              return i;
            }
            this.#trailerBytes += line.length + 1;
            if (this.#trailerBytes > this.#maxTrailer) throw new ParseError('HPE_HEADER_OVERFLOW', 'trailer section too large');
            if (text.includes('\r') || /[\x00-\x08\x0a-\x1f\x7f]/.test(text) || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:/.test(text)) {
              throw new ParseError('HPE_INVALID_HEADER_TOKEN', 'invalid trailer field');
            }
          }
          break;
        }
        case State.Done:
          return i;
      }
    }
    return i;
  }
}
