/**
 * OCI's HTTP request signature (version 1, rsa-sha256), as a pure module: which headers a request
 * must sign, the signing string, and the Authorization header. No I/O, no clock; the caller supplies
 * every header value. Checked against test/fixtures/vectors/oci-signing.json and oci-common's signer.
 */
import crypto from 'node:crypto';

/** base64(sha256("")): what x-content-sha256 says for an empty body. */
export const EMPTY_BODY_SHA256 = '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=';

const REQUEST_TARGET = '(request-target)';
/** Methods whose body is covered by the signature (the SDKs treat PATCH like POST). */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
/** Bodies these requests carry are not signed: uploads too large to hash before sending. */
const BODY_EXCLUDED: ReadonlyArray<{ method: string; path: RegExp }> = [
  { method: 'PUT', path: /^\/n\/[^/]+\/b\/[^/]+\/o\/./ }, // Object Storage PutObject
  { method: 'PUT', path: /^\/n\/[^/]+\/b\/[^/]+\/u\/./ }, // Object Storage UploadPart
  { method: 'POST', path: /^\/streams\/[^/]+\/messages$/ }, // Streaming PutMessages
];

export interface SignatureInput {
  method: string;
  /** Path and query exactly as on the request line (no re-encoding, no re-ordering). */
  requestTarget: string;
  /** Header values by lower-case name; must hold every header named in `signedHeaders`. */
  headers: Readonly<Record<string, string>>;
  /** Header names to sign, in order; lower-cased in the signing string. */
  signedHeaders: readonly string[];
}

export interface SignedRequest {
  authorization: string;
  signingString: string;
}

/** The path part of a request target, without its query. */
function pathOf(requestTarget: string): string {
  const q = requestTarget.indexOf('?');
  return q === -1 ? requestTarget : requestTarget.slice(0, q);
}

/** True for the operations whose body OCI does not sign (PutObject, UploadPart, PutMessages). */
export function isBodyExcluded(method: string, requestTarget: string): boolean {
  const m = method.toUpperCase();
  const path = pathOf(requestTarget);
  return BODY_EXCLUDED.some((op) => op.method === m && op.path.test(path));
}

/** True when the request must sign x-content-sha256, content-type and content-length. */
export function signsBody(method: string, requestTarget: string): boolean {
  return BODY_METHODS.has(method.toUpperCase()) && !isBodyExcluded(method, requestTarget);
}

/**
 * The headers OCI requires signed for this request, in the order the TypeScript SDK uses:
 * `<date header> (request-target) host` plus `content-type content-length x-content-sha256`
 * when the body is signed.
 */
export function requiredSignedHeaders(
  method: string,
  requestTarget: string,
  dateHeader: 'x-date' | 'date' = 'x-date',
): string[] {
  const names = [dateHeader, REQUEST_TARGET, 'host'];
  if (signsBody(method, requestTarget)) names.push('content-type', 'content-length', 'x-content-sha256');
  return names;
}

/** base64(sha256(body)), the value of x-content-sha256. */
export function bodySha256(body: Uint8Array): string {
  return crypto.createHash('sha256').update(body).digest('base64');
}

/** The lines `name: value` for each signed header, joined by `\n`. */
export function signingString(input: SignatureInput): string {
  return input.signedHeaders
    .map((raw) => {
      const name = raw.toLowerCase();
      if (name === REQUEST_TARGET) return `${name}: ${input.method.toLowerCase()} ${input.requestTarget}`;
      const value = input.headers[name];
      if (value === undefined) throw new TypeError(`header '${name}' is to be signed but has no value`);
      return `${name}: ${value}`;
    })
    .join('\n');
}

/** The Authorization header value for a computed signature. */
export function authorizationHeader(keyId: string, signedHeaders: readonly string[], signatureB64: string): string {
  const headers = signedHeaders.map((h) => h.toLowerCase()).join(' ');
  return `Signature version="1",keyId="${keyId}",algorithm="rsa-sha256",headers="${headers}",signature="${signatureB64}"`;
}

/** RSASSA-PKCS1-v1_5 / SHA-256 over the UTF-8 signing string, base64. */
export function signString(text: string, privateKey: crypto.KeyObject): string {
  return crypto.sign('sha256', Buffer.from(text, 'utf8'), privateKey).toString('base64');
}

/** Signs a request: returns the Authorization header and the signing string it covers. */
export function signRequest(input: SignatureInput, keyId: string, privateKey: crypto.KeyObject): SignedRequest {
  const text = signingString(input);
  return { signingString: text, authorization: authorizationHeader(keyId, input.signedHeaders, signString(text, privateKey)) };
}
