import { hostname } from 'node:os';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Service } from '../../common/service.js';
import { sleep } from '../../common/abort.js';
import type { Logger } from '../log.js';
import type { ResourceStore } from './resource-store.js';

export interface StoreReadiness {
  ready: boolean;
  /** Why not, when not ready. */
  reason?: string;
}

/**
 * Whether the store can commit, for /readyz: one probe write (ResourceStore.probe) every `intervalMs`, each
 * bounded by `timeoutMs` and never retried, so a lost JetStream quorum shows as not ready within
 * about a second or two instead of after the store's own 15 s of retries. The NATS connection's
 * state is followed too: disconnected means not ready at once.
 */
export class StoreHealth implements Service {
  readonly name = 'store-health';
  #state: StoreReadiness = { ready: false, reason: 'store not checked yet' };
  #connected = true;
  /** The probe key's name: per host, so restarts reuse it (replicas sharing a host share it too, harmlessly). */
  readonly #name = hostname().replace(/[^A-Za-z0-9_-]/g, '_') || 'host';

  constructor(
    private readonly nc: NatsConnection,
    private readonly store: ResourceStore,
    private readonly log: Logger,
    private readonly options: { intervalMs?: number; timeoutMs?: number } = {},
  ) {}

  readiness(): StoreReadiness {
    if (!this.#connected) return { ready: false, reason: 'not connected to any NATS server' };
    return this.#state;
  }

  /** One probe now (start-up, tests). */
  async check(): Promise<StoreReadiness> {
    const timeoutMs = this.options.timeoutMs ?? 2_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.store.probe(this.#name),
        new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs); }),
      ]);
      this.#set({ ready: true });
    } catch (err) {
      this.#set({ ready: false, reason: `store unavailable: ${(err as Error).message}` });
    } finally {
      clearTimeout(timer);
    }
    return this.readiness();
  }

  async run(signal: AbortSignal): Promise<void> {
    void (async () => {
      for await (const status of this.nc.status()) {
        if (status.type === 'disconnect') this.#connected = false;
        if (status.type === 'reconnect') this.#connected = true;
      }
    })().catch(() => undefined);
    while (!signal.aborted) {
      await this.check();
      await sleep(this.options.intervalMs ?? 1_000, signal);
    }
  }

  #set(next: StoreReadiness): void {
    if (next.ready !== this.#state.ready) {
      if (next.ready) this.log.info('store available again');
      else this.log.warn({ reason: next.reason }, 'store unavailable: /readyz answers 503');
    }
    this.#state = next;
  }
}
