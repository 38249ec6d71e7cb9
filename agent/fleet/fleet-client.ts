import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { release } from 'node:os';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { AgentBundle } from '../../protocol/bundle.js';
import type { AttachRepairReport, BindingCredentialState, BundleAck, IdentityProtection, BundleGetReply, Heartbeat, ProgramInfo, RefusedBundle, ShippedProgram, WorkloadUsage } from '../../protocol/fleet.js';
import { subjects } from '../../protocol/subjects.js';
import { BundleVerifier } from './bundle-verifier.js';
import { loadEnrollment, natsServersFor, type Enrollment } from './enrollment.js';
import { AGENT_FLEET_CODES, BundleRefused } from './errors.js';
import { writeFileAtomic } from './state-files.js';

export const BUNDLE_FILE = 'bundle.json';

export interface FleetClientOptions {
  stateDir: string;
  /** Applies a verified bundle to the running parts (attestation, destinations, credentials). */
  apply(bundle: AgentBundle): Promise<void>;
  /** What the kernel reports attached on the agent's cgroup (steering's query()). */
  programs(): ProgramInfo[] | Promise<ProgramInfo[]>;
  /** The cgroup programs this build ships (the set `programs()` should match), from the loaded object. */
  shippedPrograms?(): ShippedProgram[];
  /** The identity-protection mode in force, reported with every heartbeat. */
  protection?(): IdentityProtection;
  /** Attachment repairs since the last call (drained; kept here until a heartbeat carrying them is published). */
  repairs?(): AttachRepairReport[];
  counters?(): Record<string, number>;
  workloads?(): WorkloadUsage[];
  /** Each binding's credential state, so the fleet shows a binding that cannot get a token as degraded. */
  bindings?(): BindingCredentialState[];
  version: string;
  log: Logger;
  /** Mean heartbeat interval, jittered ±20% (default 5 s). */
  heartbeatIntervalMs?: number;
  /** Overrides the NATS servers from the enrolment (the agent's config sets them; tests, NAT). */
  natsServers?: string[];
  /** Called when NATS says this agent's credentials were revoked; bindings are already withdrawn. */
  onRevoked?(): void;
}

interface PersistedBundle {
  jws: string;
  appliedAt: string;
}

/**
 * The agent's side of the fleet. At start it applies the last good bundle from disk before NATS is
 * even tried (so a host keeps serving while the control plane or NATS is down), then connects with
 * its own creds, asks for its bundle on every (re)connect, takes pushes, acks applied revisions and
 * heartbeats. A bundle is applied only if it verifies with the pinned key, names this agent and does
 * not go back in revision; anything else is refused, logged and reported in the next heartbeat.
 *
 * Lifecycle: `FleetClient.start()` → running; `stop()` stops heartbeats and drains NATS.
 */
export class FleetClient {
  #revision = 0;
  #appliedAt: string | undefined;
  #refused: RefusedBundle[] = [];
  /** Attachment repairs not yet carried by a published heartbeat. */
  #repairs: AttachRepairReport[] = [];
  #queue: Promise<void> = Promise.resolve();
  #nc: NatsConnection | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #wake: (() => void) | undefined;
  readonly connected: Promise<void>;

  private constructor(
    private readonly options: FleetClientOptions,
    readonly enrollment: Enrollment,
    private readonly creds: Uint8Array,
    private readonly verifier: BundleVerifier,
  ) {
    this.connected = this.#connect();
    this.connected.catch((err: unknown) => options.log.error({ err }, 'fleet connection failed'));
  }

  static async start(options: FleetClientOptions): Promise<FleetClient> {
    const { enrollment, creds } = await loadEnrollment(options.stateDir);
    const verifier = await BundleVerifier.create(enrollment.bundleSigningJwk, enrollment.agentId);
    const restored = await restoreBundle(options, verifier);
    const client = new FleetClient(options, enrollment, creds, verifier);
    if (restored) {
      client.#revision = restored.bundle.revision;
      client.#appliedAt = restored.appliedAt;
    }
    return client;
  }

  /** The NATS connection once `connected` has resolved (the credential exchange shares it). */
  get connection(): NatsConnection | undefined {
    return this.#nc;
  }

  get agentId(): string {
    return this.enrollment.agentId;
  }

  /** The revision of the bundle this agent runs (0: none yet). */
  get revision(): number {
    return this.#revision;
  }

  /** Offers a signed bundle (a push, a get reply): verified, applied, persisted, acked; or refused. */
  offer(jws: string): Promise<void> {
    const task = this.#queue.then(() => this.#offer(jws));
    this.#queue = task.catch(() => undefined);
    return task;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#wake?.();
    await this.connected.catch(() => undefined);
    await this.#nc?.drain().catch(() => this.#nc?.close());
  }

  async #offer(jws: string): Promise<void> {
    const { log, apply } = this.options;
    try {
      const bundle = await this.verifier.verify(jws);
      if (bundle.revision < this.#revision) {
        throw new BundleRefused(AGENT_FLEET_CODES.ROLLBACK, `bundle revision ${bundle.revision} is older than the running ${this.#revision}`, bundle.revision);
      }
      if (bundle.revision > this.#revision || this.#appliedAt === undefined) {
        try {
          await apply(bundle);
        } catch (err) {
          throw new BundleRefused(AGENT_FLEET_CODES.APPLY_FAILED, `applying revision ${bundle.revision} failed: ${(err as Error).message}`, bundle.revision);
        }
        this.#revision = bundle.revision;
        this.#appliedAt = new Date().toISOString();
        await this.#persist(jws, bundle.revision);
        log.info({ revision: bundle.revision, bindings: bundle.bindings.length }, 'bundle applied');
      }
      // Equal revision: nothing to do, but ack again so a restarted control plane learns where we are.
      this.#publish(subjects.bundleAck(this.agentId), { agentId: this.agentId, revision: this.#revision, appliedAt: this.#appliedAt as string } satisfies BundleAck);
    } catch (err) {
      if (!(err instanceof BundleRefused)) throw err;
      log.warn({ code: err.code, reason: err.message, revision: err.revision }, 'bundle refused');
      this.#refused.push({ at: new Date().toISOString(), code: err.code, reason: err.message, ...(err.revision === undefined ? {} : { revision: err.revision }) });
      if (this.#refused.length > 16) this.#refused.shift();
      throw err;
    }
  }

  /**
   * Saves the running bundle as the last good one. A failure (disk full, read-only) is logged loudly
   * but does not undo the apply: the bundle runs, and the file on disk stays the previous good one
   * (the write is atomic), which a restart loads before NATS brings this revision again.
   */
  async #persist(jws: string, revision: number): Promise<void> {
    const file = join(this.options.stateDir, BUNDLE_FILE);
    try {
      await writeFileAtomic(file, JSON.stringify({ jws, appliedAt: this.#appliedAt ?? new Date().toISOString() } satisfies PersistedBundle));
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      this.options.log.error({ code: AGENT_FLEET_CODES.PERSIST_FAILED, errno: e.code, file, revision, reason: e.message },
        `bundle revision ${revision} is applied but could not be saved to ${file} (${e.code ?? e.message}); a restart would load the previous saved bundle`);
    }
  }

  async #connect(): Promise<void> {
    const { log } = this.options;
    let nc: NatsConnection | undefined;
    // Our own first-connect loop (not waitOnFirstConnect) so stop() can end it while NATS is away.
    for (let attempt = 0; !nc; attempt++) {
      if (this.#stopped) return;
      try {
        nc = await connect({
          servers: natsServersFor(this.enrollment, this.options.natsServers),
          ...(this.enrollment.natsCaFile ? { tls: { caFile: this.enrollment.natsCaFile } } : {}),
          pingInterval: 5_000,
          maxPingOut: 2,
          name: `sigil-agent-${this.agentId}`,
          authenticator: credsAuthenticator(this.creds),
          inboxPrefix: subjects.inboxPrefix(this.agentId),
          maxReconnectAttempts: -1,
          reconnectTimeWait: 1_000,
          reconnectJitter: 1_000,
        });
      } catch (err) {
        if (/revoked/i.test((err as Error).message)) return this.#revoked();
        if (attempt === 0) log.warn({ err: (err as Error).message }, 'NATS unreachable; serving the last good bundle and retrying');
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          this.#timer = setTimeout(resolve, Math.min(10_000, 500 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random()));
        });
      }
    }
    this.#nc = nc;
    if (this.#stopped) {
      await nc.close();
      return;
    }
    nc.subscribe(subjects.bundlePush(this.agentId), { callback: (err, msg) => {
      if (!err) this.offer(msg.string()).catch(() => undefined);
    } });
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === 'reconnect') void this.#fetchBundle();
        if (status.type === 'error' && /revoked/i.test(status.error.message)) await this.#revoked();
      }
    })();
    await this.#fetchBundle();
    this.#scheduleHeartbeat(0.2);
    log.info({ agentId: this.agentId }, 'connected to the fleet');
  }

  /** Asks the control plane for the current bundle (on every connect and reconnect). */
  async #fetchBundle(): Promise<void> {
    const nc = this.#nc;
    if (!nc || nc.isClosed()) return;
    try {
      const reply = (await nc.request(subjects.bundleGet(this.agentId), '', { timeout: 5_000 })).json<BundleGetReply>();
      if (reply.ok) await this.offer(reply.jws).catch(() => undefined);
      else this.options.log.warn({ code: reply.code, reason: reply.message }, 'no bundle from the control plane');
    } catch (err) {
      this.options.log.warn({ err: (err as Error).message }, 'bundle request failed; keeping the current bundle');
    }
  }

  #scheduleHeartbeat(factor = 1): void {
    if (this.#stopped) return;
    const mean = this.options.heartbeatIntervalMs ?? 5_000;
    this.#timer = setTimeout(() => {
      void this.#heartbeat().finally(() => this.#scheduleHeartbeat());
    }, mean * factor * (0.8 + Math.random() * 0.4));
  }

  async #heartbeat(): Promise<void> {
    try {
      const refused = this.#refused;
      const heartbeat: Heartbeat = {
        agentId: this.agentId, version: this.options.version, revision: this.#revision, sentAt: new Date().toISOString(), kernel: release(),
        programs: await this.options.programs(), counters: this.options.counters?.() ?? {}, workloads: this.options.workloads?.() ?? [], refused,
        ...(this.options.shippedPrograms ? { shippedPrograms: this.options.shippedPrograms() } : {}),
        ...(this.options.protection ? { protection: this.options.protection() } : {}),
        ...(this.options.bindings ? { bindings: this.options.bindings() } : {}),
      };
      this.#repairs = [...this.#repairs, ...(this.options.repairs?.() ?? [])].slice(-64);
      const repairs = this.#repairs;
      if (repairs.length > 0) heartbeat.repairs = repairs;
      if (this.#publish(subjects.heartbeat(this.agentId), heartbeat)) {
        this.#refused = this.#refused.slice(refused.length);
        this.#repairs = this.#repairs.slice(repairs.length);
      }
    } catch (err) {
      this.options.log.warn({ err }, 'heartbeat failed');
    }
  }

  #publish(subject: string, body: unknown): boolean {
    const nc = this.#nc;
    if (!nc || nc.isClosed()) return false;
    nc.publish(subject, JSON.stringify(body));
    return true;
  }

  /** Credentials revoked: withdraw every binding, forget the bundle, stop talking. */
  async #revoked(): Promise<void> {
    this.options.log.error({ agentId: this.agentId }, 'this agent was revoked; withdrawing all bindings');
    await this.options.apply({ agentId: this.agentId, revision: this.#revision, issuedAt: new Date().toISOString(), bindings: [] }).catch(() => undefined);
    await rm(join(this.options.stateDir, BUNDLE_FILE), { force: true });
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#nc?.close();
    this.options.onRevoked?.();
  }
}

/**
 * The saved bundle's bindings, verified with the pinned key, without applying anything: the agent's
 * attestation starts from them, so a restart never judges running workloads against an empty
 * policy (which wrote them `unbound` until the bundle was restored and sent them direct, unsigned).
 * Empty when there is none or it does not verify (FleetClient.start then logs why).
 */
export async function savedBindings(stateDir: string): Promise<AgentBundle['bindings']> {
  try {
    const { enrollment } = await loadEnrollment(stateDir);
    const verifier = await BundleVerifier.create(enrollment.bundleSigningJwk, enrollment.agentId);
    const persisted = JSON.parse(await readFile(join(stateDir, BUNDLE_FILE), 'utf8')) as PersistedBundle;
    return (await verifier.verify(persisted.jws)).bindings;
  } catch {
    return [];
  }
}

/** The last good bundle from disk, re-verified with the pinned key; undefined when none or bad. */
async function restoreBundle(options: FleetClientOptions, verifier: BundleVerifier): Promise<{ bundle: AgentBundle; appliedAt: string } | undefined> {
  let persisted: PersistedBundle;
  try {
    persisted = JSON.parse(await readFile(join(options.stateDir, BUNDLE_FILE), 'utf8')) as PersistedBundle;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') options.log.warn({ err }, 'cannot read the saved bundle; starting without one');
    return undefined;
  }
  try {
    const bundle = await verifier.verify(persisted.jws);
    await options.apply(bundle);
    options.log.info({ revision: bundle.revision }, 'restored the last good bundle');
    return { bundle, appliedAt: persisted.appliedAt };
  } catch (err) {
    options.log.warn({ err: (err as Error).message }, 'the saved bundle is not usable; starting without one');
    return undefined;
  }
}
