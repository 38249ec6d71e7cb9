import type { Service } from '../common/service.js';
import { runServices } from '../common/service.js';
import { readFile } from 'node:fs/promises';
import { credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { connectCluster } from './nats-connection.js';
import type { ControlPlaneConfig } from './config/config.js';
import { splitHostPort } from './config/config.js';
import type { Logger } from './log.js';
import { ResourceStore } from './store/resource-store.js';
import { KeySet } from './issuer/key-set.js';
import { CONTROL_PLANE_BUCKET, KvKeySetStore } from './issuer/kv-key-store.js';
import { openBucket } from './store/bucket.js';
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
import { ACCESS_BUCKET, AccessControl } from './http/access-tokens.js';
import { accessRoutes } from './http/access-routes.js';
import { AuditStream } from './audit/index.js';
import { PrincipalBook } from './exchange/index.js';
import { consoleRoutes, SessionStore } from './console/index.js';
import { StoreHealth } from './store/store-health.js';
import { whenStoreAvailable } from './store/kv-errors.js';

/** `promise`'s value, or undefined when it takes longer than `ms` (its failure too is undefined). */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.catch(() => undefined),
    new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), ms); }),
  ]).finally(() => clearTimeout(timer));
}

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
  /** Who may call the admin API as which role (viewer tokens). */
  access: AccessControl;
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
  const nc = await connectCluster(config.nats, {
    name: 'sigil-controlplane', log, signal,
    ...(config.nats.credsFile ? { authenticator: credsAuthenticator(await readFile(config.nats.credsFile)) } : {}),
  }).catch((err: unknown) => { throw explainNatsConnectError(err, config.nats); });
  log.info({ servers: config.nats.servers, connectedTo: nc.getServer() }, 'connected to NATS');
  let ready = false;
  try {
    const buckets = { replicas: config.nats.replicas, log: log.child({ part: 'store' }) };
    const waiting = (err: Error): void => log.warn({ err: err.message }, 'waiting for the store (JetStream quorum) before starting');
    const store = await whenStoreAvailable(() => ResourceStore.open(nc, config.nats.bucket, buckets), signal, waiting);
    // The issuer's keys live in KV (shared by every replica, whatever their state dirs); an existing
    // key set in keyDir is imported at the first start.
    const shared = await whenStoreAvailable(() => openBucket(nc, CONTROL_PLANE_BUCKET, buckets), signal, waiting);
    const keys = new KeySet(config.issuer.keyDir, {
      rotationPeriodSeconds: config.issuer.rotationPeriodSeconds,
      maxTokenTtlSeconds: config.issuer.maxTokenTtlSeconds,
      skewSeconds: config.issuer.skewSeconds,
    }, Date.now, new KvKeySetStore(shared));
    await keys.maintain();
    const adminToken = await ensureAdminToken(config.adminTokenFile);
    const { host, port } = splitHostPort(config.http.listen);
    const access = new AccessControl(adminToken, await openBucket(nc, ACCESS_BUCKET, { replicas: config.nats.replicas, log: log.child({ part: 'store' }) }));
    const storeHealth = new StoreHealth(nc, store, log.child({ part: 'store' }));
    await storeHealth.check();
    let fleet: FleetService | undefined;
    // Prometheus text on the (loopback) API port: per-state agent counts, the policy revision, refusals.
    // Bounded: a scrape never waits on the store (the fleet view is in memory; this is the backstop).
    const metrics = new ControlPlaneMetrics({ fleet: () => (fleet ? withTimeout(fleet.status(), 2_000) : undefined) });
    const onRefusedReply = (handler: string): void => metrics.refusedReply(handler);
    const http = new HttpService({
      host, port, store, access, log: log.child({ part: 'http' }),
      ready: () => (ready ? storeHealth.readiness() : { ready: false, reason: 'starting' }),
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
      ? await whenStoreAvailable(() => FleetService.open(nc, config.nats, store, fleetSettings(config.stateDir, config.nats.servers, fleetAuth, { buckets, ...extras.fleet }), log.child({ part: 'fleet' }), { onRefusedReply, onBundleResult: (applied) => metrics.bundleAck(applied) }), signal, waiting)
      : undefined;
    // The audit trail agents ship, and the console that shows it with the fleet and the inventory.
    const audit = await AuditStream.open(nc, config.audit);
    const principals = new PrincipalBook();
    http.mount('public', consoleRoutes({ access, sessions: new SessionStore(config.console.sessionTtlSeconds), store, fleet, audit, principals }));
    http.mount('admin', accessRoutes(access));
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
      storeHealth,
      new KeyMaintenanceService(keys, log.child({ part: 'issuer' }), Math.min(60_000, config.issuer.rotationPeriodSeconds * 100)),
      http,
      ...(fleet ? [fleet] : []),
      // Exchanges need to know which agent holds which binding: only with a fleet (enrolled agents).
      ...(fleet ? [new ExchangeResponderService(nc, {
        ownership: new StoreBindingOwnership(store, fleet),
        minter: issuer,
        log: log.child({ part: 'exchange' }),
        onRefusedReply,
        onExchanged: principals.record,
        onExchange: (result) => metrics.exchange(result),
      })] : []),
    ];
    const done = runServices(services, signal, log).finally(async () => {
      ready = false;
      await nc.drain().catch(() => nc.close());
      log.info('stopped');
    }).then(() => undefined);
    ready = true;
    return { url, store, issuer, nc, fleet, access, done };
  } catch (err) {
    await nc.close();
    throw err;
  }
}
