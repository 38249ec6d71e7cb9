import type { Service } from '../common/service.js';
import { runServices } from '../common/service.js';
import { readFile } from 'node:fs/promises';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import type { ControlPlaneConfig } from './config/config.js';
import { splitHostPort } from './config/config.js';
import type { Logger } from './log.js';
import { ResourceStore } from './store/resource-store.js';
import { KeySet } from './issuer/key-set.js';
import { JwtSvidIssuer } from './issuer/issuer.js';
import { KeyMaintenanceService } from './issuer/service.js';
import { ensureAdminToken } from './http/admin-token.js';
import { HttpService } from './http/server.js';
import { FleetService, fleetSettings, loadFleetAuth, type FleetSettings } from './fleet/index.js';
import type { FleetNatsAuth } from './fleet/index.js';
import { adminFleetRoutes, publicFleetRoutes } from './fleet/index.js';
import { ExchangeResponderService } from './exchange/index.js';
import { StoreBindingOwnership } from './exchange/index.js';
import { ControlPlaneMetrics } from './http/metrics.js';
import { EXPOSITION_CONTENT_TYPE } from '../common/metrics/exposition.js';
import { explainNatsConnectError } from './nats-connect-error.js';

/** A long-running part: returns when the signal fires (or throws, which stops everything). */
export type { Service };

export interface RunningControlPlane {
  /** http://host:port the API listens on. */
  url: string;
  store: ResourceStore;
  issuer: JwtSvidIssuer;
  nc: NatsConnection;
  /** The fleet (enrolment, bundles, health), when a fleet NATS authority is configured. */
  fleet: FleetService | undefined;
  /** Resolves when every service has stopped and NATS is closed. */
  done: Promise<void>;
}

/** Settings not (yet) in the config file. Fleet: enabled by `auth` here or `<stateDir>/fleet/nats-auth.json`. */
export interface ControlPlaneExtras {
  fleet?: Partial<FleetSettings> & { auth?: FleetNatsAuth };
}

/**
 * The composition root: config → logging (given) → store → issuer → http (→ fleet), each long-running part a
 * service with run(signal). The first failure aborts the others; `signal` (SIGINT/SIGTERM) stops all.
 */
export async function startControlPlane(config: ControlPlaneConfig, log: Logger, signal: AbortSignal, extras: ControlPlaneExtras = {}): Promise<RunningControlPlane> {
  const nc = await connect({
    servers: config.nats.url,
    name: 'sigil-controlplane',
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    ...(config.nats.credsFile ? { authenticator: credsAuthenticator(await readFile(config.nats.credsFile)) } : {}),
  }).catch((err: unknown) => { throw explainNatsConnectError(err, config.nats); });
  log.info({ nats: config.nats.url }, 'connected to NATS');
  let ready = false;
  try {
    const store = await ResourceStore.open(nc, config.nats.bucket);
    const keys = new KeySet(config.issuer.keyDir, {
      rotationPeriodSeconds: config.issuer.rotationPeriodSeconds,
      maxTokenTtlSeconds: config.issuer.maxTokenTtlSeconds,
      skewSeconds: config.issuer.skewSeconds,
    });
    await keys.maintain();
    const adminToken = await ensureAdminToken(config.adminTokenFile);
    const { host, port } = splitHostPort(config.http.listen);
    let fleet: FleetService | undefined;
    // Prometheus text on the (loopback) API port: per-state agent counts, the policy revision, refusals.
    const metrics = new ControlPlaneMetrics({ fleet: () => fleet?.status() });
    const onRefusedReply = (handler: string): void => metrics.refusedReply(handler);
    const http = new HttpService({
      host, port, store, adminToken, log: log.child({ part: 'http' }), ready: () => ready,
      hooks: { onApplied: (changes) => changes.filter((c) => c.action === 'created' || c.action === 'configured').forEach((c) => metrics.resourceApplied(c.kind)) },
    });
    const address = await http.listen();
    const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
    // The issuer URL defaults to the listen address, known only once listening (port 0).
    const issuer = new JwtSvidIssuer({ issuerUrl: config.issuer.url ?? url, keys, defaultTtlSeconds: config.issuer.defaultTtlSeconds });
    http.setIssuer(issuer);
    log.info({ address: url, issuer: issuer.issuerUrl, adminTokenFile: config.adminTokenFile }, 'listening');

    const fleetAuth = extras.fleet?.auth ?? await loadFleetAuth(config.stateDir);
    fleet = fleetAuth
      ? await FleetService.open(nc, config.nats.url, store, fleetSettings(config.stateDir, config.nats.url, fleetAuth, extras.fleet), log.child({ part: 'fleet' }), { onRefusedReply, onBundleResult: (applied) => metrics.bundleAck(applied) })
      : undefined;
    if (fleet) {
      http.mount('public', publicFleetRoutes(fleet));
      http.mount('admin', adminFleetRoutes(fleet));
    }
    http.mount('public', async (req, res, path) => {
      if (path !== '/metrics' || req.method !== 'GET') return false;
      res.writeHead(200, { 'content-type': EXPOSITION_CONTENT_TYPE }).end(await metrics.render());
      return true;
    });

    const services: Service[] = [
      new KeyMaintenanceService(keys, log.child({ part: 'issuer' }), Math.min(60_000, config.issuer.rotationPeriodSeconds * 100)),
      http,
      ...(fleet ? [fleet] : []),
      // Exchanges need to know which agent holds which binding: only with a fleet (enrolled agents).
      ...(fleet ? [new ExchangeResponderService(nc, {
        ownership: new StoreBindingOwnership(store, fleet),
        minter: issuer,
        log: log.child({ part: 'exchange' }),
        onRefusedReply,
        onExchange: (result) => metrics.exchange(result),
      })] : []),
    ];
    const done = runServices(services, signal, log).finally(async () => {
      ready = false;
      await nc.drain().catch(() => nc.close());
      log.info('stopped');
    }).then(() => undefined);
    ready = true;
    return { url, store, issuer, nc, fleet, done };
  } catch (err) {
    await nc.close();
    throw err;
  }
}
