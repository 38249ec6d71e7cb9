import type { NatsConnection } from '@nats-io/transport-node';
import { CREDENTIAL_ERRORS, CredentialError, NatsExchangeClient, type ExchangeClient, type ExchangedToken } from '../credentials/index.js';

/** How long an exchange waits for the first fleet connection before it fails with a reason. */
export const FIRST_CONNECT_WAIT_MS = 2_000;

/**
 * An ExchangeClient usable before NATS is connected: the agent starts serving from its last good
 * bundle at once. An exchange waits a short while for the fleet connection, then fails as
 * CONTROL_PLANE_UNREACHABLE, so the credential manager's backoff and its 503 reason cover the time
 * NATS is away (waiting for the connection without a bound would hold every request that needs a
 * first token until NATS came back).
 */
export class DeferredExchangeClient implements ExchangeClient {
  #client: NatsExchangeClient | undefined;
  readonly #ready: Promise<NatsExchangeClient>;

  constructor(connection: Promise<NatsConnection>, agentId: string, private readonly waitMs = FIRST_CONNECT_WAIT_MS) {
    this.#ready = connection.then((nc) => (this.#client = new NatsExchangeClient(nc, agentId)));
    this.#ready.catch(() => undefined);
  }

  async exchange(bindingId: string, publicKeyDerB64: string): Promise<ExchangedToken> {
    return (this.#client ?? (await this.#readyWithin())).exchange(bindingId, publicKeyDerB64);
  }

  async #readyWithin(): Promise<NatsExchangeClient> {
    let timer: NodeJS.Timeout | undefined;
    const unreachable = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CredentialError(CREDENTIAL_ERRORS.CONTROL_PLANE_UNREACHABLE,
        `not connected to the control plane (NATS) yet after ${this.waitMs} ms; retrying`)), this.waitMs);
    });
    return Promise.race([this.#ready, unreachable]).finally(() => clearTimeout(timer));
  }
}
