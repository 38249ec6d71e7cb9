/**
 * Request handlers answer an agent only in its own inbox (`_INBOX.<agentId>.…`, the prefix its
 * FleetClient uses and its NATS user may subscribe to). A request whose reply subject is anything
 * else — another agent's push subject, a control-plane subject — would have the control plane
 * publish there for the asker, so it is dropped, logged and counted, never answered.
 */
import type { Logger } from '../log.js';
import { agentIdOfSubject, isOwnInbox } from '../../protocol/subjects.js';

/** Which handler dropped a request, and for which (claimed) agent. */
export type RefusedReplyListener = (handler: string, agentId: string | undefined) => void;

/** True when the request on `subject` may be answered on `reply`; otherwise reports the drop. */
export function answersOwnInbox(handler: string, subject: string, reply: string | undefined, log: Logger | undefined, onRefused?: RefusedReplyListener): reply is string {
  const agentId = agentIdOfSubject(subject);
  if (reply === undefined) return false; // a publish without a reply subject asks nothing
  if (agentId !== undefined && isOwnInbox(agentId, reply)) return true;
  log?.warn({ handler, agentId, reply }, 'request dropped: its reply subject is not the agent\'s own inbox');
  onRefused?.(handler, agentId);
  return false;
}
