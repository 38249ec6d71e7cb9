/**
 * Asks the control plane to exchange a binding's session public key for a session token, over NATS
 * request/reply on `subjects.exchange(agentId)`. Only the public key is sent.
 */
import { NoRespondersError, RequestError, TimeoutError, type NatsConnection } from '@nats-io/transport-node';
import { AgentError } from '../errors.js';
import { CREDENTIAL_ERRORS } from './errors.js';
import { subjects } from '../../protocol/subjects.js';
import { decodeExchangeReply, encodeExchangeMessage } from '../../protocol/exchange.js';

export interface ExchangedToken {
  token: string;
  expiresAt: Date;
  region?: string;
}

/** Rejects with an AgentError whose code is the control plane's (SIGIL_ERR_EXCHANGE_*) or ours. */
export interface ExchangeClient {
  exchange(bindingId: string, publicKeyDerB64: string): Promise<ExchangedToken>;
}

export interface NatsExchangeClientOptions {
  /** How long to wait for the reply; the control plane retries its source within this (default 20 s). */
  timeoutMs?: number;
}

export class NatsExchangeClient implements ExchangeClient {
  readonly #subject: string;
  readonly #timeoutMs: number;

  constructor(private readonly nc: NatsConnection, agentId: string, options: NatsExchangeClientOptions = {}) {
    this.#subject = subjects.exchange(agentId);
    this.#timeoutMs = options.timeoutMs ?? 20_000;
  }

  async exchange(bindingId: string, publicKeyDerB64: string): Promise<ExchangedToken> {
    let data: Uint8Array;
    try {
      const msg = await this.nc.request(this.#subject, encodeExchangeMessage({ bindingId, publicKey: publicKeyDerB64 }), { timeout: this.#timeoutMs });
      data = msg.data;
    } catch (err) {
      throw new AgentError(CREDENTIAL_ERRORS.CONTROL_PLANE_UNREACHABLE, `control plane not reachable: ${describeNatsError(err, this.#timeoutMs)}`, { cause: err });
    }
    const reply = decodeExchangeReply(data);
    if (!reply.ok) throw new AgentError(reply.code, reply.message);
    const expiresAt = new Date(reply.expiresAt);
    if (expiresAt.getTime() <= Date.now()) {
      throw new AgentError(CREDENTIAL_ERRORS.UNAVAILABLE, `control plane returned a token that expired at ${reply.expiresAt}`);
    }
    return reply.region === undefined ? { token: reply.token, expiresAt } : { token: reply.token, expiresAt, region: reply.region };
  }
}

function describeNatsError(err: unknown, timeoutMs: number): string {
  if (err instanceof NoRespondersError || (err instanceof RequestError && err.isNoResponders())) return 'no control plane is answering exchange requests';
  if (err instanceof TimeoutError || (err instanceof RequestError && err.cause instanceof TimeoutError)) return `no answer within ${timeoutMs} ms`;
  return err instanceof Error ? err.message : String(err);
}
