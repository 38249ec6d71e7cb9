/**
 * The credential exchange between an agent and the control plane (NATS request/reply on
 * `subjects.exchange(agentId)`): the agent sends a binding id and its session public key, the control
 * plane answers with a session token bound to that key, or with a coded failure.
 *
 * Both ends decode what they receive with the functions below: a forged or malformed message becomes
 * an `ExchangeFailure` with a stable code, never an exception that escapes the handler.
 */
import { NAME_MAX_LENGTH, NAME_PATTERN } from './names.js';

/** Agent → control plane. */
export interface ExchangeRequest {
  /** The binding (WorkloadCredential name) to exchange for. */
  bindingId: string;
  /** Base64 of the DER SubjectPublicKeyInfo of the binding's RSA session key. */
  publicKey: string;
}

/** Control plane → agent, success. The token is useless without the private key, so it may cross NATS. */
export interface ExchangeSuccess {
  ok: true;
  /** The session token (for OCI: the UPST); the signer uses `ST$<token>` as keyId. */
  token: string;
  /** ISO 8601, from the token's own `exp`. */
  expiresAt: string;
  /** The source's region, for clients configured by file (the OCI config profile needs one). */
  region?: string;
}

/** Control plane → agent, failure. `message` says what to fix and never holds a secret or a token. */
export interface ExchangeFailure {
  ok: false;
  code: string;
  message: string;
}

export type ExchangeReply = ExchangeSuccess | ExchangeFailure;

/** Stable codes carried by `ExchangeFailure.code`. */
export const EXCHANGE_CODES = {
  /** The message is not a well-formed exchange request or reply. */
  BAD_MESSAGE: 'SIGIL_ERR_EXCHANGE_BAD_MESSAGE',
  /** The public key is not an RSA key of at least 2048 bits. */
  BAD_KEY: 'SIGIL_ERR_EXCHANGE_BAD_KEY',
  /** The requesting agent has no such binding (unknown, or another agent's). */
  NOT_OWNED: 'SIGIL_ERR_EXCHANGE_BINDING_NOT_OWNED',
  /** The JWT-SVID could not be minted. */
  MINT_FAILED: 'SIGIL_ERR_EXCHANGE_MINT_FAILED',
  /** The credential source refused the exchange (4xx: wrong client secret, untrusted subject, ...). */
  SOURCE_REJECTED: 'SIGIL_ERR_EXCHANGE_SOURCE_REJECTED',
  /** The credential source could not be reached or failed (5xx, network) after retries. */
  SOURCE_UNAVAILABLE: 'SIGIL_ERR_EXCHANGE_SOURCE_UNAVAILABLE',
  /** The credential source answered with something that is not a usable token. */
  SOURCE_BAD_RESPONSE: 'SIGIL_ERR_EXCHANGE_SOURCE_BAD_RESPONSE',
  /** The source's configuration is unusable (unreadable secret file, unknown kind, ...). */
  SOURCE_MISCONFIGURED: 'SIGIL_ERR_EXCHANGE_SOURCE_MISCONFIGURED',
  /** Anything else on the control plane's side. */
  INTERNAL: 'SIGIL_ERR_EXCHANGE_INTERNAL',
} as const;

/** Limits that keep a hostile message from costing more than a glance. */
export const EXCHANGE_LIMITS = {
  maxMessageBytes: 64 * 1024,
  maxPublicKeyChars: 4096,
  maxTokenChars: 32 * 1024,
  maxMessageChars: 1024,
} as const;

export type Decoded<T> = { ok: true; value: T } | ExchangeFailure;

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const CODE = /^SIGIL_ERR_[A-Z0-9_]+$/;
const REGION = /^[a-z0-9-]{1,64}$/;

function bad(message: string): ExchangeFailure {
  return { ok: false, code: EXCHANGE_CODES.BAD_MESSAGE, message };
}

type Parsed = { obj: Record<string, unknown> } | { failure: ExchangeFailure };

function parseObject(data: Uint8Array, what: string): Parsed {
  if (data.byteLength > EXCHANGE_LIMITS.maxMessageBytes) {
    return { failure: bad(`${what} is larger than ${EXCHANGE_LIMITS.maxMessageBytes} bytes`) };
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch {
    return { failure: bad(`${what} is not UTF-8 JSON`) };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { failure: bad(`${what} must be a JSON object`) };
  return { obj: value as Record<string, unknown> };
}

function unknownFields(obj: Record<string, unknown>, allowed: readonly string[]): string | undefined {
  const extra = Object.keys(obj).filter((k) => !allowed.includes(k));
  return extra.length === 0 ? undefined : `unknown field ${JSON.stringify(extra[0])} (allowed: ${allowed.join(', ')})`;
}

export function encodeExchangeMessage(message: ExchangeRequest | ExchangeReply): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(message));
}

/** Control plane side: what an agent sent. */
export function decodeExchangeRequest(data: Uint8Array): Decoded<ExchangeRequest> {
  const parsed = parseObject(data, 'exchange request');
  if ('failure' in parsed) return parsed.failure;
  const obj = parsed.obj;
  const extra = unknownFields(obj, ['bindingId', 'publicKey']);
  if (extra) return bad(`exchange request: ${extra}`);
  const { bindingId, publicKey } = obj;
  if (typeof bindingId !== 'string' || bindingId.length > NAME_MAX_LENGTH || !NAME_PATTERN.test(bindingId)) {
    return bad('exchange request: bindingId must be a resource name (lower-case letters, digits, "-" and ".")');
  }
  if (typeof publicKey !== 'string' || publicKey.length > EXCHANGE_LIMITS.maxPublicKeyChars || !BASE64.test(publicKey)) {
    return bad('exchange request: publicKey must be base64 of a DER SubjectPublicKeyInfo');
  }
  return { ok: true, value: { bindingId, publicKey } };
}

/** Agent side: what the control plane answered. A malformed reply becomes a BAD_MESSAGE failure. */
export function decodeExchangeReply(data: Uint8Array): ExchangeReply {
  const parsed = parseObject(data, 'exchange reply');
  if ('failure' in parsed) return parsed.failure;
  const obj = parsed.obj;
  if (obj.ok === false) {
    const { code, message } = obj;
    if (typeof code !== 'string' || !CODE.test(code) || typeof message !== 'string') {
      return bad('exchange reply: a failure needs a SIGIL_ERR_ code and a message');
    }
    return { ok: false, code, message: message.slice(0, EXCHANGE_LIMITS.maxMessageChars) };
  }
  if (obj.ok !== true) return bad('exchange reply: "ok" must be true or false');
  const extra = unknownFields(obj, ['ok', 'token', 'expiresAt', 'region']);
  if (extra) return bad(`exchange reply: ${extra}`);
  const { token, expiresAt, region } = obj;
  if (typeof token !== 'string' || token === '' || token.length > EXCHANGE_LIMITS.maxTokenChars || /\s/.test(token)) {
    return bad('exchange reply: token must be a non-empty string without whitespace');
  }
  if (typeof expiresAt !== 'string' || Number.isNaN(Date.parse(expiresAt))) {
    return bad('exchange reply: expiresAt must be an ISO 8601 time');
  }
  if (region !== undefined && (typeof region !== 'string' || !REGION.test(region))) {
    return bad('exchange reply: region must be a region id');
  }
  return region === undefined ? { ok: true, token, expiresAt } : { ok: true, token, expiresAt, region };
}
