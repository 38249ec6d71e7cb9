/**
 * Credential driver `oci`: OCI IAM's token exchange (identity domain, JWT → UPST).
 *
 *   POST <domainUrl>/oauth2/v1/token   (application/x-www-form-urlencoded, HTTP Basic client auth)
 *   grant_type=urn:ietf:params:oauth:grant-type:token-exchange
 *   requested_token_type=urn:oci:token-type:oci-upst
 *   subject_token=<JWT-SVID>  subject_token_type=jwt  public_key=<base64 DER SPKI>
 *   → 200 {"token": "<UPST>"}   or an OAuth error {"error", "error_description"}
 *
 * Network errors and 5xx are retried with backoff; 4xx are not (retrying a wrong secret only gets the
 * client locked out). The UPST's `exp` must lie in the future and its `jwk` claim must hold the key we
 * sent: OCI verifies every request signature with that claim, so a token without it signs nothing. Errors name the source and never contain the secret, the JWT or the UPST.
 */
import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { CredentialDriver, DriverRequest, DriverResult } from './ports.js';
import { ClientSecretFiles } from './client-secret.js';
import { ExchangeError, scrub } from './errors.js';
import { postForm, type FormResponse } from './https-form-post.js';
import { DEFAULT_RETRY, backoffDelay, type RetryPolicy } from './retry.js';
import { abortableDelay } from '../../common/abort.js';
import { readTokenExpiry } from './token-expiry.js';
import { EXCHANGE_CODES } from '../../protocol/exchange.js';

export const OCI_TOKEN_PATH = '/oauth2/v1/token';
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const UPST_TOKEN_TYPE = 'urn:oci:token-type:oci-upst';

export interface OciDriverOptions {
  retry?: RetryPolicy;
  /** Per attempt (default 5 s). */
  attemptTimeoutMs?: number;
  secrets?: ClientSecretFiles;
}

/** RFC 6749 2.3.1: client id and secret are form-encoded before they are joined and base64-encoded. */
function basicAuth(clientId: string, secret: string): string {
  const enc = (s: string): string => new URLSearchParams({ v: s }).toString().slice(2);
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(secret)}`).toString('base64')}`;
}

/** `invalid_client: Client authentication failed.` from an OAuth error body, or a short excerpt. */
function describeBody(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: unknown; error_description?: unknown };
    const parts = [parsed.error, parsed.error_description].filter((p): p is string => typeof p === 'string');
    if (parts.length > 0) return parts.join(': ');
  } catch {
    // not JSON: fall through to the excerpt
  }
  const text = body.replace(/\s+/g, ' ').trim();
  return text === '' ? 'empty body' : text.slice(0, 120);
}

function sameRsaKey(jwkClaim: unknown, publicKeyB64: string): boolean {
  try {
    const claimed = typeof jwkClaim === 'string' ? (JSON.parse(jwkClaim) as { n?: unknown; e?: unknown }) : undefined;
    const sent = createPublicKey({ key: Buffer.from(publicKeyB64, 'base64'), format: 'der', type: 'spki' }).export({ format: 'jwk' });
    return claimed !== undefined && claimed.n === sent.n && claimed.e === sent.e;
  } catch {
    return false;
  }
}

export class OciTokenExchangeDriver implements CredentialDriver {
  readonly #retry: RetryPolicy;
  readonly #attemptTimeoutMs: number;
  readonly #secrets: ClientSecretFiles;

  constructor(options: OciDriverOptions = {}) {
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.#attemptTimeoutMs = options.attemptTimeoutMs ?? 5000;
    this.#secrets = options.secrets ?? new ClientSecretFiles();
  }

  async exchange(request: DriverRequest): Promise<DriverResult> {
    const { source, sourceName } = request;
    const misconfigured = (why: string, cause?: unknown): ExchangeError =>
      new ExchangeError(EXCHANGE_CODES.SOURCE_MISCONFIGURED, `credential source "${sourceName}": ${why}`, cause === undefined ? {} : { cause });

    let url: URL;
    try {
      url = new URL(OCI_TOKEN_PATH, source.domainUrl.endsWith('/') ? source.domainUrl : `${source.domainUrl}/`);
    } catch (err) {
      throw misconfigured('domainUrl is not a URL', err);
    }
    if (url.protocol !== 'https:') throw misconfigured('domainUrl must be https');
    const secret = await this.#secrets.read(source.clientSecretFile, sourceName);
    let caPem: string | undefined;
    if (source.caFile !== undefined) {
      try {
        caPem = await readFile(source.caFile, 'utf8');
      } catch (err) {
        throw misconfigured(`caFile ${source.caFile} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, err);
      }
    }

    const form = new URLSearchParams({
      grant_type: TOKEN_EXCHANGE_GRANT,
      requested_token_type: UPST_TOKEN_TYPE,
      subject_token: request.subjectToken,
      subject_token_type: 'jwt',
      public_key: request.publicKey,
    });
    const hidden = [secret, request.subjectToken];
    const where = `credential source "${sourceName}" (${url.origin})`;

    let lastProblem = '';
    for (let attempt = 1; attempt <= this.#retry.attempts; attempt++) {
      if (attempt > 1) await abortableDelay(backoffDelay(this.#retry, attempt), request.signal);
      let response: FormResponse;
      try {
        response = await postForm({
          url,
          form,
          headers: { authorization: basicAuth(source.clientId, secret) },
          timeoutMs: this.#attemptTimeoutMs,
          ...(caPem === undefined ? {} : { caPem }),
          ...(request.signal === undefined ? {} : { signal: request.signal }),
        });
      } catch (err) {
        if (request.signal?.aborted) throw err;
        lastProblem = scrub((err as Error).message, hidden);
        continue;
      }
      if (response.status >= 500) {
        lastProblem = `HTTP ${response.status} ${scrub(describeBody(response.body), hidden)}`;
        continue;
      }
      if (response.status !== 200) {
        throw new ExchangeError(
          EXCHANGE_CODES.SOURCE_REJECTED,
          `${where} refused the token exchange: HTTP ${response.status} ${scrub(describeBody(response.body), hidden)}`,
        );
      }
      return this.#readToken(response.body, request.publicKey, where);
    }
    throw new ExchangeError(
      EXCHANGE_CODES.SOURCE_UNAVAILABLE,
      `${where} is unavailable after ${this.#retry.attempts} attempts: ${lastProblem}`,
    );
  }

  #readToken(body: string, publicKey: string, where: string): DriverResult {
    const badResponse = (why: string): ExchangeError =>
      new ExchangeError(EXCHANGE_CODES.SOURCE_BAD_RESPONSE, `${where} answered the token exchange with an unusable token: ${why}`);
    let token: unknown;
    try {
      token = (JSON.parse(body) as { token?: unknown }).token;
    } catch {
      throw badResponse('the body is not JSON');
    }
    if (typeof token !== 'string' || token === '') throw badResponse('no "token" string in the body');
    let claims;
    try {
      claims = readTokenExpiry(token);
    } catch (err) {
      throw badResponse((err as Error).message);
    }
    if (claims.payload['jwk'] === undefined) throw badResponse('it has no jwk claim, so OCI could not verify a request signed with it');
    if (!sameRsaKey(claims.payload['jwk'], publicKey)) throw badResponse('its jwk claim is not the session key that was sent');
    return { token, expiresAt: claims.expiresAt };
  }
}
