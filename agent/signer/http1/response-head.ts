/**
 * An upstream response head: `HTTP/1.x NNN reason` and strictly parsed header fields (fields.ts).
 */
import { parseFields, type Fields } from './fields.js';
import { ParseError } from './parse-error.js';

const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: ([\t\x20-\x7e\x80-\xff]*))?$/;

export interface ResponseHead extends Fields {
  status: number;
  reason: string;
  /** '1.1' or '1.0' (a 1.0 upstream's connection is not reused). */
  version: string;
  /** The keep-alive timeout the upstream announced (Keep-Alive: timeout=N), seconds. */
  keepAliveSeconds: number | undefined;
  requestId: string | undefined;
}

export function parseResponseHead(head: string): ResponseHead {
  const eol = head.indexOf('\r\n');
  const m = STATUS_LINE.exec(head.slice(0, eol));
  if (!m) throw new ParseError('HPE_INVALID_STATUS', 'invalid status line from the upstream');
  const fields = parseFields(head, eol + 2, head.length - 2);
  let keepAliveSeconds: number | undefined;
  let requestId: string | undefined;
  const raw = fields.raw;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 10 && name.toLowerCase() === 'keep-alive') {
      const t = /timeout=(\d+)/i.exec(raw[i + 1] as string);
      if (t) keepAliveSeconds = Number(t[1]);
    } else if (name.length === 14 && name.toLowerCase() === 'opc-request-id') {
      requestId ??= raw[i + 1];
    }
  }
  return { ...fields, status: Number(m[2]), reason: m[3] ?? '', version: `1.${m[1]}`, keepAliveSeconds, requestId };
}
