import { connect, type Authenticator, type NatsConnection } from '@nats-io/transport-node';
import { sleep } from '../common/abort.js';
import { CONTROLPLANE_CODES, ControlPlaneError } from './errors.js';
import type { Logger } from './log.js';

export interface NatsTarget {
  /** Every server of the cluster; any one reachable is enough. */
  servers: string[];
  /** CA of the servers' certificates (tls:// servers, or servers that require TLS). */
  caFile?: string;
}

/**
 * Connects to whichever of `target.servers` answers first, and keeps reconnecting to any of them for
 * ever afterwards. While none answers (a replica started during an outage) it logs once and retries
 * with backoff until `signal` fires — it does not exit. Authentication failures are not retried.
 */
export async function connectCluster(target: NatsTarget, options: { name: string; authenticator?: Authenticator; log: Logger; signal?: AbortSignal }): Promise<NatsConnection> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await connect({
        servers: target.servers,
        name: options.name,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        reconnectJitter: 250,
        // A dead server is noticed by pings within ~4 s even when its socket is not reset.
        pingInterval: 2_000,
        maxPingOut: 2,
        ...(target.caFile ? { tls: { caFile: target.caFile } } : {}),
        ...(options.authenticator ? { authenticator: options.authenticator } : {}),
      });
    } catch (err) {
      if (options.signal?.aborted) throw new ControlPlaneError(CONTROLPLANE_CODES.NATS_UNAVAILABLE, 'stopped before NATS was reachable', { cause: err });
      if (/authori[sz]ation|authentication|revoked|permission/i.test((err as Error).message)) throw err;
      if (attempt === 0) options.log.warn({ servers: target.servers, err: (err as Error).message }, 'no NATS server reachable yet; retrying');
      await sleep(Math.min(5_000, 200 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random() / 2), options.signal);
    }
  }
}
