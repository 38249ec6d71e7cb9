import type { AttachRepairReport, BundleAck, Heartbeat, ProgramInfo, RefusedBundle } from '../../protocol/fleet.js';
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
   * The programs every agent must have attached, overriding what each agent says its build ships.
   * When not given (the default), each agent's expected set is the one its heartbeat says its build
   * ships (`shippedPrograms`, from the object it loaded). The expected set is never learned from what
   * the kernel shows.
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
  /** Attachment repairs the agent reported, with when they arrived (shown for a while, then dropped). */
  repairs: Array<{ report: AttachRepairReport; receivedAt: number }>;
}

/** A repair the agent reported keeps it degraded for this many heartbeat intervals, and at least REPAIR_SHOWN_MIN_MS (so the fleet sees it). */
const REPAIR_SHOWN_INTERVALS = 3;
const REPAIR_SHOWN_MIN_MS = 5_000;

/** How a repair's problem and action read in a fleet reason. */
const PROBLEM_TEXT: Record<string, string> = {
  missing: 'was missing', detached: 'was detached', 'wrong-cgroup': 'was attached to another cgroup',
  replaced: 'was replaced by another program', unpinned: 'had lost its pin', 'dead-pin': 'was pinned but detached (found at start)',
};
const ACTION_TEXT: Record<string, string> = {
  're-attached': 're-attached it', restored: 'restored it', 're-pinned': 're-pinned it', 'pin-dropped': 'dropped the dead pin and attached anew',
};

const keyOf = (p: { name: string; attachType: string }): string => `${p.attachType}/${p.name}`;

/** Bindings the agent cannot get (or renew) a session token for, with the exchange's reason. */
function credentialProblems(heartbeat: Heartbeat): string[] {
  return (heartbeat.bindings ?? []).filter((b) => b.error !== undefined).map((b) => b.state === 'fresh'
    ? `binding ${b.id}: session token refresh failing, old token still in use: ${b.error?.message} (${b.error?.code})`
    : `binding ${b.id}: no session token: ${b.error?.message} (${b.error?.code})`);
}

/**
 * Per-agent health, rebuilt from heartbeats and acks (in memory: after a control-plane restart the
 * first heartbeat of each agent restores it). Heartbeats and acks are only taken when their agentId
 * matches the subject's (NATS permissions vouch for the subject, not for the body).
 */
export class FleetMonitor {
  readonly #observed = new Map<string, Observed>();

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
    for (const report of heartbeat.repairs ?? []) observed.repairs.push({ report, receivedAt: observed.lastHeartbeatAt });
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
    const reasons = [...this.#programProblems(observed.heartbeat), ...this.#recentRepairs(observed), ...credentialProblems(observed.heartbeat)];
    // A bundle is given two heartbeat intervals to be applied before the agent counts as behind.
    if (issued && observed.appliedRevision < issued.revision && this.now() - Date.parse(issued.issuedAt) > 2 * this.settings.heartbeatIntervalMs) {
      reasons.push(`stale revision: runs ${observed.appliedRevision}, current ${issued.revision}`);
    }
    if (observed.refused) reasons.push(`refused a bundle: ${observed.refused.code} (${observed.refused.reason})`);
    return reasons.length > 0 ? { state: 'degraded', reasons } : { state: 'healthy', reasons: [] };
  }

  /** The expected set for one agent: configured, else what its latest heartbeat says its build ships. */
  expectedFor(heartbeat: Heartbeat): ExpectedProgram[] | undefined {
    return this.settings.expectedPrograms ?? heartbeat.shippedPrograms;
  }

  /**
   * Kernel view against the expected set, per hook: every expected program present with its tag, and
   * nothing else on the hooks Sigil uses (a program of any name we did not ship is foreign).
   */
  #programProblems(heartbeat: Heartbeat): string[] {
    const expected = this.expectedFor(heartbeat);
    if (!expected) return ['agent does not report the programs its build ships (upgrade it): its kernel view cannot be checked'];
    const unmatched = [...heartbeat.programs];
    const problems: string[] = [];
    const take = (want: ExpectedProgram): ProgramInfo | undefined => {
      const i = unmatched.findIndex((p) => keyOf(p) === keyOf(want) && (want.tag === undefined || p.tag === want.tag));
      return i < 0 ? undefined : unmatched.splice(i, 1)[0];
    };
    const wrongTag: ExpectedProgram[] = [];
    for (const want of expected) if (!take(want)) wrongTag.push(want);
    for (const want of wrongTag) {
      const i = unmatched.findIndex((p) => keyOf(p) === keyOf(want));
      if (i < 0) {
        problems.push(`missing program ${want.name} (${want.attachType})`);
      } else {
        const [found] = unmatched.splice(i, 1);
        problems.push(`program ${want.name} (${want.attachType}) has tag ${found?.tag}, expected ${want.tag}`);
      }
    }
    for (const p of unmatched) problems.push(`foreign program ${p.name || '(unnamed)'} (${p.attachType}, id ${p.id}, tag ${p.tag}) on the steered cgroup`);
    return problems;
  }

  #recentRepairs(observed: Observed): string[] {
    const cutoff = this.now() - Math.max(REPAIR_SHOWN_INTERVALS * this.settings.heartbeatIntervalMs, REPAIR_SHOWN_MIN_MS);
    observed.repairs = observed.repairs.filter((r) => r.receivedAt >= cutoff);
    return observed.repairs.map(({ report: r }) => r.action === 'failed'
      ? `program ${r.name} (${r.attachType}) ${PROBLEM_TEXT[r.problem] ?? r.problem} at ${r.at}; the agent could not repair it: ${r.error ?? 'unknown error'}`
      : `program ${r.name} (${r.attachType}) ${PROBLEM_TEXT[r.problem] ?? r.problem} at ${r.at}; the agent ${ACTION_TEXT[r.action] ?? r.action}`);
  }

  #entry(agentId: string): Observed {
    let observed = this.#observed.get(agentId);
    if (!observed) this.#observed.set(agentId, (observed = { appliedRevision: 0, repairs: [] }));
    return observed;
  }

  #silentAfterMs(): number {
    return this.settings.silentAfterIntervals * this.settings.heartbeatIntervalMs;
  }
}
