/**
 * Which client headers the signer passes on. Credentials and dates the client brought are dropped
 * (the signer sets its own), and so are hop-by-hop headers, which belong to one connection only.
 */

/** Never forwarded: the signer replaces or recomputes these, or they are per-connection. */
const DROPPED = new Set([
  'authorization', 'date', 'x-date', 'opc-obo-token', 'x-content-sha256', 'content-length', 'transfer-encoding',
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'upgrade', 'expect',
]);

/** Hop-by-hop response headers; Node frames the body to the client itself. */
const DROPPED_FROM_RESPONSE = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

/** Header names a `Connection:` header declares hop-by-hop. */
function connectionTokens(raw: readonly string[]): Set<string> {
  const tokens = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() !== 'connection') continue;
    for (const t of (raw[i + 1] ?? '').split(',')) tokens.add(t.trim().toLowerCase());
  }
  return tokens;
}

function filterRaw(raw: readonly string[], drop: (name: string) => boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    if (!drop(name.toLowerCase())) out.push(name, raw[i + 1] as string);
  }
  return out;
}

/** The client's headers minus everything the signer must not pass on (Host stays). */
export function forwardableRequestHeaders(raw: readonly string[]): string[] {
  const extra = connectionTokens(raw);
  extra.delete('host');
  return filterRaw(raw, (n) => DROPPED.has(n) || extra.has(n));
}

/** The upstream response headers minus hop-by-hop ones. */
export function forwardableResponseHeaders(raw: readonly string[]): string[] {
  const extra = connectionTokens(raw);
  return filterRaw(raw, (n) => DROPPED_FROM_RESPONSE.has(n) || extra.has(n));
}

/** How many times a header occurs; a signed header must occur at most once to mean one thing. */
export function occurrences(raw: readonly string[], name: string): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]?.toLowerCase() === name) n++;
  return n;
}
