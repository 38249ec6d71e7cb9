/**
 * Seeded mutations of a valid HTTP/1.1 request, for the signer fuzz loop. The same seed gives the same
 * cases, so a failure can be replayed with SIGIL_FUZZ_SEED.
 */

/** mulberry32: small, fast, good enough to pick mutations; never for anything secret. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const int = (rand: Rand, n: number): number => Math.floor(rand() * n);
const pick = <T>(rand: Rand, list: readonly T[]): T => list[int(rand, list.length)] as T;

const SPECIAL = ['\r', '\n', '\r\n', '\0', ' ', ':', ',', '\t', '\x7f', '%', '\xff', '"', ';', '\r\n\r\n'];
const INJECTED = [
  'Transfer-Encoding: chunked', 'Content-Length: 0', 'Content-Length: 5', 'Content-Length: 99999', 'Host: evil.example',
  'Expect: 100-continue', 'Connection: upgrade', 'Upgrade: h2c', 'X-Date: yesterday', 'Authorization: Signature keyId="x"',
  'Content-Type: text/plain', 'opc-obo-token: stolen', 'Transfer-Encoding: chunked, identity', 'Connection: close, host',
];

/** Splits a request into its head lines and body (on the first blank line). */
function split(req: string): { lines: string[]; body: string } {
  const at = req.indexOf('\r\n\r\n');
  if (at < 0) return { lines: req.split('\r\n'), body: '' };
  return { lines: req.slice(0, at).split('\r\n'), body: req.slice(at + 4) };
}

const join = (lines: string[], body: string): string => `${lines.join('\r\n')}\r\n\r\n${body}`;

/** One mutation each; `name` goes into the histogram of what was tried. */
export const MUTATIONS: Array<{ name: string; apply(req: string, rand: Rand, bases: readonly string[]): string }> = [
  { name: 'byte flip', apply: (req, rand) => {
    const at = int(rand, req.length);
    return req.slice(0, at) + String.fromCharCode(int(rand, 256)) + req.slice(at + 1);
  } },
  { name: 'special byte inserted', apply: (req, rand) => {
    const at = int(rand, req.length);
    return req.slice(0, at) + pick(rand, SPECIAL) + req.slice(at);
  } },
  { name: 'header duplicated', apply: (req, rand) => {
    const { lines, body } = split(req);
    if (lines.length < 2) return req;
    const i = 1 + int(rand, lines.length - 1);
    const copy = rand() < 0.5 ? (lines[i] as string) : `${lines[i]}x`;
    lines.splice(i + int(rand, lines.length - i), 0, copy);
    return join(lines, body);
  } },
  { name: 'header removed', apply: (req, rand) => {
    const { lines, body } = split(req);
    if (lines.length < 2) return req;
    lines.splice(1 + int(rand, lines.length - 1), 1);
    return join(lines, body);
  } },
  { name: 'header injected', apply: (req, rand) => {
    const { lines, body } = split(req);
    lines.splice(1 + int(rand, lines.length), 0, pick(rand, INJECTED));
    return join(lines, body);
  } },
  { name: 'truncated', apply: (req, rand) => req.slice(0, int(rand, req.length)) },
  { name: 'huge value', apply: (req, rand) => {
    const { lines, body } = split(req);
    const i = int(rand, lines.length);
    lines[i] = `${lines[i]}${'A'.repeat(1000 + int(rand, 20_000))}`;
    return join(lines, body);
  } },
  { name: 'header name case', apply: (req, rand) => {
    const { lines, body } = split(req);
    const i = 1 + int(rand, Math.max(1, lines.length - 1));
    const line = lines[i] ?? '';
    const colon = line.indexOf(':');
    lines[i] = (rand() < 0.5 ? line.slice(0, colon).toUpperCase() : line.slice(0, colon).toLowerCase()) + line.slice(colon);
    return join(lines, body);
  } },
  { name: 'pipelined second request', apply: (req, rand, bases) => req + pick(rand, bases) },
  { name: 'LF line endings', apply: (req) => req.replace(/\r\n/g, '\n') },
  { name: 'method or target replaced', apply: (req, rand) => {
    const { lines, body } = split(req);
    const parts = (lines[0] ?? '').split(' ');
    if (rand() < 0.5) parts[0] = pick(rand, ['GET', 'PUT', 'POST', 'DELETE', 'HEAD', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT', 'PRI', 'M-SEARCH', 'PROPFIND']);
    else parts[1] = pick(rand, ['*', '/', '//x', '/n/../../etc', 'https://evil.example/', '/n/%00', `/${'a'.repeat(5000)}`, '/n/?a=b&a=c', 'x']);
    lines[0] = parts.join(' ');
    return join(lines, body);
  } },
];

/** A case: a base request with 1 to 3 mutations; returns the bytes and the mutation names. */
export function mutate(rand: Rand, bases: readonly string[]): { bytes: string; applied: string[] } {
  let bytes = pick(rand, bases);
  const applied: string[] = [];
  const n = 1 + int(rand, 3);
  for (let i = 0; i < n; i++) {
    const m = pick(rand, MUTATIONS);
    bytes = m.apply(bytes, rand, bases);
    applied.push(m.name);
  }
  return { bytes, applied };
}
