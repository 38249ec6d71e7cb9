/**
 * A request head (request line and header fields) parsed strictly: a known method in upper case,
 * a target of visible ASCII, `HTTP/1.x` and nothing after it, fields as fields.ts checks them.
 * HTTP/1.0 and a version-less (0.9) line parse, so the signer can say in OCI's shape that it speaks
 * 1.1 only; everything else malformed is a ParseError.
 */
import { parseFields, type Fields } from './fields.js';
import { ParseError } from './parse-error.js';

/** The methods llhttp knows that an HTTP API could use; CONNECT is parsed to be refused by name. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT', 'PRI']);
/** A request target: visible ASCII only (no space, no control byte, nothing above 0x7e). */
const TARGET = /^[\x21-\x7e]+$/;

export interface RequestHead extends Fields {
  method: string;
  target: string;
  /** '1.1', '1.0' or '0.9'. */
  version: string;
  /** The request's own header lookups the signer makes, first occurrence, lower-case names. */
  host: string | undefined;
  hostCount: number;
  contentType: string | undefined;
  contentTypeCount: number;
  expect: string | undefined;
}

/** Parses `head` (latin1, ending in the empty line's CRLF). */
export function parseRequestHead(head: string): RequestHead {
  const eol = head.indexOf('\r\n');
  const sp1 = head.indexOf(' ');
  if (sp1 <= 0 || sp1 > eol) throw new ParseError('HPE_INVALID_METHOD', 'invalid method');
  const method = head.slice(0, sp1);
  if (!METHODS.has(method)) throw new ParseError('HPE_INVALID_METHOD', 'invalid method');
  const sp2 = head.indexOf(' ', sp1 + 1);
  const targetEnd = sp2 === -1 || sp2 > eol ? eol : sp2;
  const target = head.slice(sp1 + 1, targetEnd);
  if (!TARGET.test(target)) throw new ParseError('HPE_INVALID_URL', 'invalid request target');
  let version: string;
  if (targetEnd === eol) {
    version = '0.9';
  } else {
    const v = head.slice(targetEnd + 1, eol);
    if (method === 'PRI' && target === '*' && v === 'HTTP/2.0') throw new ParseError('HPE_PAUSED_H2_UPGRADE', 'HTTP/2 connection preface');
    if (v === 'HTTP/1.1') version = '1.1';
    else if (v === 'HTTP/1.0') version = '1.0';
    else throw new ParseError('HPE_INVALID_VERSION', 'invalid HTTP version');
  }
  if (method === 'PRI') throw new ParseError('HPE_INVALID_METHOD', 'invalid method');
  const fields = parseFields(head, eol + 2, head.length - 2);
  let host: string | undefined;
  let hostCount = 0;
  let contentType: string | undefined;
  let contentTypeCount = 0;
  let expect: string | undefined;
  const raw = fields.raw;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 4 && name.toLowerCase() === 'host') {
      hostCount++;
      host ??= raw[i + 1];
    } else if (name.length === 12 && name.toLowerCase() === 'content-type') {
      contentTypeCount++;
      contentType ??= raw[i + 1];
    } else if (name.length === 6 && name.toLowerCase() === 'expect') {
      expect ??= raw[i + 1];
    }
  }
  return { ...fields, method, target, version, host, hostCount, contentType, contentTypeCount, expect };
}
