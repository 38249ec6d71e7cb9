/**
 * OCI IAM identity-domain token exchange stand-in (JWT → UPST), for tests and the local demo.
 *
 *   const iam = await startIamStandIn({
 *     pki, clientId: 'sigil-cp', clientSecret: 's3cret',
 *     trust: { issuer: 'https://cp.example', audience: 'oci', jwksUrl: 'https://127.0.0.1:8443/jwks.json', jwksCaPem },
 *     principals: [{ pattern: /^spiffe:\/\/example\.org\//, principal: 'ocid1.user.oc1..app' }],
 *   });
 *   iam.url        // https://127.77.1.1:<port>   (cert also valid for iam.hostname)
 *   iam.tokenUrl   // <url>/oauth2/v1/token
 *   iam.publicKey  // KeyObject that signs every UPST: give it to startObjectStorageStandIn
 *   iam.setFailing('unavailable' | 'reset' | 'hang' | 'off')
 *   iam.setAnswerDelay(ms)  // every token answer held back ms (a slow IAM: refreshes take that long)
 *   iam.issued     // number of UPSTs issued;  iam.exchanges: ExchangeRecord[] (no tokens)
 *
 * With SIGIL_SECRETS_LEDGER=<file> set, every UPST issued is also appended to that file (see
 * test/secrets/ledger.ts), so a scan after the run can prove none leaked.
 *   await iam.close()
 *
 * POST /oauth2/v1/token, application/x-www-form-urlencoded, HTTP Basic client authentication;
 * grant_type=urn:ietf:params:oauth:grant-type:token-exchange, requested_token_type=urn:oci:token-type:oci-upst,
 * subject_token=<JWT> (ES256, verified against trust.jwksUrl: signature, exp, aud, iss),
 * subject_token_type=jwt, public_key=<base64 DER SPKI, RSA ≥ 2048 bits>. Answers {"token":"<UPST>"}
 * or an OAuth error {"error","error_description"}: 401 invalid_client, 400 invalid_request /
 * unsupported_grant_type / invalid_grant, 503 temporarily_unavailable (fail mode).
 */
import { generateKeyPairSync, createPublicKey, timingSafeEqual, createHash, type KeyObject } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRemoteJWKSet, customFetch, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { TestPki } from '../helpers/test-pki.js';
import { recordSecret } from '../secrets/ledger.js';
import { listenHttps, readBody } from './https-listener.js';
import { mintUpst } from './upst.js';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const UPST_TOKEN_TYPE = 'urn:oci:token-type:oci-upst';
export const MAX_UPST_LIFETIME_SECONDS = 3600;
const MAX_FORM_BYTES = 64 * 1024;

export interface IamTrust {
  /** Must equal the JWT's `iss`. */
  issuer: string;
  /** JWT `aud` must contain one of these. */
  audience: string | string[];
  /** The control plane's JWKS URL (http or https). */
  jwksUrl: string;
  /** CA that signs the JWKS server's certificate, when it is not publicly trusted. */
  jwksCaPem?: string;
  clockSkewSeconds?: number;
  /** Default ['ES256']. */
  algorithms?: string[];
}

/** First matching rule maps the JWT to a principal (user OCID). */
export interface PrincipalRule {
  /** Claim to test, default 'sub'. */
  claim?: string;
  equals?: string;
  pattern?: RegExp;
  principal: string;
}

export type IamFailMode = 'off' | 'unavailable' | 'reset' | 'hang';

export interface IamStandInOptions {
  pki: TestPki;
  /** Loopback address to listen on, default 127.77.1.1. */
  address?: string;
  port?: number;
  /** Extra DNS name in the certificate, default idcs-sigiltest.identity.oraclecloud.com. */
  hostname?: string;
  clientId: string;
  clientSecret: string;
  trust: IamTrust;
  principals: PrincipalRule[];
  tenant?: string;
  /** UPST lifetime, default and cap 3600 s. */
  tokenLifetimeSeconds?: number;
  /** Min time between JWKS refetches for an unknown kid, default 1000 ms. */
  jwksCooldownMs?: number;
}

export interface ExchangeRecord {
  time: Date;
  status: number;
  error?: string;
  description?: string;
  subject?: string;
  principal?: string;
  jti?: string;
  expiresAt?: Date;
  /** When the answer was sent (after any answer delay). */
  answeredAt?: Date;
}

export interface IamStandIn {
  readonly url: string;
  readonly tokenUrl: string;
  readonly hostname: string;
  readonly address: string;
  readonly port: number;
  readonly publicKey: KeyObject;
  readonly publicKeyPem: string;
  readonly kid: string;
  /** UPSTs issued so far. */
  readonly issued: number;
  /** Requests held open by hang mode right now. */
  readonly hanging: number;
  /** Times the JWKS was fetched (it is cached in between). */
  readonly jwksFetches: number;
  readonly exchanges: ExchangeRecord[];
  setFailing(mode: IamFailMode): void;
  setTrust(trust: IamTrust): void;
  setTokenLifetime(seconds: number): void;
  /** Holds every token-endpoint answer back this long (0: none). */
  setAnswerDelay(ms: number): void;
  close(): Promise<void>;
}

class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
  ) {
    super(description);
  }
}

function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a === b;
}

function decodeBasic(header: string | undefined): { id: string; secret: string } | undefined {
  const m = header ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  // RFC 6749 2.3.1 form-encodes both parts before base64; plain values decode to themselves.
  const unform = (s: string): string => {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' '));
    } catch {
      return s;
    }
  };
  return { id: unform(text.slice(0, colon)), secret: unform(text.slice(colon + 1)) };
}

function sessionKeyFrom(publicKeyParam: string | null): KeyObject {
  if (!publicKeyParam) throw new OAuthError(400, 'invalid_request', 'public_key is required');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(publicKeyParam)) {
    throw new OAuthError(400, 'invalid_request', 'public_key must be base64 of a DER SubjectPublicKeyInfo');
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(publicKeyParam, 'base64'), format: 'der', type: 'spki' });
  } catch {
    throw new OAuthError(400, 'invalid_request', 'public_key is not a DER SubjectPublicKeyInfo');
  }
  if (key.asymmetricKeyType !== 'rsa') throw new OAuthError(400, 'invalid_request', 'public_key must be an RSA key');
  if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    throw new OAuthError(400, 'invalid_request', 'public_key must be at least 2048 bits');
  }
  return key;
}

/** A fetch for jose that trusts an extra CA (global fetch cannot take one per request). */
function fetchTrusting(caPem: string | undefined, onFetch: () => void) {
  return async (url: string, init: { headers: Headers; signal: AbortSignal }): Promise<Response> => {
    onFetch();
    if (!url.startsWith('https:') || caPem === undefined) return fetch(url, { headers: init.headers, signal: init.signal, redirect: 'manual' });
    return new Promise<Response>((resolve, reject) => {
      const req = httpsRequest(url, { ca: caPem, signal: init.signal, headers: Object.fromEntries(init.headers) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 500 })));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  };
}

function ruleMatches(rule: PrincipalRule, payload: JWTPayload): boolean {
  const value = payload[rule.claim ?? 'sub'];
  if (typeof value !== 'string') return false;
  if (rule.equals !== undefined && value !== rule.equals) return false;
  if (rule.pattern !== undefined && !rule.pattern.test(value)) return false;
  return rule.equals !== undefined || rule.pattern !== undefined;
}

export async function startIamStandIn(opts: IamStandInOptions): Promise<IamStandIn> {
  const address = opts.address ?? '127.77.1.1';
  const hostname = opts.hostname ?? 'idcs-sigiltest.identity.oraclecloud.com';
  const tenant = opts.tenant ?? 'ocid1.tenancy.oc1..sigilteststandin';
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = createHash('sha256').update(publicKey.export({ format: 'der', type: 'spki' })).digest('base64url').slice(0, 16);

  let failMode: IamFailMode = 'off';
  if (opts.tokenLifetimeSeconds !== undefined && !(opts.tokenLifetimeSeconds >= 1)) throw new RangeError('tokenLifetimeSeconds must be at least 1');
  let lifetime = Math.min(opts.tokenLifetimeSeconds ?? MAX_UPST_LIFETIME_SECONDS, MAX_UPST_LIFETIME_SECONDS);
  let issued = 0;
  let jwksFetches = 0;
  const exchanges: ExchangeRecord[] = [];
  let answerDelayMs = 0;
  const hung = new Set<ServerResponse>();

  let trust = opts.trust;
  let jwks = makeJwks(trust);
  function makeJwks(t: IamTrust) {
    return createRemoteJWKSet(new URL(t.jwksUrl), {
      cooldownDuration: opts.jwksCooldownMs ?? 1000,
      [customFetch]: fetchTrusting(t.jwksCaPem, () => jwksFetches++),
    });
  }

  async function verifySubjectToken(token: string | null): Promise<JWTPayload> {
    if (!token) throw new OAuthError(400, 'invalid_request', 'subject_token is required');
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer: trust.issuer,
        audience: trust.audience,
        algorithms: trust.algorithms ?? ['ES256'],
        clockTolerance: trust.clockSkewSeconds ?? 30,
        requiredClaims: ['exp', 'sub'],
      });
      return payload;
    } catch (err) {
      const why =
        err instanceof joseErrors.JWTExpired ? 'subject_token is expired'
        : err instanceof joseErrors.JWTClaimValidationFailed ? `subject_token claim ${err.claim} is not accepted`
        : err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWSSignatureVerificationFailed
          ? 'subject_token signature is not valid for the trusted issuer'
        : err instanceof joseErrors.JOSEError ? `subject_token could not be verified (${err.code})`
        : 'subject_token could not be verified: the trusted JWKS is unreachable';
      throw new OAuthError(400, 'invalid_grant', why);
    }
  }

  async function exchange(req: IncomingMessage, record: ExchangeRecord): Promise<string> {
    if (req.method !== 'POST') throw new OAuthError(405, 'invalid_request', 'use POST');
    const contentType = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
    if (contentType !== 'application/x-www-form-urlencoded') {
      throw new OAuthError(400, 'invalid_request', 'content-type must be application/x-www-form-urlencoded');
    }
    const body = await readBody(req, MAX_FORM_BYTES);
    if (body === undefined) throw new OAuthError(413, 'invalid_request', 'request body too large');
    const client = decodeBasic(req.headers.authorization);
    if (!client || !safeEqual(client.id, opts.clientId) || !safeEqual(client.secret, opts.clientSecret)) {
      throw new OAuthError(401, 'invalid_client', 'Client authentication failed.');
    }
    const form = new URLSearchParams(body.toString('utf8'));
    if (form.get('grant_type') !== TOKEN_EXCHANGE_GRANT) {
      throw new OAuthError(400, 'unsupported_grant_type', `grant_type must be ${TOKEN_EXCHANGE_GRANT}`);
    }
    if (form.get('requested_token_type') !== UPST_TOKEN_TYPE) {
      throw new OAuthError(400, 'invalid_request', `requested_token_type must be ${UPST_TOKEN_TYPE}`);
    }
    if (form.get('subject_token_type') !== 'jwt') throw new OAuthError(400, 'invalid_request', 'subject_token_type must be jwt');
    const sessionPublicKey = sessionKeyFrom(form.get('public_key'));
    const payload = await verifySubjectToken(form.get('subject_token'));
    record.subject = payload.sub;
    const rule = opts.principals.find((r) => ruleMatches(r, payload));
    if (!rule) throw new OAuthError(400, 'invalid_grant', 'no user is mapped to the subject_token');
    const { token, claims } = await mintUpst({
      signingKey: privateKey,
      kid,
      principal: rule.principal,
      tenant,
      sourceSubject: payload.sub!,
      sessionPublicKey,
      lifetimeSeconds: lifetime,
    });
    record.principal = claims.sub;
    record.jti = claims.jti;
    record.expiresAt = new Date(claims.exp * 1000);
    return token;
  }

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
      ...headers,
    });
    res.end(text);
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    if (failMode === 'reset') {
      req.socket.destroy();
      return;
    }
    if (failMode === 'hang') {
      hung.add(res);
      res.once('close', () => hung.delete(res));
      return;
    }
    if (failMode === 'unavailable') {
      req.resume();
      send(res, 503, { error: 'temporarily_unavailable', error_description: 'The service is temporarily unavailable.' });
      return;
    }
    const path = (req.url ?? '').split('?', 1)[0];
    if (path !== '/oauth2/v1/token') {
      req.resume();
      send(res, 404, { error: 'not_found', error_description: `no such endpoint ${path}` });
      return;
    }
    const record: ExchangeRecord = { time: new Date(), status: 0 };
    exchanges.push(record);
    const delayed = <T>(value: T): Promise<T> => (answerDelayMs > 0 ? new Promise((r) => setTimeout(r, answerDelayMs, value)) : Promise.resolve(value));
    exchange(req, record).then(delayed, (err: unknown) => delayed(undefined).then(() => { throw err; })).then(
      (token) => {
        issued++;
        record.status = 200;
        recordSecret('upst', token); // only when SIGIL_SECRETS_LEDGER is set (test/secrets/scan.ts)
        record.answeredAt = new Date();
        send(res, 200, { token });
      },
      (err: unknown) => {
        const e = err instanceof OAuthError ? err : new OAuthError(500, 'server_error', 'internal error');
        record.status = e.status;
        record.error = e.error;
        record.description = e.description;
        record.answeredAt = new Date();
        req.resume();
        const extra: Record<string, string> = e.status === 401 ? { 'www-authenticate': 'Basic realm="oauth"' } : {};
        send(res, e.status, { error: e.error, error_description: e.description }, extra);
      },
    );
  }

  const cert = await opts.pki.issueServerCert([hostname, address]);
  const listener = await listenHttps({ address, port: opts.port, certPem: cert.certPem, keyPem: cert.keyPem, handler: handle });
  const url = `https://${address}:${listener.port}`;

  return {
    url,
    tokenUrl: `${url}/oauth2/v1/token`,
    hostname,
    address,
    port: listener.port,
    publicKey,
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    kid,
    get issued() {
      return issued;
    },
    get hanging() {
      return hung.size;
    },
    get jwksFetches() {
      return jwksFetches;
    },
    exchanges,
    setFailing(mode: IamFailMode) {
      failMode = mode;
      if (mode !== 'hang') for (const res of hung) res.socket?.destroy();
    },
    setTrust(next: IamTrust) {
      trust = next;
      jwks = makeJwks(next);
    },
    setAnswerDelay(ms: number) {
      answerDelayMs = Math.max(0, ms);
    },
    setTokenLifetime(seconds: number) {
      if (!(seconds >= 1)) throw new RangeError('token lifetime must be at least 1 s');
      lifetime = Math.min(seconds, MAX_UPST_LIFETIME_SECONDS);
    },
    close: () => listener.close(),
  };
}
