/**
 * The control plane's metric families for its loopback admin endpoint (served by agent/admin's
 * startAdminServer, with the same hand-written Prometheus text writer). Fleet numbers are read at
 * scrape time from the fleet view; applies and exchanges are counted as they happen.
 */
import { LabelledCounter, renderExposition, type MetricFamily } from '../../common/metrics/exposition.js';
import { buildInfoFamily } from '../../common/metrics/build-info.js';
import { processFamilies } from '../../common/metrics/process.js';

/** The part of `sigil fleet status` (controlplane/fleet/views.ts FleetStatus) the metrics need. */
export interface FleetSnapshot {
  currentRevision: number;
  agents: Array<{ id: string; state: string; appliedRevision: number; lastHeartbeatAgeSeconds: number | undefined }>;
}

export interface ControlPlaneMetricsSources {
  /** Undefined (or returning undefined) without a fleet. */
  fleet?: () => FleetSnapshot | undefined | Promise<FleetSnapshot | undefined>;
}

/** Every state is exported, also at zero, so alerts on `sigil_controlplane_agents{state="silent"} > 0` work from the start. */
export const AGENT_STATES = ['healthy', 'degraded', 'silent', 'revoked'] as const;

export class ControlPlaneMetrics {
  readonly #resourceApplies = new LabelledCounter();
  readonly #bundleAcks = new LabelledCounter();
  readonly #exchanges = new LabelledCounter();
  readonly #refusedReplies = new LabelledCounter();
  readonly #sources: ControlPlaneMetricsSources;

  constructor(sources: ControlPlaneMetricsSources = {}) {
    this.#sources = sources;
  }

  /** `sigil apply` stored one resource of this kind (WorkloadIdentity, CredentialSource, ...). */
  resourceApplied(kind: string): void {
    this.#resourceApplies.inc(kind);
  }

  /** An agent acked (applied) or refused a policy bundle. */
  bundleAck(applied: boolean): void {
    this.#bundleAcks.inc(applied ? 'applied' : 'refused');
  }

  /** One credential exchange for an agent finished: ok, denied (policy), or failed (IAM, network). */
  exchange(result: 'ok' | 'denied' | 'failed'): void {
    this.#exchanges.inc(result);
  }

  /** A request handler dropped a request whose reply subject was not the asking agent's own inbox. */
  refusedReply(handler: string): void {
    this.#refusedReplies.inc(handler);
  }

  async families(): Promise<MetricFamily[]> {
    const fleet = await this.#sources.fleet?.();
    const byState = new Map<string, number>(AGENT_STATES.map((s) => [s, 0]));
    for (const agent of fleet?.agents ?? []) byState.set(agent.state, (byState.get(agent.state) ?? 0) + 1);
    const agents = [...(fleet?.agents ?? [])].sort((a, b) => a.id.localeCompare(b.id));
    return [
      { name: 'sigil_controlplane_agents', type: 'gauge', help: 'Enrolled agents by fleet state.',
        samples: fleet === undefined ? [] : [...byState.entries()].map(([state, value]) => ({ labels: { state }, value })) },
      { name: 'sigil_controlplane_policy_revision', type: 'gauge', help: 'Policy revision the control plane distributes.',
        samples: fleet === undefined ? [] : [{ value: fleet.currentRevision }] },
      { name: 'sigil_controlplane_agent_applied_revision', type: 'gauge', help: 'Policy revision each agent last acked or reported.',
        samples: agents.map((a) => ({ labels: { agent: a.id }, value: a.appliedRevision })) },
      { name: 'sigil_controlplane_agent_heartbeat_age_seconds', type: 'gauge', help: 'Seconds since each agent\'s last heartbeat (absent before the first).',
        samples: agents.filter((a) => a.lastHeartbeatAgeSeconds !== undefined).map((a) => ({ labels: { agent: a.id }, value: a.lastHeartbeatAgeSeconds! })) },
      { name: 'sigil_controlplane_resource_applies_total', type: 'counter', help: 'Resources stored by `sigil apply`, by kind.',
        samples: this.#resourceApplies.samples('kind') },
      { name: 'sigil_controlplane_bundle_acks_total', type: 'counter', help: 'Policy bundles agents applied or refused.',
        samples: this.#bundleAcks.samples('result') },
      { name: 'sigil_controlplane_exchanges_total', type: 'counter', help: 'Credential exchanges for agents, by result.',
        samples: this.#exchanges.samples('result') },
      { name: 'sigil_controlplane_requests_refused_reply_total', type: 'counter',
        help: 'Agent requests dropped unanswered because the reply subject was not the agent\'s own _INBOX.<agentId>., by handler.',
        samples: this.#refusedReplies.samples('handler') },
      buildInfoFamily('controlplane'),
      ...processFamilies(),
    ];
  }

  /** Prometheus text 0.0.4, for startAdminServer's `metrics`. */
  async render(): Promise<string> {
    return renderExposition(await this.families());
  }
}
