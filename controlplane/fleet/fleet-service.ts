import type { Service } from '../../common/service.js';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../log.js';
import type { AgentInfo } from '../bindings/compute.js';
import { decodeBundleAck, decodeHeartbeat, type EnrollRequest, type EnrollResponse } from '../../protocol/fleet.js';
import { agentIdOfSubject, subjects } from '../../protocol/subjects.js';
import type { ResourceStore } from '../store/resource-store.js';
import { openBucket, type BucketOptions } from '../store/bucket.js';
import type { NatsTarget } from '../nats-connection.js';
import { parseServerList } from '../../common/nats/servers.js';
import { AccountUpdater } from './account-updates.js';
import { AgentRegistry, revocationsOf, type AgentRecord } from './agent-registry.js';
import { BundleSigningKey } from './bundle-signing-key.js';
import { BundleDistributor } from './distributor.js';
import { FleetMonitor, type ExpectedProgram } from './fleet-monitor.js';
import { DEFAULT_JOIN_TOKEN_TTL_SECONDS, JoinTokens, type CreatedJoinToken } from './join-tokens.js';
import { mintAgentUserJwt, type FleetNatsAuth } from './nats-auth.js';
import type { RefusedReplyListener } from './reply-guard.js';
import { fleetStatus, inventory, type FleetStatus, type InventoryItem } from './views.js';
import { onAbort } from '../../common/abort.js';

export const FLEET_BUCKET = 'sigil-fleet';
/** Where the control plane finds its fleet NATS authority (written by the setup helper), under stateDir. */
export const FLEET_AUTH_FILE = 'fleet/nats-auth.json';

export interface FleetSettings {
  auth: FleetNatsAuth;
  /** Private JWK of the bundle-signing key (created at first start, 0600). */
  bundleKeyFile: string;
  /** The NATS servers agents are told to use (default: auth.agentNatsServers, else the control plane's). */
  agentNatsServers: string[];
  /** PEM of the CA of the NATS servers' certificates, handed to agents with the servers (TLS clusters). */
  agentNatsCaPem?: string;
  bucket: string;
  /** How the fleet bucket is opened (replica count, log). */
  buckets?: BucketOptions;
  heartbeatIntervalMs: number;
  silentAfterIntervals: number;
  expectedPrograms?: ExpectedProgram[];
  /** `sigil inventory` flags identities unused this long as stale (default 7 days). */
  staleAfterSeconds: number;
  maxTokenTtlSeconds: number;
}

export interface FleetHooks {
  onRefusedReply?: RefusedReplyListener;
  /** An agent acked (applied) a bundle, or reported refusing one. */
  onBundleResult?: (applied: boolean) => void;
}

/** The servers init-nats recorded for agents (`agentNatsServers`, or the older one-string `agentNatsUrl`). */
function agentServersOf(auth: FleetNatsAuth): string[] | undefined {
  const listed = auth.agentNatsServers ?? auth.agentNatsUrl;
  if (listed === undefined) return undefined;
  const parsed = parseServerList(listed);
  return parsed.ok ? parsed.servers : undefined;
}

/** Reads `<stateDir>/fleet/nats-auth.json`; undefined when absent (fleet disabled). */
export async function loadFleetAuth(stateDir: string): Promise<FleetNatsAuth | undefined> {
  try {
    return JSON.parse(await readFile(join(stateDir, FLEET_AUTH_FILE), 'utf8')) as FleetNatsAuth;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export function fleetSettings(stateDir: string, natsServers: string[], auth: FleetNatsAuth, overrides: Partial<FleetSettings> = {}): FleetSettings {
  return {
    auth, bundleKeyFile: join(stateDir, 'fleet', 'bundle-signing.jwk'), agentNatsServers: agentServersOf(auth) ?? natsServers,
    bucket: FLEET_BUCKET, heartbeatIntervalMs: 5_000, silentAfterIntervals: 3, staleAfterSeconds: 7 * 86_400,
    maxTokenTtlSeconds: 24 * 3600, ...overrides,
  };
}

/**
 * The fleet: enrolment with one-time join tokens, per-agent NATS users, signed bundle distribution,
 * heartbeats and drift, revocation. A Service (run(signal)); the HTTP routes call its methods.
 */
export class FleetService implements Service {
  readonly name = 'fleet';
  private constructor(
    readonly settings: FleetSettings,
    readonly registry: AgentRegistry,
    readonly tokens: JoinTokens,
    readonly distributor: BundleDistributor,
    readonly monitor: FleetMonitor,
    private readonly updater: AccountUpdater,
    private readonly nc: NatsConnection,
    private readonly store: ResourceStore,
    private readonly key: BundleSigningKey,
    private readonly log: Logger,
    private readonly hooks: FleetHooks = {},
  ) {}

  static async open(nc: NatsConnection, nats: NatsTarget, store: ResourceStore, settings: FleetSettings, log: Logger, hooks: FleetHooks = {}): Promise<FleetService> {
    const kv = await openBucket(nc, settings.bucket, settings.buckets);
    const registry = new AgentRegistry(kv, nc, settings.bucket, log);
    await registry.view.loaded();
    const key = await BundleSigningKey.loadOrCreate(settings.bundleKeyFile);
    const distributor = new BundleDistributor({ nc, store, registry, key, log, ...(hooks.onRefusedReply ? { onRefusedReply: hooks.onRefusedReply } : {}) });
    const monitor = new FleetMonitor({
      heartbeatIntervalMs: settings.heartbeatIntervalMs, silentAfterIntervals: settings.silentAfterIntervals,
      ...(settings.expectedPrograms ? { expectedPrograms: settings.expectedPrograms } : {}),
    });
    const updater = await AccountUpdater.connect(settings.auth, nats, log);
    if (settings.agentNatsCaPem === undefined && nats.caFile !== undefined) settings = { ...settings, agentNatsCaPem: await readFile(nats.caFile, 'utf8') };
    return new FleetService(settings, registry, new JoinTokens(kv), distributor, monitor, updater, nc, store, key, log, hooks);
  }

  async run(signal: AbortSignal): Promise<void> {
    const { nc, log } = this;
    const listen = (subject: string, handle: (agentId: string, data: Uint8Array) => void) => nc.subscribe(subject, { callback: (err, msg) => {
      if (err) return log.error({ err, subject }, 'fleet subscription failed');
      const agentId = agentIdOfSubject(msg.subject);
      if (agentId !== undefined) handle(agentId, msg.data);
    } });
    // Not a queue group: every replica keeps the whole fleet's state.
    const acks = listen(subjects.bundleAck('*'), (agentId, data) => {
      const ack = decodeBundleAck(data);
      if (!ack.ok || !this.monitor.recordAck(agentId, ack.value)) log.warn({ agentId, reason: ack.ok ? 'agentId differs from subject' : ack.reason }, 'bundle ack refused');
      else this.hooks.onBundleResult?.(true);
    });
    const heartbeats = listen(subjects.heartbeat('*'), (agentId, data) => {
      const hb = decodeHeartbeat(data);
      if (!hb.ok || !this.monitor.recordHeartbeat(agentId, hb.value)) log.warn({ agentId, reason: hb.ok ? 'agentId differs from subject' : hb.reason }, 'heartbeat refused');
      // An agent reports each refusal once, in the next heartbeat after it (then drops it).
      else for (const _ of hb.value.refused) this.hooks.onBundleResult?.(false);
    });
    onAbort(signal, () => {
      void acks.drain().catch(() => undefined);
      void heartbeats.drain().catch(() => undefined);
    });
    try {
      await Promise.all([this.registry.run(signal), this.distributor.run(signal)]);
    } finally {
      await this.updater.close().catch(() => undefined);
    }
  }

  async createToken(ttlSeconds: number | undefined, labels: Record<string, string>): Promise<CreatedJoinToken> {
    const ttl = Math.min(ttlSeconds ?? DEFAULT_JOIN_TOKEN_TTL_SECONDS, this.settings.maxTokenTtlSeconds);
    const created = await this.tokens.create(ttl, labels);
    this.log.info({ expiresAt: created.expiresAt, labels }, 'join token created');
    return created;
  }

  /** Consumes the token (once), records the agent, mints its NATS user. */
  async enroll(request: EnrollRequest): Promise<EnrollResponse> {
    const labels = await this.tokens.consume(request.token);
    const agentId = `agent-${randomBytes(6).toString('hex')}`;
    const natsUserJwt = await mintAgentUserJwt(this.settings.auth, agentId, request.publicNkey);
    const record: AgentRecord = { id: agentId, hostname: request.hostname, labels, publicNkey: request.publicNkey, enrolledAt: new Date().toISOString() };
    await this.registry.add(record);
    this.log.info({ agentId, hostname: request.hostname, labels }, 'agent enrolled');
    const servers = this.settings.agentNatsServers;
    return {
      agentId, natsUserJwt, bundleSigningJwk: this.key.publicJwk, natsUrl: servers[0] as string, natsServers: servers,
      ...(this.settings.agentNatsCaPem ? { natsCaPem: this.settings.agentNatsCaPem } : {}),
    };
  }

  /**
   * Revokes an agent: marked revoked (no more bundles; exchange ownership checks see it), then the
   * SIGIL account is re-signed with every revoked agent's key and pushed, which disconnects it at once.
   */
  async revoke(agentId: string): Promise<AgentRecord> {
    const record = await this.registry.markRevoked(agentId, new Date());
    await this.updater.publishRevocations(revocationsOf(await this.registry.listStored()));
    this.log.info({ agentId }, 'agent revoked');
    return record;
  }

  /** The agent as the bindings computation sees it; undefined when unknown or revoked (for exchange ownership). */
  async agentInfo(agentId: string): Promise<AgentInfo | undefined> {
    const record = await this.registry.get(agentId);
    return record && !record.revokedAt ? { id: record.id, labels: record.labels } : undefined;
  }

  async status(waitRevision?: number): Promise<FleetStatus> {
    return fleetStatus(await this.registry.list(), this.distributor.revision, this.monitor, (id) => this.distributor.issuedTo(id), Date.now(), waitRevision);
  }

  async inventory(staleAfterSeconds = this.settings.staleAfterSeconds): Promise<InventoryItem[]> {
    return inventory(await this.store.snapshot(), await this.registry.list(), this.monitor, staleAfterSeconds, Date.now());
  }
}
