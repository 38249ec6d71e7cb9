import type { IdentityProtection, ProgramInfo } from '../../protocol/fleet.js';
import type { Snapshot } from '../store/resource-store.js';
import type { WorkloadCredential, WorkloadIdentity } from '../resources/types.js';
import type { AgentRecord } from './agent-registry.js';
import type { IssuedBundle } from './distributor.js';
import type { AgentState, FleetMonitor } from './fleet-monitor.js';

/** One row of `sigil fleet status`. */
export interface AgentStatus extends AgentState {
  id: string;
  hostname: string;
  labels: Record<string, string>;
  /** Revision the agent last acked or reported. */
  appliedRevision: number;
  /** Revision of the bundle the control plane issued to it (what it should run). */
  issuedRevision: number | undefined;
  /** Seconds since the last heartbeat; undefined when none arrived. */
  lastHeartbeatAgeSeconds: number | undefined;
  version: string | undefined;
  /** The host's kernel release, as its last heartbeat said. */
  kernel: string | undefined;
  programs: ProgramInfo[];
  /** Identity protection on the host, as its last heartbeat said. */
  protection: IdentityProtection | undefined;
}

export interface FleetStatus {
  /** The policy revision the control plane has distributed. */
  currentRevision: number;
  agents: AgentStatus[];
  /** With ?revision=N: the non-revoked agents that have not yet applied N (or their own later bundle). */
  pending?: string[];
}

export function fleetStatus(agents: AgentRecord[], currentRevision: number, monitor: FleetMonitor, issuedTo: (id: string) => IssuedBundle | undefined, now: number, waitRevision?: number): FleetStatus {
  const rows = agents.map((agent): AgentStatus => {
    const issued = issuedTo(agent.id);
    const last = monitor.lastHeartbeat(agent.id);
    return {
      id: agent.id, hostname: agent.hostname, labels: agent.labels, ...monitor.stateOf(agent, issued),
      appliedRevision: monitor.appliedRevision(agent.id),
      issuedRevision: issued?.revision,
      lastHeartbeatAgeSeconds: last ? Math.max(0, (now - last.at) / 1000) : undefined,
      version: last?.heartbeat.version,
      kernel: last?.heartbeat.kernel,
      programs: last?.heartbeat.programs ?? [],
      protection: last?.heartbeat.protection,
    };
  });
  const status: FleetStatus = { currentRevision, agents: rows };
  if (waitRevision !== undefined) {
    // An agent whose bindings did not change since an earlier bundle is current with that bundle.
    status.pending = currentRevision < waitRevision
      ? rows.filter((r) => r.state !== 'revoked').map((r) => r.id)
      : rows.filter((r) => r.state !== 'revoked' && (r.issuedRevision === undefined || r.appliedRevision < Math.min(waitRevision, r.issuedRevision))).map((r) => r.id);
  }
  return status;
}

/** One identity in `sigil inventory`. */
export interface InventoryItem {
  workload: string;
  spiffeId: string;
  owner: string;
  /** WorkloadCredentials (bindings) naming this identity. */
  bindings: string[];
  /** Agents whose latest live heartbeat shows a running process of this identity. */
  hosts: Array<{ agentId: string; hostname: string; processes: number }>;
  requestsSigned: number;
  lastUsedAt: string | undefined;
  destinationsUsed: string[];
  /** No process now and no signed request within the stale period (and older than that period). */
  stale: boolean;
}

export function inventory(snapshot: Snapshot, agents: AgentRecord[], monitor: FleetMonitor, staleAfterSeconds: number, now: number): InventoryItem[] {
  const resources = [...snapshot.resources.values()];
  const credentials = resources.filter((r): r is WorkloadCredential => r.kind === 'WorkloadCredential');
  const items: InventoryItem[] = [];
  for (const identity of resources.filter((r): r is WorkloadIdentity => r.kind === 'WorkloadIdentity')) {
    const item: InventoryItem = {
      workload: identity.metadata.name, spiffeId: identity.spec.spiffeId, owner: identity.spec.owner,
      bindings: credentials.filter((c) => c.spec.workload === identity.metadata.name).map((c) => c.metadata.name).sort(),
      hosts: [], requestsSigned: 0, lastUsedAt: undefined, destinationsUsed: [], stale: false,
    };
    const destinations = new Set<string>();
    for (const agent of agents) {
      const last = monitor.lastHeartbeat(agent.id);
      if (!last || agent.revokedAt) continue;
      for (const usage of last.heartbeat.workloads.filter((w) => w.spiffeId === identity.spec.spiffeId)) {
        if (usage.processes > 0 && monitor.isLive(agent.id)) item.hosts.push({ agentId: agent.id, hostname: agent.hostname, processes: usage.processes });
        item.requestsSigned += usage.requestsSigned;
        if (usage.lastUsedAt && (!item.lastUsedAt || usage.lastUsedAt > item.lastUsedAt)) item.lastUsedAt = usage.lastUsedAt;
        for (const d of usage.destinations) destinations.add(d);
      }
    }
    item.destinationsUsed = [...destinations].sort();
    const cutoff = now - staleAfterSeconds * 1000;
    const recentlyUsed = item.lastUsedAt !== undefined && Date.parse(item.lastUsedAt) >= cutoff;
    const recentlyChanged = identity.metadata.updatedAt !== undefined && Date.parse(identity.metadata.updatedAt) >= cutoff;
    item.stale = item.hosts.length === 0 && !recentlyUsed && !recentlyChanged;
    items.push(item);
  }
  return items.sort((a, b) => a.workload.localeCompare(b.workload));
}
