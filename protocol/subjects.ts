/**
 * NATS subjects between agents and the control plane. Every subject an agent may publish or
 * subscribe to carries its own agent id, so NATS permissions (minted per agent at enrolment) confine
 * an agent to its own traffic: agent A can neither read B's bundles nor speak as B.
 */

/** Agent ids are single NATS subject tokens: lower-case letters, digits and dashes. */
export const AGENT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{2,62}$/;

export function isAgentId(value: unknown): value is string {
  return typeof value === 'string' && AGENT_ID_PATTERN.test(value);
}

export const subjects = {
  /** Control plane → agent: a freshly signed bundle (the agent subscribes). */
  bundlePush: (agentId: string) => `sigil.agent.${agentId}.bundle`,
  /** Agent → control plane, request/reply: the latest bundle, asked for on every (re)connect. */
  bundleGet: (agentId: string) => `sigil.cp.${agentId}.bundle.get`,
  /** Agent → control plane: a bundle revision was applied. */
  bundleAck: (agentId: string) => `sigil.cp.${agentId}.bundle.ack`,
  /** Agent → control plane: periodic heartbeat with the kernel's view of what is attached. */
  heartbeat: (agentId: string) => `sigil.cp.${agentId}.heartbeat`,
  /** Agent → control plane, request/reply: exchange a binding's session public key for a token. */
  exchange: (agentId: string) => `sigil.cp.${agentId}.exchange`,
  /** Agent → control plane: batches of audit events (protocol/audit.ts), kept in a JetStream stream. */
  audit: (agentId: string) => `sigil.cp.${agentId}.audit`,
  /** Every agent's audit subject: what the audit stream captures. */
  auditWildcard: 'sigil.cp.*.audit',
  /** Agent replies arrive under a per-agent inbox prefix (nats.js `inboxPrefix` option). */
  inboxPrefix: (agentId: string) => `_INBOX.${agentId}`,
  /** What the control plane listens on (queue group `sigil-cp`, so replicas share the work). */
  controlPlaneWildcard: 'sigil.cp.*.>',
  controlPlaneQueue: 'sigil-cp',
} as const;

/**
 * Whether `reply` lies in `agentId`'s own inbox (`_INBOX.<agentId>.<token>…`): the only subjects the
 * control plane answers an agent's request on. Anything else (another agent's push subject, a
 * control-plane subject, a wildcard) would let one agent make the control plane publish for it.
 */
export function isOwnInbox(agentId: string, reply: string | undefined): reply is string {
  if (reply === undefined || !isAgentId(agentId)) return false;
  const prefix = `${subjects.inboxPrefix(agentId)}.`;
  if (!reply.startsWith(prefix) || reply.length === prefix.length) return false;
  // Plain tokens only: no wildcard, no empty token, no whitespace.
  return reply.slice(prefix.length).split('.').every((token) => /^[^\s*>.]+$/.test(token));
}

/** The agent id named by a control-plane subject (`sigil.cp.<id>.…`), or undefined. */
export function agentIdOfSubject(subject: string): string | undefined {
  const parts = subject.split('.');
  if (parts[0] !== 'sigil' || parts[1] !== 'cp') return undefined;
  const id = parts[2];
  return isAgentId(id) ? id : undefined;
}
