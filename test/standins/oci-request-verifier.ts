/**
 * Server-side check of OCI HTTP request signatures (version 1, rsa-sha256), written from
 * test/fixtures/vectors/oci-signing.json "serverRules" and the OCI facts it was written from, independently of agent/ code,
 * so that it catches bugs in the agent's signer instead of sharing them.
 *
 * It is the one strict verifier every signature check in the tests uses (the stand-ins, the signer's
 * unit-test upstream, the fuzz loop). Strict where a real service is, or where leniency would hide a
 * signer bug: dates only in RFC 7231 IMF-fixdate form, unknown or repeated Authorization parameters
 * refused, a signed header sent twice refused, Host must equal the TLS server name (SNI), and PUT/POST
 * must carry Content-Length (OCI answers 411 without it; chunked uploads are not accepted).
 *
 * Exported:
 *   parseSignatureAuthorization(value) → ParsedSignature            (throws SignatureRejected)
 *   isBodyExcludedOperation(method, target) → boolean
 *   parseImfFixdate(value) → epoch ms | undefined
 *   signedRequestOf(IncomingMessage) → SignedRequest                 (method, target, headers, raw headers, SNI)
 *   verifySignedHeaders(req, publicKey, { now?, acceptedHosts? }) → { keyId, signedHeaders, bodyHashRequired }   (throws)
 *   verifyBodyHash(req.headers, body)                                (throws)
 *   verifyOciRequest(req with body, publicKey, { now?, acceptedHosts? })   both of the above (throws)
 *
 * Every failure throws SignatureRejected with a `reason` for test diagnostics; servers answer it with
 * the generic 401 NotAuthenticated, as OCI does.
 */
import { createHash, verify as rsaVerify, type KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

export const CLOCK_SKEW_SECONDS = 300;
const EMPTY_BODY_SHA256 = '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=';
const BODY_SIGNING_METHODS = new Set(['POST', 'PUT', 'PATCH']);
const BODY_HEADERS = ['x-content-sha256', 'content-type', 'content-length'] as const;
/** Methods whose requests OCI refuses without a Content-Length (411), whether or not the body is signed. */
const LENGTH_REQUIRED_METHODS = new Set(['POST', 'PUT']);
/** The only parameters of a version 1 signature; anything else is refused, not ignored. */
const SIGNATURE_PARAMETERS = new Set(['version', 'keyId', 'algorithm', 'headers', 'signature']);
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const IMF_FIXDATE = /^(Sun|Mon|Tue|Wed|Thu|Fri|Sat), (\d{2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;

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
  /** Names and values as received, alternating (node's rawHeaders): a signed header must occur once. */
  rawHeaders: readonly string[];
  /** The TLS server name the client sent (undefined: none); must equal the Host header's name. */
  servername: string | undefined;
}

export interface VerifyOptions {
  /** Clock for the skew check, epoch ms. */
  now?: number;
  /** Host names (without port) the service answers to; when given, Host must be one of them. */
  acceptedHosts?: readonly string[];
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
    if (!SIGNATURE_PARAMETERS.has(name)) throw new SignatureRejected(`unknown signature parameter ${name}`);
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
  if (new Set(headers).size !== headers.length) throw new SignatureRejected('a header is listed twice in headers=""');
  return { version, keyId: need('keyId'), algorithm, headers, signature: Buffer.from(signatureB64, 'base64') };
}

function headerValue(req: SignedRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Epoch ms of an RFC 7231 IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), undefined for any other form. */
export function parseImfFixdate(value: string): number | undefined {
  const m = IMF_FIXDATE.exec(value);
  if (!m) return undefined;
  const [, , day, month, year, hour, minute, second] = m as unknown as string[];
  const at = Date.UTC(Number(year), MONTHS.indexOf(month!), Number(day), Number(hour), Number(minute), Number(second));
  const back = new Date(at);
  // Date.UTC rolls 31 Feb over into March; a real date reads back the same fields. The day name is
  // not checked against the date: Oracle's own published vector says Thu for a Sunday.
  if (back.getUTCDate() !== Number(day) || back.getUTCHours() !== Number(hour) || back.getUTCMinutes() !== Number(minute)
    || back.getUTCSeconds() !== Number(second)) return undefined;
  return at;
}

/** The parts of a received request the verifier looks at, including the TLS server name. */
export function signedRequestOf(req: IncomingMessage): SignedRequest {
  const servername = (req.socket as Partial<TLSSocket>).servername;
  return {
    method: req.method ?? 'GET',
    target: req.url ?? '/',
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    servername: typeof servername === 'string' && servername !== '' ? servername : undefined,
  };
}

function occurrences(raw: readonly string[], name: string): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]?.toLowerCase() === name) n++;
  return n;
}

/** Host must name the server the client opened TLS to (and, when given, one the service answers to). */
function checkHost(req: SignedRequest, acceptedHosts: readonly string[] | undefined): void {
  const host = headerValue(req, 'host');
  if (host === undefined || occurrences(req.rawHeaders, 'host') !== 1) throw new SignatureRejected('exactly one Host header is required');
  const name = host.trim().replace(/:\d+$/, '').toLowerCase();
  if (req.servername === undefined) throw new SignatureRejected('no TLS server name (SNI) was sent');
  if (name !== req.servername.toLowerCase()) {
    throw new SignatureRejected(`Host ${JSON.stringify(host)} does not match the TLS server name ${JSON.stringify(req.servername)}`);
  }
  if (acceptedHosts !== undefined && !acceptedHosts.some((h) => h.toLowerCase() === name)) {
    throw new SignatureRejected(`Host ${JSON.stringify(host)} is not this service`);
  }
}

/** PUT and POST need a Content-Length: OCI answers 411 to a chunked or length-less upload. */
function checkContentLength(req: SignedRequest, method: string): void {
  if (!LENGTH_REQUIRED_METHODS.has(method)) return;
  const length = headerValue(req, 'content-length');
  if (length === undefined || occurrences(req.rawHeaders, 'content-length') !== 1 || !/^\d+$/.test(length)) {
    throw new SignatureRejected(`${method} without exactly one decimal Content-Length`);
  }
  if (headerValue(req, 'transfer-encoding') !== undefined) throw new SignatureRejected(`${method} with Transfer-Encoding`);
}

function checkClock(dateValue: string, now: number): void {
  const at = parseImfFixdate(dateValue);
  if (at === undefined) throw new SignatureRejected(`date ${JSON.stringify(dateValue)} is not an RFC 7231 IMF-fixdate`);
  const skew = Math.abs(now - at) / 1000;
  if (skew > CLOCK_SKEW_SECONDS) throw new SignatureRejected(`clock skew ${Math.round(skew)} s exceeds ${CLOCK_SKEW_SECONDS} s`);
}

/**
 * Checks required headers, clock skew and the RSA signature over the signing string.
 * Does not look at the body: see verifyBodyHash.
 */
export function verifySignedHeaders(req: SignedRequest, publicKey: KeyObject, opts: VerifyOptions = {}): VerifiedHeaders {
  if (occurrences(req.rawHeaders, 'authorization') > 1) throw new SignatureRejected('more than one Authorization header');
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
  checkHost(req, opts.acceptedHosts);
  checkContentLength(req, method);

  const lines: string[] = [];
  for (const name of signed) {
    if (name === '(request-target)') {
      lines.push(`(request-target): ${method.toLowerCase()} ${req.target}`);
      continue;
    }
    const value = headerValue(req, name);
    if (value === undefined) throw new SignatureRejected(`signed header ${name} not present`);
    if (occurrences(req.rawHeaders, name) !== 1) throw new SignatureRejected(`signed header ${name} sent more than once`);
    lines.push(`${name}: ${value}`);
  }

  const dateValue = headerValue(req, dateHeader);
  if (dateValue === undefined) throw new SignatureRejected('no date or x-date header');
  if (occurrences(req.rawHeaders, dateHeader) !== 1) throw new SignatureRejected(`${dateHeader} sent more than once`);
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
  opts: VerifyOptions = {},
): VerifiedHeaders {
  const result = verifySignedHeaders(req, publicKey, opts);
  if (result.bodyHashRequired) verifyBodyHash(req.headers, req.body ?? Buffer.alloc(0));
  return result;
}
