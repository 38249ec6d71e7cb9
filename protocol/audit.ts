/**
 * Audit events an agent ships to the control plane (agent → `subjects.audit(id)`, in batches): what the
 * signer recorded per request, and the kernel's count of connections from unbound processes to policy
 * destinations. Built from named fields only on the agent, and decoded field by field here, so no header,
 * token, key or signature can ride along (an unknown field is a refusal, not something kept).
 */
import { isAgentId } from './subjects.js';

/** One request the signer answered or forwarded; `refusal` names why the signer answered it itself. */
export interface AuditRequestEvent {
  kind: 'request';
  /** ISO 8601 of the request's end. */
  at: string;
  spiffeId: string;
  /** The binding whose credential signed the request; absent when none was chosen. */
  binding?: string;
  tgid: number;
  exePath: string;
  exeSha256: string;
  /** Destination host (the TLS server name). */
  host: string;
  method: string;
  /** Path without query; pre-authenticated request ids masked by the agent. */
  path: string;
  status: number;
  latencyMs: number;
  /** The SIGIL error code when the signer refused the request itself (e.g. SIGIL_ERR_SIGNER_NOT_ALLOWED). */
  refusal?: string;
  aborted?: boolean;
}

/**
 * Connections from unbound processes to this host's policy destinations since the previous such event,
 * as the kernel counted them: `passed` went out unsigned (the service refuses them), `denied` were
 * refused by the kernel (egress lock). The kernel counts per branch, not per process.
 */
export interface AuditUnboundEvent {
  kind: 'unbound';
  at: string;
  passed: number;
  denied: number;
}

export type AuditEvent = AuditRequestEvent | AuditUnboundEvent;

/** One message on `subjects.audit(agentId)`. */
export interface AuditBatch {
  agentId: string;
  /** Events the agent had to drop (buffer full while NATS was away) since the previous batch. */
  dropped: number;
  events: AuditEvent[];
}

/** At most this many events in one batch (the agent splits longer runs). */
export const MAX_AUDIT_BATCH_EVENTS = 256;

type Result<T> = { ok: true; value: T } | { ok: false; reason: string };

const REQUEST_FIELDS = new Set(['kind', 'at', 'spiffeId', 'binding', 'tgid', 'exePath', 'exeSha256', 'host', 'method', 'path', 'status', 'latencyMs', 'refusal', 'aborted']);
const UNBOUND_FIELDS = new Set(['kind', 'at', 'passed', 'denied']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown, max: number): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isDate = (v: unknown): v is string => isText(v, 64) && !Number.isNaN(Date.parse(v));

function decodeEvent(v: unknown, i: number): Result<AuditEvent> {
  const fail = (field: string, what: string): Result<AuditEvent> => ({ ok: false, reason: `events[${i}].${field}: ${what}` });
  if (!isObject(v)) return { ok: false, reason: `events[${i}]: must be an object` };
  if (v['kind'] === 'unbound') {
    const extra = Object.keys(v).find((k) => !UNBOUND_FIELDS.has(k));
    if (extra !== undefined) return fail(extra, 'unknown field');
    if (!isDate(v['at'])) return fail('at', 'must be a date');
    if (!isCount(v['passed'])) return fail('passed', 'must be a whole number');
    if (!isCount(v['denied'])) return fail('denied', 'must be a whole number');
    return { ok: true, value: { kind: 'unbound', at: v['at'], passed: v['passed'], denied: v['denied'] } };
  }
  if (v['kind'] !== 'request') return fail('kind', 'must be request or unbound');
  const extra = Object.keys(v).find((k) => !REQUEST_FIELDS.has(k));
  if (extra !== undefined) return fail(extra, 'unknown field');
  if (!isDate(v['at'])) return fail('at', 'must be a date');
  if (!isText(v['spiffeId'], 2048)) return fail('spiffeId', 'required string');
  if (v['binding'] !== undefined && !isText(v['binding'], 253)) return fail('binding', 'must be a name');
  if (!isCount(v['tgid'])) return fail('tgid', 'must be a whole number');
  if (!isText(v['exePath'], 4096)) return fail('exePath', 'required string');
  if (typeof v['exeSha256'] !== 'string' || !/^[0-9a-f]{64}$/.test(v['exeSha256'])) return fail('exeSha256', 'must be 64 hex digits');
  if (!isText(v['host'], 253)) return fail('host', 'required string');
  if (typeof v['method'] !== 'string' || !/^[A-Z]{1,16}$/.test(v['method'])) return fail('method', 'must be an HTTP method');
  if (typeof v['path'] !== 'string' || v['path'].length > 8192) return fail('path', 'must be a string of at most 8192 characters');
  if (!isCount(v['status']) || v['status'] > 999) return fail('status', 'must be an HTTP status');
  if (typeof v['latencyMs'] !== 'number' || !Number.isFinite(v['latencyMs']) || v['latencyMs'] < 0) return fail('latencyMs', 'must be a non-negative number');
  if (v['refusal'] !== undefined && (typeof v['refusal'] !== 'string' || !/^SIGIL_ERR_[A-Z0-9_]{1,64}$/.test(v['refusal']))) return fail('refusal', 'must be a SIGIL_ERR_ code');
  if (v['aborted'] !== undefined && typeof v['aborted'] !== 'boolean') return fail('aborted', 'must be a boolean');
  return {
    ok: true,
    value: {
      kind: 'request', at: v['at'], spiffeId: v['spiffeId'], ...(v['binding'] !== undefined ? { binding: v['binding'] as string } : {}),
      tgid: v['tgid'], exePath: v['exePath'], exeSha256: v['exeSha256'], host: v['host'], method: v['method'], path: v['path'],
      status: v['status'], latencyMs: v['latencyMs'], ...(v['refusal'] !== undefined ? { refusal: v['refusal'] as string } : {}),
      ...(v['aborted'] !== undefined ? { aborted: v['aborted'] as boolean } : {}),
    },
  };
}

/** Decodes one batch; the caller checks that `agentId` is the one the subject names. */
export function decodeAuditBatch(data: Uint8Array | string): Result<AuditBatch> {
  let v: unknown;
  try {
    v = JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data));
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (!isObject(v)) return { ok: false, reason: 'not a JSON object' };
  const extra = Object.keys(v).find((k) => !['agentId', 'dropped', 'events'].includes(k));
  if (extra !== undefined) return { ok: false, reason: `${extra}: unknown field` };
  if (!isAgentId(v['agentId'])) return { ok: false, reason: 'agentId: missing or malformed' };
  if (!isCount(v['dropped'])) return { ok: false, reason: 'dropped: must be a whole number' };
  const events = v['events'];
  if (!Array.isArray(events) || events.length > MAX_AUDIT_BATCH_EVENTS) return { ok: false, reason: `events: a list of at most ${MAX_AUDIT_BATCH_EVENTS}` };
  const decoded: AuditEvent[] = [];
  for (const [i, e] of events.entries()) {
    const r = decodeEvent(e, i);
    if (!r.ok) return r;
    decoded.push(r.value);
  }
  return { ok: true, value: { agentId: v['agentId'], dropped: v['dropped'], events: decoded } };
}
