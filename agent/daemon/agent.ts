/**
 * The agent's composition root: builds the parts in the order the fail-closed promise needs and
 * tears them down in reverse.
 *
 *   local CA → kernel steering (attach or adopt pins, exempt self) → attestation (events first, then
 *   the /proc scan) → DNS destinations → credentials → signer
 *
 * Bundles come from outside (the fleet client, or a test) through `apply()`.
 */
import type { Logger } from 'pino';
import type { AgentBundle } from '../../protocol/bundle.js';
import { Attestor } from '../attest/index.js';
import type { AgentConfig } from '../config.js';
import { CredentialManager, FileFallback, type ExchangeClient } from '../credentials/index.js';
import { LocalCa, SignerServer, signerSettings, type AuditListener } from '../signer/index.js';
import type { ConnectionRecord } from '../signer/index.js';
import { AttachWatcher, DestinationResolver, KernelSteering, canonicalAddr, findCgroup2Mount } from '../steering/index.js';
import { placeAgent } from './cgroup-placement.js';
import { ConnectionReset } from './connection-reset.js';
import { KernelProcessSink, toProcessEvent } from './kernel-sink.js';
import { PolicyApplier } from './policy-applier.js';
import { checkSignerAddress, signerReclaimer } from './signer-guard.js';
import { UsageTracker } from './usage.js';
import { AttestingWorkloadResolver } from './workload-resolver.js';
import { unmapV4 } from '../../common/addresses.js';

const RECONCILE_INTERVAL_MS = 30_000;

export interface AgentOptions {
  config: AgentConfig;
  log: Logger;
  agentId: string;
  /** How session tokens are obtained (NATS request/reply to the control plane in production). */
  exchange: ExchangeClient;
  /** Audit events go here (default: a child of `log`). */
  auditLog?: Logger;
  /** Hears every audit event too (metrics). */
  onAudit?: AuditListener;
  /**
   * Bindings of the last good bundle, for the start-up /proc scan: processes bound before a restart
   * stay bound through it (the bundle itself is applied later, by the fleet client).
   */
  initialBindings?: AgentBundle['bindings'];
  /** How often the agent checks (and repairs) its own kernel attachments; default 1 s. */
  attachCheckIntervalMs?: number;
}

/** A running agent. `close()` stops serving; pinned kernel state stays for the next agent to adopt. */
export class Agent {
  private constructor(
    readonly steering: KernelSteering,
    readonly attestor: Attestor,
    readonly destinations: DestinationResolver,
    readonly credentials: CredentialManager,
    readonly signer: SignerServer,
    readonly ca: LocalCa,
    readonly usage: UsageTracker,
    /** The agent's own kernel attachments, checked and repaired on a timer and after every apply. */
    readonly attachments: AttachWatcher,
    private readonly applier: PolicyApplier,
    private readonly stopEvents: () => void,
    private readonly log: Logger,
  ) {}

  static async start(options: AgentOptions): Promise<Agent> {
    const { config, log, agentId } = options;
    const ca = await LocalCa.open({ stateDir: config.stateDir });
    if (ca.exportUnreadable) {
      log.warn({ caCert: ca.exportPath, reason: ca.exportUnreadable }, 'workloads running as other users cannot read the signer CA certificate: their TLS to the signer will fail (docs/troubleshooting.md)');
    }
    // '' (run --all-host) and '/' (the config saying so) both mean the cgroup2 root.
    const wholeHost = config.steering.cgroup === '' || config.steering.cgroup === '/';
    const steeredCgroup = wholeHost ? await findCgroup2Mount() : config.steering.cgroup;
    await placeAgent(steeredCgroup, config.steering.agentCgroup || undefined);
    const steering = await KernelSteering.attach({
      signerIPv4: config.signer.ipv4,
      signerIPv6: config.signer.ipv6,
      signerPort: config.signer.port,
      pinDir: config.steering.pinDir,
      cgroupPath: steeredCgroup,
      protection: config.attestation.protection,
    });
    const cleanup: Array<() => unknown> = [() => steering.close()];
    try {
      // Our own upstream sockets must never be steered back to us.
      steering.exemptSelf();
      log.info({ adopted: steering.adopted, cgroup: wholeHost ? '(cgroup2 root)' : config.steering.cgroup, pinDir: config.steering.pinDir }, 'kernel steering attached');
      log.info({ mode: steering.protectionChoice.mode, reason: steering.protectionChoice.reason }, 'identity protection');
      const attachments = new AttachWatcher({
        steering, log: log.child({ part: 'attach' }),
        ...(options.attachCheckIntervalMs ? { intervalMs: options.attachCheckIntervalMs } : {}),
      });
      attachments.start();
      cleanup.push(() => attachments.stop());

      // A binding that appears or goes ends the process's connections on the old path (SOCK_DESTROY).
      const reset = new ConnectionReset({
        remotes: () => [
          ...steering.listDestinations().map((d) => ({ addr: d.addr, port: d.port })),
          { addr: config.signer.ipv4, port: config.signer.port },
          { addr: config.signer.ipv6, port: config.signer.port },
        ],
        log: log.child({ part: 'connection-reset' }),
      });
      const sink = new KernelProcessSink(steering, process.pid, (tgid) => reset.changed(tgid));
      const attestOptions = { sink, log: log.child({ part: 'attest' }), pendingTimeoutMs: config.signer.attestTimeoutMs };
      let attestor: Attestor;
      try {
        attestor = new Attestor({ ...attestOptions, bindings: options.initialBindings ?? [] });
      } catch (err) {
        // A saved policy this version cannot read: start empty; the fleet client says why it is refused.
        log.warn({ err }, 'the saved bundle\'s bindings do not compile; attesting with no policy until one is applied');
        attestor = new Attestor(attestOptions);
      }
      cleanup.push(() => attestor.close());
      // Subscribe before scanning, so a process that starts during the scan is not missed.
      const unsubscribe = steering.onProcessEvent((event) => attestor.handleEvent(toProcessEvent(event)));
      cleanup.push(unsubscribe);
      await attestor.start();
      // Catches what events cannot: exits lost to a full ring buffer, children forked without exec.
      const reconcile = setInterval(() => {
        attestor.reconcile().catch((err: unknown) => log.warn({ err }, 'attestation reconcile failed'));
      }, RECONCILE_INTERVAL_MS);
      reconcile.unref();
      cleanup.push(() => clearInterval(reconcile));

      const dnsLog = log.child({ part: 'dns' });
      const destinations = new DestinationResolver({
        table: steering, resolve: config.dns.resolve, graceMs: config.dns.graceSeconds * 1000,
        // Once per change, not per refresh: a destination that does not resolve degrades itself only.
        onUnresolved: (unresolved) => {
          if (unresolved.length > 0) dnsLog.warn({ unresolved }, 'OCI destinations without an address are not steered until they resolve; the others work');
          else dnsLog.info('every OCI destination resolves again');
        },
      });
      destinations.start({ onError: (err) => dnsLog.warn({ err }, 'DNS refresh of OCI destinations failed; keeping the last addresses') });
      cleanup.push(() => destinations.stop());

      const fallback = config.fileFallback;
      const credentials = new CredentialManager({
        client: options.exchange,
        log: log.child({ part: 'credentials' }),
        listeners: fallback.length > 0 ? [new FileFallback(fallback, log.child({ part: 'file-fallback' }))] : [],
      });
      cleanup.push(() => credentials.close());

      const usage = new UsageTracker();
      const signer = await SignerServer.listen({
        attributor: { connectionFor: (socket) => toRecord(steering.connectionFor(socket)) },
        resolver: new AttestingWorkloadResolver(attestor),
        destinations: {
          addressesOf: (host) => destinations.addressesFor(host),
          deniesUnbound: (addr, port) => steering.listDestinations().some((d) => d.deny && d.port === port && canonicalAddr(d.addr) === canonicalAddr(addr)),
        },
        credentials,
        ca,
        log: log.child({ part: 'signer' }),
        agentId,
        settings: signerSettings({
          listenHosts: [config.signer.ipv4, config.signer.ipv6],
          port: config.signer.port,
          limits: {
            maxSignedBodyBytes: config.signer.maxSignedBodyBytes, attestTimeoutMs: config.signer.attestTimeoutMs,
            maxConnectionsPerProcess: config.signer.maxConnectionsPerProcess, maxConnections: config.signer.maxConnections,
          },
          upstream: config.upstream.caFile ? { caFile: config.upstream.caFile } : {},
        }),
        reclaimer: signerReclaimer,
        ...(options.auditLog ? { auditLog: options.auditLog } : {}),
        onAudit: (event) => {
          usage.record(event);
          options.onAudit?.(event);
        },
      });
      log.info({ addresses: signer.addresses() }, 'signer listening');
      checkSignerAddress(config.signer, log.child({ part: 'signer' }));

      const applier = new PolicyApplier({ attestor, destinations, credentials, log: log.child({ part: 'policy' }) });
      const stopEvents = (): void => {
        attachments.stop();
        clearInterval(reconcile);
        unsubscribe();
      };
      return new Agent(steering, attestor, destinations, credentials, signer, ca, usage, attachments, applier, stopEvents, log);
    } catch (err) {
      for (const undo of cleanup.reverse()) await safely(undo);
      throw err;
    }
  }

  /** The policy revision currently applied (0 before the first bundle). */
  get revision(): number {
    return this.applier.revision;
  }

  /** Applies a verified bundle: destinations, attestation, credentials; then checks the attachments. */
  async apply(bundle: AgentBundle): Promise<void> {
    try {
      await this.applier.apply(bundle);
    } finally {
      this.attachments.check();
    }
  }

  /** Stops serving. The kernel programs stay attached and pinned: steered connects fail closed. */
  async close(): Promise<void> {
    await safely(() => this.signer.close());
    this.stopEvents();
    this.destinations.stop();
    await safely(() => this.credentials.close());
    this.attestor.close();
    this.steering.close();
    this.log.info('agent stopped');
  }
}

/** The kernel's record in the signer's shape (v4-mapped addresses unwrapped). */
function toRecord(conn: ReturnType<KernelSteering['connectionFor']>): ConnectionRecord | null {
  if (conn === null) return null;
  const v4 = unmapV4(conn.origAddr);
  return { ...conn, origAddr: v4 ?? conn.origAddr, family: v4 !== undefined || conn.family === 'ipv4' ? 4 : 6 };
}

async function safely(fn: () => unknown): Promise<void> {
  try {
    await fn();
  } catch {
    // Teardown continues; the first error already explains the failure.
  }
}
