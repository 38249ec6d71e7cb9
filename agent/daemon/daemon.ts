/**
 * `sigil-agent run`: the agent as a long-running service.
 *
 *   enrolment → Agent (kernel, attestation, signer) → fleet client (last good bundle first, then
 *   NATS) → admin endpoint → READY=1 once a policy is applied → … SIGTERM → stop in reverse.
 *
 * The kernel programs stay attached and pinned when the agent stops or dies, so steered connects fail
 * closed until the next agent adopts them.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { AgentMetrics, startAdminServer } from '../admin/index.js';
import type { AgentConfig } from '../config.js';
import { FleetClient, loadEnrollment, savedBindings } from '../fleet/index.js';
import { createSystemdNotifier } from '../../common/systemd/index.js';
import { Agent } from './agent.js';
import { runServices, serviceOf, type Service } from '../../common/service.js';
import { DeferredExchangeClient } from './deferred-exchange.js';
import { AuditShipper } from './audit-shipper.js';
import { onAbort } from '../../common/abort.js';

export const AGENT_VERSION = '0.1.0';

export interface DaemonOptions {
  config: AgentConfig;
  log: Logger;
  signal: AbortSignal;
  heartbeatIntervalMs?: number;
}

/**
 * Node 24 cuts small Buffers from 64 KiB slabs (Buffer.poolSize), and a slab lives while any slice of
 * it does. Every TLS connection keeps a few bytes from the pool for its whole life (its ALPN list,
 * `_tlsOptions.ALPNProtocols`), so 1,000 held connections pinned 286 slabs: 18.7 MB (heap snapshot,
 * docs/benchmarks.md, "Where the agent's memory goes"). 8 KiB slabs, Node's size until 24, pin 8.
 */
const BUFFER_POOL_BYTES = 8 * 1024;

export async function runDaemon({ config, log, signal, heartbeatIntervalMs }: DaemonOptions): Promise<void> {
  Buffer.poolSize = BUFFER_POOL_BYTES;
  const systemd = createSystemdNotifier({ onError: (err) => log.warn({ err }, 'sd_notify failed') });
  const { enrollment } = await loadEnrollment(config.stateDir);
  let resolveNats!: (nc: NatsConnection) => void;
  const nats = new Promise<NatsConnection>((resolve) => (resolveNats = resolve));

  let metrics: AgentMetrics | undefined;
  let fleet: FleetClient | undefined;
  let started: Agent | undefined;
  // Audit events go to the control plane in batches, off the signer's hot path.
  const shipper = new AuditShipper({
    agentId: enrollment.agentId,
    connection: () => fleet?.connection,
    counters: () => started?.steering.counters(),
    log: log.child({ part: 'audit-shipper' }),
  });
  const agent = await Agent.start({
    config,
    log,
    agentId: enrollment.agentId,
    exchange: new DeferredExchangeClient(nats, enrollment.agentId),
    onAudit: (event) => {
      metrics?.observeRequest(event);
      shipper.record(event);
    },
    initialBindings: await savedBindings(config.stateDir),
  });
  started = agent;
  let ready = false;
  metrics = new AgentMetrics({
    bpfCounters: () => agent.steering.counters(),
    policyRevision: () => agent.revision || undefined,
    activeBindings: () => agent.credentials.statuses().filter((s) => s.state === 'fresh').length,
    credentialStats: () => agent.credentials.stats,
    programRepairs: () => agent.attachments.totals(),
    attachProblems: () => agent.attachments.problems.length,
    attestationCache: () => agent.attestor.hashStats,
    tokenRefreshes: () => agent.credentials.stats,
  });
  const stopping = (): void => { systemd.stopping(); };
  onAbort(signal, stopping);
  try {
    // The fleet client first: it applies the last good bundle before anything answers /readyz.
    fleet = await FleetClient.start({
      stateDir: config.stateDir,
      ...(config.controlPlane.natsServers ? { natsServers: config.controlPlane.natsServers } : {}),
      version: AGENT_VERSION,
      log: log.child({ part: 'fleet' }),
      ...(heartbeatIntervalMs ? { heartbeatIntervalMs } : {}),
      apply: async (bundle) => {
        await agent.apply(bundle);
        if (!ready) {
          ready = true;
          systemd.ready(`serving policy revision ${bundle.revision}`);
          log.info({ revision: bundle.revision }, 'ready');
        }
      },
      programs: () => agent.steering.query(),
      shippedPrograms: () => agent.attachments.shippedCgroupPrograms(),
      protection: () => agent.steering.protectionChoice,
      repairs: () => agent.attachments.drain(),
      counters: () => agent.steering.counters(),
      workloads: () => agent.usage.workloads(agent.attestor.boundProcesses()),
      bindings: () => agent.credentials.statuses().map((s) => ({
        id: s.bindingId, state: s.state,
        ...(s.lastError ? { error: { code: s.lastError.code, message: s.lastError.message.slice(0, 1024) } } : {}),
      })),
      onRevoked: () => log.error('this agent was revoked by the control plane; its bindings are withdrawn'),
    });
    const client = fleet;
    void client.connected.then(() => {
      if (client.connection) resolveNats(client.connection);
    });
    // Then the agent's long-running parts beside the kernel/signer core (which the Agent owns), each
    // a Service, side by side until the signal; the first to fail stops the others.
    const services: Service[] = [
      serviceOf('fleet', () => ({ stop: () => client.stop().catch(() => undefined) })),
      serviceOf('audit-shipper', () => {
        shipper.start();
        return shipper;
      }),
      ...(config.admin.listen ? [serviceOf('admin', async () => {
        const admin = await startAdminServer({
          listen: config.admin.listen,
          log: log.child({ part: 'admin' }),
          metrics: () => metrics?.render() ?? '',
          health: () => {
            const degraded = [...agent.attachments.problems, ...agent.destinations.unresolved().map((h) => `destination ${h} does not resolve`)];
            return { started: true, ready, live: true, ...(ready ? {} : { detail: 'waiting for the first policy bundle' }), ...(degraded.length ? { degraded } : {}) };
          },
        });
        return { stop: () => admin.close().catch(() => undefined) };
      })] : []),
      serviceOf('watchdog', () => systemd.startWatchdog()),
    ];
    await runServices(services, signal, log);
  } finally {
    signal.removeEventListener('abort', stopping);
    await agent.close();
  }
}
