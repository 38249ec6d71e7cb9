/**
 * The signer's own HTTP/1.1 framing, byte for byte: what the request and response head parsers and
 * the chunked decoder accept, and the llhttp code each refusal names. The same forms sent to a live
 * signer are in test/hardening/signer-bad-input.test.ts.
 */
import test from 'ava';
import { ChunkedDecoder } from '../../../agent/signer/http1/chunked.js';
import { headEnd } from '../../../agent/signer/http1/fields.js';
import { ParseError } from '../../../agent/signer/http1/parse-error.js';
import { parseRequestHead } from '../../../agent/signer/http1/request-head.js';
import { parseResponseHead } from '../../../agent/signer/http1/response-head.js';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof ParseError) return err.code;
    throw err;
  }
};

const req = (lines: string[]): string => `${lines.join('\r\n')}\r\n\r\n`;

test('a well-formed request head: method, target, version, fields in order, framing', (t) => {
  const head = parseRequestHead(req(['PUT /n/ns/b/bk/o/x?y=1 HTTP/1.1', 'Host: a.example', 'Content-Length: 11', 'X-A:  v  ', 'Connection: close']));
  t.is(head.method, 'PUT');
  t.is(head.target, '/n/ns/b/bk/o/x?y=1');
  t.is(head.version, '1.1');
  t.deepEqual(head.raw, ['Host', 'a.example', 'Content-Length', '11', 'X-A', 'v', 'Connection', 'close']);
  t.is(head.contentLength, 11);
  t.false(head.chunked);
  t.true(head.close);
  t.is(head.host, 'a.example');
  t.is(head.hostCount, 1);
  t.true(parseRequestHead(req(['POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: Chunked'])).chunked);
  t.is(parseRequestHead(req(['GET / HTTP/1.0', 'Host: a'])).version, '1.0');
  t.is(parseRequestHead('GET /\r\nHost: a\r\n\r\n').version, '0.9');
});

test('request smuggling and malformed heads are refused with the code llhttp used', (t) => {
  const cases: Array<[string, string[], string]> = [
    ['Content-Length then Transfer-Encoding', ['POST / HTTP/1.1', 'Host: a', 'Content-Length: 4', 'Transfer-Encoding: chunked'], 'HPE_INVALID_TRANSFER_ENCODING'],
    ['Transfer-Encoding then Content-Length', ['POST / HTTP/1.1', 'Host: a', 'Transfer-Encoding: chunked', 'Content-Length: 4'], 'HPE_INVALID_CONTENT_LENGTH'],
    ['two Content-Lengths, same value', ['POST / HTTP/1.1', 'Content-Length: 4', 'Content-Length: 4'], 'HPE_UNEXPECTED_CONTENT_LENGTH'],
    ['Content-Length list', ['POST / HTTP/1.1', 'Content-Length: 4, 4'], 'HPE_INVALID_CONTENT_LENGTH'],
    ['Content-Length with a sign', ['POST / HTTP/1.1', 'Content-Length: +4'], 'HPE_INVALID_CONTENT_LENGTH'],
    ['Content-Length of 16 digits', ['POST / HTTP/1.1', 'Content-Length: 1000000000000000'], 'HPE_INVALID_CONTENT_LENGTH'],
    ['Transfer-Encoding not chunked', ['POST / HTTP/1.1', 'Transfer-Encoding: gzip'], 'HPE_INVALID_TRANSFER_ENCODING'],
    ['Transfer-Encoding chunked, gzip', ['POST / HTTP/1.1', 'Transfer-Encoding: chunked, gzip'], 'HPE_INVALID_TRANSFER_ENCODING'],
    ['Transfer-Encoding twice', ['POST / HTTP/1.1', 'Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'], 'HPE_INVALID_TRANSFER_ENCODING'],
    ['header without a colon', ['GET / HTTP/1.1', 'Host a'], 'HPE_INVALID_HEADER_TOKEN'],
    ['space before the colon', ['GET / HTTP/1.1', 'Host : a'], 'HPE_INVALID_HEADER_TOKEN'],
    ['separator in a name', ['GET / HTTP/1.1', 'X(A): a'], 'HPE_INVALID_HEADER_TOKEN'],
    ['empty name', ['GET / HTTP/1.1', ': a'], 'HPE_INVALID_HEADER_TOKEN'],
    ['obs-fold', ['GET / HTTP/1.1', 'X-A: a', ' b'], 'HPE_INVALID_HEADER_TOKEN'],
    ['obs-fold of Transfer-Encoding', ['POST / HTTP/1.1', 'Transfer-Encoding:', ' chunked'], 'HPE_INVALID_HEADER_TOKEN'],
    ['NUL in a value', ['GET / HTTP/1.1', 'X-A: a\0b'], 'HPE_INVALID_HEADER_TOKEN'],
    ['bare CR in a value', ['GET / HTTP/1.1', 'X-A: a\rb'], 'HPE_LF_EXPECTED'],
    ['DEL in a value', ['GET / HTTP/1.1', 'X-A: a\x7fb'], 'HPE_INVALID_HEADER_TOKEN'],
    ['lower-case method', ['get / HTTP/1.1'], 'HPE_INVALID_METHOD'],
    ['unknown method', ['FOO / HTTP/1.1'], 'HPE_INVALID_METHOD'],
    ['target with a byte above 0x7e', ['GET /\xe9 HTTP/1.1'], 'HPE_INVALID_URL'],
    ['control byte in the target', ['GET /\x01 HTTP/1.1'], 'HPE_INVALID_URL'],
    ['unknown version', ['GET / HTTP/1.2'], 'HPE_INVALID_VERSION'],
    ['token after the version', ['GET / HTTP/1.1 x'], 'HPE_INVALID_VERSION'],
    ['HTTP/2 preface', ['PRI * HTTP/2.0'], 'HPE_PAUSED_H2_UPGRADE'],
  ];
  for (const [name, lines, code] of cases) t.is(codeOf(() => parseRequestHead(req(lines))), code, name);
});

test('the end of a head: CRLF lines only, found across chunks', (t) => {
  const buf = Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\nNEXT');
  t.is(headEnd(buf, 0).end, buf.length - 4);
  const part = headEnd(buf.subarray(0, 20), 0);
  t.is(part.end, -1);
  t.is(headEnd(buf, part.scanned).end, buf.length - 4, 'resumes where it stopped');
  t.is(codeOf(() => headEnd(Buffer.from('GET / HTTP/1.1\nHost: a\n\n'), 0)), 'HPE_CR_EXPECTED', 'LF-only lines are refused at once');
});

function decode(chunks: string[]): { body: string; rest: string; done: boolean } {
  const d = new ChunkedDecoder(1024);
  let body = '';
  let rest = '';
  for (const c of chunks) {
    const buf = Buffer.from(c, 'latin1');
    const used = d.feed(buf, 0, (b) => { body += b.toString('latin1'); });
    rest += buf.subarray(used).toString('latin1');
  }
  return { body, rest, done: d.done };
}

test('chunked bodies: sizes, extensions, trailers, split anywhere; what follows is left', (t) => {
  const wire = '4\r\nabcd\r\na;ext=1\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\nGET';
  t.deepEqual(decode([wire]), { body: 'abcd0123456789', rest: 'GET', done: true });
  t.deepEqual(decode([...wire]), { body: 'abcd0123456789', rest: 'GET', done: true }, 'one byte at a time');
  t.deepEqual(decode(['4\r\nab']), { body: 'ab', rest: '', done: false });
});

test('malformed chunked framing is refused', (t) => {
  const cases: Array<[string, string, string]> = [
    ['size not hex', 'zz\r\nabcd\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
    ['negative size', '-1\r\nabcd\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
    ['size overflow', 'ffffffffffffffffffff\r\nabcd\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
    ['size of 14 hex digits', '10000000000000\r\n', 'HPE_INVALID_CHUNK_SIZE'],
    ['empty size', '\r\nabcd\r\n', 'HPE_INVALID_CHUNK_SIZE'],
    ['control byte in an extension', '4;a\x01\r\nabcd\r\n0\r\n\r\n', 'HPE_INVALID_CHUNK_SIZE'],
    ['chunk longer than its size', '4\r\nabcdXX\r\n0\r\n\r\n', 'HPE_STRICT'],
    ['LF-only size line', '4\nabcd\r\n0\r\n\r\n', 'HPE_CR_EXPECTED'],
    ['trailer without a colon', '0\r\nbad trailer\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
  ];
  for (const [name, wire, code] of cases) t.is(codeOf(() => decode([wire])), code, name);
});

test('response heads: status line, framing, keep-alive hint; smuggling forms refused', (t) => {
  const head = parseResponseHead('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nKeep-Alive: timeout=5\r\nopc-request-id: R1\r\n\r\n');
  t.is(head.status, 200);
  t.is(head.reason, 'OK');
  t.is(head.contentLength, 5);
  t.is(head.keepAliveSeconds, 5);
  t.is(head.requestId, 'R1');
  t.is(parseResponseHead('HTTP/1.1 204 \r\n\r\n').status, 204);
  t.is(parseResponseHead('HTTP/1.0 200 OK\r\n\r\n').version, '1.0');
  t.is(codeOf(() => parseResponseHead('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n')), 'HPE_INVALID_TRANSFER_ENCODING');
  t.is(codeOf(() => parseResponseHead('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n')), 'HPE_UNEXPECTED_CONTENT_LENGTH');
  t.is(codeOf(() => parseResponseHead('HTTP/1.1 20 OK\r\n\r\n')), 'HPE_INVALID_STATUS');
  t.is(codeOf(() => parseResponseHead('ICY 200 OK\r\n\r\n')), 'HPE_INVALID_STATUS');
});
