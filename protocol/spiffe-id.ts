/**
 * SPIFFE ID syntax (SPIFFE-ID standard, section 2): `spiffe://<trust-domain>[/<segment>...]`, trust
 * domain of [a-z0-9.-_], segments of [A-Za-z0-9.-_] that are neither empty nor `.`/`..`, no query,
 * fragment, port or userinfo, at most 2048 bytes. Returns what is wrong, or undefined when valid.
 */
const SCHEME = 'spiffe://';
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;
export const SPIFFE_ID_MAX_BYTES = 2048;

export function spiffeIdProblem(id: string): string | undefined {
  if (Buffer.byteLength(id) > SPIFFE_ID_MAX_BYTES) return `longer than ${SPIFFE_ID_MAX_BYTES} bytes`;
  if (!id.startsWith(SCHEME)) return `must start with "${SCHEME}"`;
  if (id.includes('?')) return 'must not have a query';
  if (id.includes('#')) return 'must not have a fragment';
  const rest = id.slice(SCHEME.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  if (trustDomain === '') return 'trust domain is empty';
  if (trustDomain.includes('@')) return 'must not have userinfo';
  if (trustDomain.includes(':')) return 'must not have a port';
  if (!TRUST_DOMAIN.test(trustDomain)) {
    return `trust domain "${trustDomain}" may only hold lower-case letters, digits, ".", "-" and "_"`;
  }
  if (slash === -1) return undefined;
  const segments = rest.slice(slash + 1).split('/');
  for (const segment of segments) {
    if (segment === '') return 'path has an empty segment (double or trailing "/")';
    if (segment === '.' || segment === '..') return `path segment "${segment}" is not allowed`;
    if (!SEGMENT.test(segment)) return `path segment "${segment}" may only hold letters, digits, ".", "-" and "_"`;
  }
  return undefined;
}
