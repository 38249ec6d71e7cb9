import type { BundleAck, Heartbeat, ProgramInfo, RefusedBundle } from '../protocol/fleet.js';
import type { AgentRecord } from './agent-registry.js';
import type { IssuedBundle } from './distributor.js';

/** A program Sigil expects attached on every agent's cgroup. `tag` absent: any tag. */
export interface ExpectedProgram {
  name: string;
  attachType: string;
  tag?: string;
}

export interface FleetMonitorSettings {
  /** The agents' heartbeat interval (ms); silence and staleness are measured in it. */
  heartbeatIntervalMs: number;
  /** `silent` after this many intervals without a heartbeat (default 3). */
  silentAfterIntervals: number;
  /**
   * The programs every agent must have attached. When not given, the expected set is LEARNED per agent
   * version: the union of programs any agent of that version has reported, with the first tag seen for
   * each. So a program detached on one host shows as missing as long as it was seen once (on that host
   * or another of the same version); a fleet where all hosts lose it from the start is not detected;
   * configure the list for that.
   */
  expectedPrograms?: ExpectedProgram[];
}

export type AgentStateName = 'healthy' | 'degraded' | 'silent' | 'revoked';

export interface AgentState {
  state: AgentStateName;
  reasons: string[];
}

interface Observed {
  heartbeat?: Heartbeat;
  lastHeartbeatAt?: number;
  /** Highest revision acked or reported in a heartbeat. */
  appliedRevision: number;
  appliedAt?: string;
  /** The latest refusal since the last good ack. */
  refused?: RefusedBundle;
}

const keyOf = (p: { name: string; attachType: string }): string => `${p.attachType}/${p.name}`;

/**
 * Per-agent health, rebuilt from heartbeats and acks (in memory: after a control-plane restart the
 * first heartbeat of each agent restores it). Heartbeats and acks are only taken when their agentId
 * matches the subject's (NATS permissions vouch for the subject, not for the body).
 */
export class FleetMonitor {
  readonly #observed = new Map<string, Observed>();
  readonly #learned = new Map<string, Map<string, ExpectedProgram>>();

  constructor(private readonly settings: FleetMonitorSettings, private readonly now: () => number = Date.now) {}

  /** false (refused) when the body names another agent than the subject. */
  recordHeartbeat(subjectAgentId: string, heartbeat: Heartbeat): boolean {
    if (heartbeat.agentId !== subjectAgentId) return false;
    const observed = this.#entry(subjectAgentId);
    observed.heartbeat = heartbeat;
    observed.lastHeartbeatAt = this.now();
    if (heartbeat.revision > observed.appliedRevision) observed.appliedRevision = heartbeat.revision;
    const refused = heartbeat.refused.at(-1);
    if (refused) observed.refused = refused;
    if (!this.settings.expectedPrograms) this.#learn(heartbeat.version, heartbeat.programs);
    return true;
  }

  recordAck(subjectAgentId: string, ack: BundleAck): boolean {
    if (ack.agentId !== subjectAgentId) return false;
    const observed = this.#entry(subjectAgentId);
    if (ack.revision >= observed.appliedRevision) {
      observed.appliedRevision = ack.revision;
      observed.appliedAt = ack.appliedAt;
      delete observed.refused;
    }
    return true;
  }

  appliedRevision(agentId: string): number {
    return this.#observed.get(agentId)?.appliedRevision ?? 0;
  }

  lastHeartbeat(agentId: string): { heartbeat: Heartbeat; at: number } | undefined {
    const o = this.#observed.get(agentId);
    return o?.heartbeat && o.lastHeartbeatAt !== undefined ? { heartbeat: o.heartbeat, at: o.lastHeartbeatAt } : undefined;
  }

  /** Whether the agent's latest heartbeat is recent enough to count (not silent). */
  isLive(agentId: string): boolean {
    const at = this.#observed.get(agentId)?.lastHeartbeatAt;
    return at !== undefined && this.now() - at <= this.#silentAfterMs();
  }

  stateOf(agent: AgentRecord, issued: IssuedBundle | undefined): AgentState {
    if (agent.revokedAt) return { state: 'revoked', reasons: [`revoked at ${agent.revokedAt}`] };
    const observed = this.#observed.get(agent.id);
    if (!observed?.heartbeat || observed.lastHeartbeatAt === undefined) return { state: 'silent', reasons: ['no heartbeat yet'] };
    const age = this.now() - observed.lastHeartbeatAt;
    if (age > this.#silentAfterMs()) return { state: 'silent', reasons: [`no heartbeat for ${Math.round(age / 1000)}s`] };
    const reasons = this.#programProblems(observed.heartbeat);
    // A bundle is given two heartbeat intervals to be applied before the agent counts as behind.
    if (issued && observed.appliedRevision < issued.revision && this.now() - Date.parse(issued.issuedAt) > 2 * this.settings.heartbeatIntervalMs) {
      reasons.push(`stale revision: runs ${observed.appliedRevision}, current ${issued.revision}`);
    }
    if (observed.refused) reasons.push(`refused a bundle: ${observed.refused.code} (${observed.refused.reason})`);
    return reasons.length > 0 ? { state: 'degraded', reasons } : { state: 'healthy', reasons: [] };
  }

  /** The expected set for one agent version (configured, or learned so far). */
  expectedFor(version: string): ExpectedProgram[] {
    return this.settings.expectedPrograms ?? [...(this.#learned.get(version)?.values() ?? [])];
  }

  #programProblems(heartbeat: Heartbeat): string[] {
    const attached = new Map(heartbeat.programs.map((p) => [keyOf(p), p]));
    const problems: string[] = [];
    for (const expected of this.expectedFor(heartbeat.version)) {
      const found = attached.get(keyOf(expected));
      if (!found) problems.push(`missing program ${expected.name} (${expected.attachType})`);
      else if (expected.tag !== undefined && found.tag !== expected.tag) problems.push(`program ${expected.name} (${expected.attachType}) has tag ${found.tag}, expected ${expected.tag}`);
    }
    return problems;
  }

  #learn(version: string, programs: ProgramInfo[]): void {
    let set = this.#learned.get(version);
    if (!set) this.#learned.set(version, (set = new Map()));
    for (const p of programs) if (!set.has(keyOf(p))) set.set(keyOf(p), { name: p.name, attachType: p.attachType, tag: p.tag });
  }

  #entry(agentId: string): Observed {
    let observed = this.#observed.get(agentId);
    if (!observed) this.#observed.set(agentId, (observed = { appliedRevision: 0 }));
    return observed;
  }

  #silentAfterMs(): number {
    return this.settings.silentAfterIntervals * this.settings.heartbeatIntervalMs;
  }
}
