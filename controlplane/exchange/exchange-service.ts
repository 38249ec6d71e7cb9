/**
 * Handles one exchange request from one agent: decode, check the agent holds the binding, check the
 * session key, mint a JWT-SVID for the binding's SPIFFE ID, run the source's driver. Every outcome is
 * an ExchangeReply; nothing the agent sends can make it throw.
 *
 * Audience of the JWT-SVID: by default the source's `clientId`. The confidential application that
 * presents the JWT is the one party meant to accept it, and an OCI Identity Propagation Trust can
 * require exactly that (`clientClaimName: aud`, `clientClaimValues: [<clientId>]`); unlike the domain
 * URL it does not change when the identity domain is reached under another host name.
 */
import { createPublicKey } from 'node:crypto';
import type { Logger } from 'pino';
import type { BindingOwnership, CredentialDriver, SvidMinter } from './ports.js';
import type { CredentialSourceSpec } from '../resources/types.js';
import { ExchangeError } from './errors.js';
import { EXCHANGE_CODES, decodeExchangeRequest, type ExchangeFailure, type ExchangeReply } from '../../protocol/exchange.js';

export interface ExchangeServiceOptions {
  ownership: BindingOwnership;
  minter: SvidMinter;
  /** Drivers by CredentialSource kind, e.g. `{ oci: new OciTokenExchangeDriver() }`. */
  drivers: Record<string, CredentialDriver>;
  log?: Logger;
  /** Lifetime of the JWT-SVID minted for one exchange (default 120 s: it is used at once). */
  svidTtlSeconds?: number;
  audienceOf?: (source: CredentialSourceSpec) => string;
  /** Hears each successful exchange (the inventory's OCI principal); must not keep the token. */
  onExchanged?: ExchangedListener;
  /** Told how each exchange ended (metrics): ok, denied (the agent asked for what it may not have), failed. */
  onExchange?: (result: ExchangeOutcome) => void;
}

export type ExchangeOutcome = 'ok' | 'denied' | 'failed';

/** Refusals of the request itself (not of the credential source): the agent's side is wrong. */
const DENIED_CODES: ReadonlySet<string> = new Set([EXCHANGE_CODES.BAD_MESSAGE, EXCHANGE_CODES.BAD_KEY, EXCHANGE_CODES.NOT_OWNED]);

function outcomeOf(reply: ExchangeReply): ExchangeOutcome {
  return reply.ok ? 'ok' : DENIED_CODES.has(reply.code) ? 'denied' : 'failed';
}

/** `token` is the session token just issued: read its principal, never store it. */
export type ExchangedListener = (exchange: { agentId: string; bindingId: string; token: string }) => void;

const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 8192;

function failure(code: string, message: string): ExchangeFailure {
  return { ok: false, code, message };
}

/** Undefined when the key is fine, else what is wrong with it. */
function sessionKeyProblem(publicKeyB64: string): string | undefined {
  try {
    const key = createPublicKey({ key: Buffer.from(publicKeyB64, 'base64'), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'rsa') return `publicKey is a ${key.asymmetricKeyType} key, not RSA`;
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) return `publicKey has ${bits} bits, not ${MIN_RSA_BITS}..${MAX_RSA_BITS}`;
    return undefined;
  } catch {
    return 'publicKey is not a DER SubjectPublicKeyInfo';
  }
}

export class ExchangeService {
  readonly #options: ExchangeServiceOptions;
  readonly #audienceOf: (source: CredentialSourceSpec) => string;

  constructor(options: ExchangeServiceOptions) {
    this.#options = options;
    this.#audienceOf = options.audienceOf ?? ((source) => source.clientId);
  }

  /** The reply to `data` sent by `agentId` (taken from the subject, which NATS permissions vouch for). */
  async handle(agentId: string, data: Uint8Array, signal?: AbortSignal): Promise<ExchangeReply> {
    const started = Date.now();
    const decoded = decodeExchangeRequest(data);
    if (!decoded.ok) {
      this.#options.log?.warn({ agentId, code: decoded.code, reason: decoded.message }, 'malformed exchange request');
      this.#options.onExchange?.(outcomeOf(decoded));
      return decoded;
    }
    const { bindingId, publicKey } = decoded.value;
    const context = { agentId, bindingId };
    let reply: ExchangeReply;
    try {
      reply = await this.#exchange(agentId, bindingId, publicKey, signal);
    } catch (err) {
      reply = err instanceof ExchangeError
        ? failure(err.code, err.message)
        : failure(EXCHANGE_CODES.INTERNAL, `exchange for binding "${bindingId}" failed inside the control plane`);
      if (!(err instanceof ExchangeError)) this.#options.log?.error({ ...context, err }, 'exchange failed unexpectedly');
    }
    const ms = Date.now() - started;
    if (reply.ok) {
      this.#options.log?.info({ ...context, expiresAt: reply.expiresAt, ms }, 'exchanged session token');
      try {
        this.#options.onExchanged?.({ agentId, bindingId, token: reply.token });
      } catch {
        // A listener's failure is not the exchange's.
      }
    }
    else this.#options.log?.warn({ ...context, code: reply.code, reason: reply.message, ms }, 'exchange refused');
    this.#options.onExchange?.(outcomeOf(reply));
    return reply;
  }

  async #exchange(agentId: string, bindingId: string, publicKey: string, signal?: AbortSignal): Promise<ExchangeReply> {
    const owned = await this.#options.ownership.bindingFor(agentId, bindingId);
    if (owned === undefined) {
      // Same answer for "unknown" and "someone else's": an agent learns nothing about other agents.
      return failure(EXCHANGE_CODES.NOT_OWNED, `agent "${agentId}" holds no binding "${bindingId}"`);
    }
    const keyProblem = sessionKeyProblem(publicKey);
    if (keyProblem !== undefined) return failure(EXCHANGE_CODES.BAD_KEY, keyProblem);

    const { spec, source, sourceName } = owned;
    const driver = this.#options.drivers[source.kind];
    if (driver === undefined) {
      return failure(EXCHANGE_CODES.SOURCE_MISCONFIGURED, `credential source "${sourceName}" has kind "${source.kind}", which this control plane cannot run`);
    }
    let subjectToken: string;
    try {
      subjectToken = (await this.#options.minter.mint(spec.spiffeId, this.#audienceOf(source), this.#options.svidTtlSeconds ?? 120)).token;
    } catch (err) {
      this.#options.log?.error({ agentId, bindingId, err }, 'JWT-SVID mint failed');
      return failure(EXCHANGE_CODES.MINT_FAILED, `could not mint a JWT-SVID for ${spec.spiffeId}`);
    }
    const result = await driver.exchange({ sourceName, source, subjectToken, publicKey, ...(signal === undefined ? {} : { signal }) });
    return { ok: true, token: result.token, expiresAt: result.expiresAt.toISOString(), region: source.region };
  }
}
