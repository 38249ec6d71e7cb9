/**
 * Header fields of an HTTP/1.1 head (request or response), parsed strictly: a name is a token right
 * before its colon (no space, no obs-fold), a value has no control byte but HTAB, and the fields that
 * frame the body are checked for every form request smuggling uses (RFC 9112 §6.3): one
 * Content-Length of digits only, Transfer-Encoding exactly `chunked` and only once, never both.
 */
import { ParseError } from './parse-error.js';

/** tchar of RFC 9110 §5.6.2. */
const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TOKEN[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;

/** True when every character of `s` from `start` to `end` is a tchar (and there is one). */
export function isToken(s: string, start = 0, end = s.length): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) if (TOKEN[s.charCodeAt(i)] !== 1) return false;
  return true;
}

/** A control byte a field value may not hold (all but HTAB; CR is reported on its own). */
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
const DIGITS = /^\d{1,15}$/;

export interface Fields {
  /** `[name, value, name, value, …]`, names as sent, values without surrounding whitespace. */
  raw: string[];
  contentLength: number | undefined;
  chunked: boolean;
  /** `Connection: close` was among the connection options. */
  close: boolean;
  /** Header names the Connection header lists (lower case), besides close/keep-alive. */
  connectionTokens: boolean;
}

/**
 * Parses the field lines of `head` (latin1) from `start` up to `end` (the index of the empty line's
 * CRLF). Every line ends in CRLF (the caller found them).
 */
export function parseFields(head: string, start: number, end: number): Fields {
  const raw: string[] = [];
  let contentLength: number | undefined;
  let chunked = false;
  let sawTransferEncoding = false;
  let close = false;
  let connectionTokens = false;
  let pos = start;
  while (pos < end) {
    let eol = head.indexOf('\r\n', pos);
    if (eol === -1 || eol > end) eol = end;
    // A continuation line (obs-fold) is refused before its field means anything.
    const next = head.charCodeAt(eol + 2);
    if (eol + 2 < end && (next === 0x20 || next === 0x09)) throw new ParseError('HPE_INVALID_HEADER_TOKEN', 'obs-fold continuation line');
    const colon = head.indexOf(':', pos);
    if (colon === -1 || colon > eol || !isToken(head, pos, colon)) {
      // No colon, an empty name, a space before the colon or an obs-fold continuation line.
      throw new ParseError('HPE_INVALID_HEADER_TOKEN', 'invalid header field name');
    }
    const name = head.slice(pos, colon);
    let vs = colon + 1;
    let ve = eol;
    while (vs < ve && (head.charCodeAt(vs) === 0x20 || head.charCodeAt(vs) === 0x09)) vs++;
    while (ve > vs && (head.charCodeAt(ve - 1) === 0x20 || head.charCodeAt(ve - 1) === 0x09)) ve--;
    const value = head.slice(vs, ve);
    if (value.includes('\r')) throw new ParseError('HPE_LF_EXPECTED', 'bare CR in a header value');
    if (BAD_VALUE.test(value)) throw new ParseError('HPE_INVALID_HEADER_TOKEN', 'invalid byte in a header value');
    raw.push(name, value);
    if (name.length === 14 && name.toLowerCase() === 'content-length') {
      if (sawTransferEncoding) throw new ParseError('HPE_INVALID_CONTENT_LENGTH', 'Content-Length with Transfer-Encoding');
      if (contentLength !== undefined) throw new ParseError('HPE_UNEXPECTED_CONTENT_LENGTH', 'duplicate Content-Length');
      if (!DIGITS.test(value)) throw new ParseError('HPE_INVALID_CONTENT_LENGTH', 'Content-Length is not a number');
      contentLength = Number(value);
    } else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') {
      if (contentLength !== undefined) throw new ParseError('HPE_INVALID_TRANSFER_ENCODING', 'Transfer-Encoding with Content-Length');
      if (sawTransferEncoding) throw new ParseError('HPE_INVALID_TRANSFER_ENCODING', 'Transfer-Encoding twice');
      if (value.toLowerCase() !== 'chunked') throw new ParseError('HPE_INVALID_TRANSFER_ENCODING', `Transfer-Encoding '${value}' (only chunked is accepted)`);
      sawTransferEncoding = true;
      chunked = true;
    } else if (name.length === 10 && name.toLowerCase() === 'connection') {
      for (const t of value.split(',')) {
        const token = t.trim().toLowerCase();
        if (token === 'close') close = true;
        else if (token !== 'keep-alive' && token !== '') connectionTokens = true;
      }
    }
    pos = eol + 2;
  }
  return { raw, contentLength, chunked, close, connectionTokens };
}

/**
 * Where the head in `buf` ends (the index just past its empty line), -1 while incomplete. Every LF
 * must follow a CR; `from` is where the previous call stopped looking (a line start or 0).
 */
export function headEnd(buf: Buffer, from: number): { end: number; scanned: number } {
  let lineStart = from;
  for (;;) {
    const lf = buf.indexOf(0x0a, lineStart);
    if (lf === -1) return { end: -1, scanned: lineStart };
    if (lf === 0 || buf[lf - 1] !== 0x0d) throw new ParseError('HPE_CR_EXPECTED', 'LF without CR (lines must end in CRLF)');
    if (lf === lineStart + 1) return { end: lf + 1, scanned: lf + 1 };
    lineStart = lf + 1;
  }
}
