import type { NatsConnection } from '@nats-io/transport-node';
import { NatsExchangeClient, type ExchangeClient, type ExchangedToken } from '../credentials/index.js';

/**
 * An ExchangeClient usable before NATS is connected: the agent starts serving from its last good
 * bundle at once, and exchanges wait for the fleet connection (the credential manager's backoff and
 * its 503 reason cover the time NATS is away).
 */
export class DeferredExchangeClient implements ExchangeClient {
  #client: NatsExchangeClient | undefined;
  readonly #ready: Promise<NatsExchangeClient>;

  constructor(connection: Promise<NatsConnection>, agentId: string) {
    this.#ready = connection.then((nc) => (this.#client = new NatsExchangeClient(nc, agentId)));
    this.#ready.catch(() => undefined);
  }

  async exchange(bindingId: string, publicKeyDerB64: string): Promise<ExchangedToken> {
    return (this.#client ?? (await this.#ready)).exchange(bindingId, publicKeyDerB64);
  }
}
