/**
 * Server-side check of OCI HTTP request signatures (version 1, rsa-sha256), written from
 * ../shared/vectors/oci-signing.json "serverRules" and OCI-FACTS.md, independently of agent/ code,
 * so that it catches bugs in the agent's signer instead of sharing them.
 *
 * Exported:
 *   parseSignatureAuthorization(value) → ParsedSignature            (throws SignatureRejected)
 *   isBodyExcludedOperation(method, target) → boolean
 *   verifySignedHeaders(req, publicKey, { now? }) → { keyId, signedHeaders, bodyHashRequired }   (throws)
 *   verifyBodyHash(req.headers, body)                                (throws)
 *   verifyOciRequest(req with body, publicKey, { now? })             both of the above (throws)
 *
 * Every failure throws SignatureRejected with a `reason` for test diagnostics; servers answer it with
 * the generic 401 NotAuthenticated, as OCI does.
 */
import { createHash, verify as rsaVerify, type KeyObject } from 'node:crypto';

export const CLOCK_SKEW_SECONDS = 300;
const EMPTY_BODY_SHA256 = '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=';
const BODY_SIGNING_METHODS = new Set(['POST', 'PUT', 'PATCH']);
const BODY_HEADERS = ['x-content-sha256', 'content-type', 'content-length'] as const;

/** Object Storage PutObject / UploadPart and Streaming PutMessages: body not signed. */
const BODY_EXCLUDED: ReadonlyArray<{ method: string; path: RegExp }> = [
  { method: 'PUT', path: /^\/n\/[^/?]+\/b\/[^/?]+\/o\/[^?]+$/ },
  { method: 'PUT', path: /^\/n\/[^/?]+\/b\/[^/?]+\/u\/[^?]+$/ },
  { method: 'POST', path: /^(\/[^/?]+)?\/streams\/[^/?]+\/messages$/ },
];

export class SignatureRejected extends Error {
  override readonly name = 'SignatureRejected';
  readonly code = 'NotAuthenticated';
  constructor(readonly reason: string) {
    super(`request not authenticated: ${reason}`);
  }
}

export interface SignedRequest {
  method: string;
  /** Path and query exactly as on the request line. */
  target: string;
  /** Header names lower-case (as node:http gives them). */
  headers: Record<string, string | string[] | undefined>;
}

export interface ParsedSignature {
  version: string;
  keyId: string;
  algorithm: string;
  /** Lower-cased, in the order they were listed. */
  headers: string[];
  signature: Buffer;
}

export interface VerifiedHeaders {
  keyId: string;
  signedHeaders: string[];
  /** x-content-sha256 was required; the caller must run verifyBodyHash on the body. */
  bodyHashRequired: boolean;
}

export function isBodyExcludedOperation(method: string, target: string): boolean {
  const path = target.split('?', 1)[0] ?? '';
  const upper = method.toUpperCase();
  return BODY_EXCLUDED.some((op) => op.method === upper && op.path.test(path));
}

/** Parses `Signature k="v",k="v",...`: parameters as a set in any order, duplicates rejected. */
export function parseSignatureAuthorization(value: string | undefined): ParsedSignature {
  if (!value) throw new SignatureRejected('no authorization header');
  const match = /^Signature\s+(.*)$/s.exec(value.trim());
  if (!match) throw new SignatureRejected('authorization scheme is not Signature');
  const params = new Map<string, string>();
  const rest = match[1]!.trim();
  const paramPattern = /\s*([A-Za-z]+)\s*=\s*"([^"]*)"\s*(,|$)/y;
  let offset = 0;
  while (offset < rest.length) {
    paramPattern.lastIndex = offset;
    const m = paramPattern.exec(rest);
    if (!m) throw new SignatureRejected(`malformed signature parameters at offset ${offset}`);
    const name = m[1]!;
    if (params.has(name)) throw new SignatureRejected(`duplicate signature parameter ${name}`);
    params.set(name, m[2]!);
    offset = paramPattern.lastIndex;
  }
  const need = (name: string): string => {
    const v = params.get(name);
    if (v === undefined || v === '') throw new SignatureRejected(`signature parameter ${name} missing`);
    return v;
  };
  const version = need('version');
  if (version !== '1') throw new SignatureRejected(`unsupported signature version ${version}`);
  const algorithm = need('algorithm');
  if (algorithm !== 'rsa-sha256') throw new SignatureRejected(`unsupported algorithm ${algorithm}`);
  const signatureB64 = need('signature');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signatureB64)) throw new SignatureRejected('signature is not base64');
  const headers = need('headers')
    .split(' ')
    .filter((h) => h !== '')
    .map((h) => h.toLowerCase());
  return { version, keyId: need('keyId'), algorithm, headers, signature: Buffer.from(signatureB64, 'base64') };
}

function headerValue(req: SignedRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

function checkClock(dateValue: string, now: number): void {
  const at = Date.parse(dateValue);
  if (Number.isNaN(at)) throw new SignatureRejected(`unparseable date ${JSON.stringify(dateValue)}`);
  const skew = Math.abs(now - at) / 1000;
  if (skew > CLOCK_SKEW_SECONDS) throw new SignatureRejected(`clock skew ${Math.round(skew)} s exceeds ${CLOCK_SKEW_SECONDS} s`);
}

/**
 * Checks required headers, clock skew and the RSA signature over the signing string.
 * Does not look at the body: see verifyBodyHash.
 */
export function verifySignedHeaders(req: SignedRequest, publicKey: KeyObject, opts: { now?: number } = {}): VerifiedHeaders {
  const parsed = parseSignatureAuthorization(headerValue(req, 'authorization'));
  const signed = parsed.headers;
  const required = ['(request-target)', 'host'];
  // x-date wins over date when the request carries both.
  const dateHeader = headerValue(req, 'x-date') !== undefined ? 'x-date' : 'date';
  required.push(dateHeader);
  const method = req.method.toUpperCase();
  const bodyHashRequired = BODY_SIGNING_METHODS.has(method) && !isBodyExcludedOperation(method, req.target);
  if (bodyHashRequired) required.push(...BODY_HEADERS);
  for (const name of required) {
    if (!signed.includes(name)) throw new SignatureRejected(`required header ${name} not signed`);
  }

  const lines: string[] = [];
  for (const name of signed) {
    if (name === '(request-target)') {
      lines.push(`(request-target): ${method.toLowerCase()} ${req.target}`);
      continue;
    }
    const value = headerValue(req, name);
    if (value === undefined) throw new SignatureRejected(`signed header ${name} not present`);
    lines.push(`${name}: ${value}`);
  }

  const dateValue = headerValue(req, dateHeader);
  if (dateValue === undefined) throw new SignatureRejected('no date or x-date header');
  checkClock(dateValue, opts.now ?? Date.now());

  if (publicKey.asymmetricKeyType !== 'rsa') throw new SignatureRejected('verification key is not RSA');
  const ok = rsaVerify('sha256', Buffer.from(lines.join('\n'), 'utf8'), publicKey, parsed.signature);
  if (!ok) throw new SignatureRejected('signature does not verify');
  return { keyId: parsed.keyId, signedHeaders: signed, bodyHashRequired };
}

/** x-content-sha256 and content-length must describe the body actually received. */
export function verifyBodyHash(headers: SignedRequest['headers'], body: Buffer): void {
  const claimed = headers['x-content-sha256'];
  const actual = body.length === 0 ? EMPTY_BODY_SHA256 : createHash('sha256').update(body).digest('base64');
  if (claimed !== actual) throw new SignatureRejected('x-content-sha256 does not match the body');
  const length = headers['content-length'];
  if (length !== String(body.length)) throw new SignatureRejected('content-length does not match the body');
}

export function verifyOciRequest(
  req: SignedRequest & { body?: Buffer | null },
  publicKey: KeyObject,
  opts: { now?: number } = {},
): VerifiedHeaders {
  const result = verifySignedHeaders(req, publicKey, opts);
  if (result.bodyHashRequired) verifyBodyHash(req.headers, req.body ?? Buffer.alloc(0));
  return result;
}
