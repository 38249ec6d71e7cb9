/**
 * Fleet messages between agents and the control plane: enrolment (HTTP), bundles, acks and heartbeats
 * (NATS, on the subjects of ./subjects.ts). Both ends decode what they receive with the functions
 * below; anything malformed is refused with a reason, never half-read.
 */
import { isAgentId } from './subjects.js';

/** POST /v1/enroll body. The token is the one-time join token; the key is the agent's own NATS user nkey. */
export interface EnrollRequest {
  token: string;
  /** Public NATS user nkey ("U..."); the seed never leaves the host. */
  publicNkey: string;
  hostname: string;
}

/** POST /v1/enroll answer. */
export interface EnrollResponse {
  agentId: string;
  /** User JWT for `publicNkey`, confined to this agent's subjects. */
  natsUserJwt: string;
  /** The control plane's bundle-signing public key (ES256 JWK with `kid`), pinned by the agent. */
  bundleSigningJwk: BundleSigningJwk;
  /** The first of natsServers (what agents before the server list read). */
  natsUrl: string;
  /** Every NATS server of the cluster; an agent connects to whichever answers. */
  natsServers?: string[];
  /** PEM of the CA of the NATS servers' TLS certificates, when they use TLS (public material). */
  natsCaPem?: string;
}

export interface BundleSigningJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  kid: string;
  alg: 'ES256';
  use: 'sig';
}


/** Reply to `subjects.bundleGet(id)`: the compact JWS, or why there is none. */
export type BundleGetReply = { ok: true; jws: string } | { ok: false; code: string; message: string };

/** Agent → `subjects.bundleAck(id)`. */
export interface BundleAck {
  agentId: string;
  revision: number;
  appliedAt: string;
}

/** One BPF program as the kernel reports it attached (BPF_PROG_QUERY on the agent's cgroup). */
export interface ProgramInfo {
  attachType: string;
  id: number;
  name: string;
  tag: string;
}

/** A program the agent's build ships for a cgroup hook: what BPF_PROG_QUERY should show (tag as loaded there). */
export interface ShippedProgram {
  attachType: string;
  name: string;
  tag: string;
}

/** A fault the agent found in its own attachments and what it did (re-attached, restored, ...). */
export interface AttachRepairReport {
  at: string;
  name: string;
  attachType: string;
  problem: string;
  action: string;
  error?: string;
}

/** What one workload identity did on this host, for `sigil inventory`. */
export interface WorkloadUsage {
  spiffeId: string;
  /** Live processes attested to this identity now. */
  processes: number;
  requestsSigned: number;
  /** ISO 8601 of the last signed request, if any. */
  lastUsedAt?: string;
  destinations: string[];
}

/** A bundle the agent refused (kept until the next heartbeat reported it). */
export interface RefusedBundle {
  at: string;
  code: string;
  reason: string;
  revision?: number;
}

export interface IdentityProtection {
  mode: 'enforce' | 'taint-only';
  reason: string;
}

/** Agent → `subjects.heartbeat(id)`, every few seconds (jittered). */
export interface Heartbeat {
  agentId: string;
  version: string;
  /** The bundle revision the agent runs (0 when it has none). */
  revision: number;
  sentAt: string;
  /** The kernel's view: every program attached to the steered cgroup's Sigil hooks, whoever attached it. */
  programs: ProgramInfo[];
  /**
   * The cgroup programs this agent's build ships (from the object it loaded). The control plane
   * compares `programs` against this; absent from agents that predate it (they count as degraded).
   */
  shippedPrograms?: ShippedProgram[];
  /** Attachment faults the agent found and repaired (or failed to) since the last heartbeat. */
  repairs?: AttachRepairReport[];
  /** Identity protection in force on the host: 'enforce' (BPF LSM refuses) or 'taint-only', and why. */
  protection?: IdentityProtection;
  /** The host's kernel release (uname -r); absent from agents that predate it. */
  kernel?: string;
  /** e.g. steeredConnections, signedRequests, denials. */
  counters: Record<string, number>;
  workloads: WorkloadUsage[];
  /** Bundles refused since the last heartbeat. */
  refused: RefusedBundle[];
  /** Each binding's session credential on this host (absent from agents that predate it). */
  bindings?: BindingCredentialState[];
}

/** One binding's session credential, as the agent holds it (no token, no key: only its state). */
export interface BindingCredentialState {
  id: string;
  /** `fresh`: a usable token; `pending`: the first exchange is running; `failing`: no usable token, retrying. */
  state: 'fresh' | 'pending' | 'failing';
  /** Why the latest exchange failed (absent once one succeeds); with `fresh`, the old token is still in use. */
  error?: { code: string; message: string };
}

const BINDING_STATES: ReadonlySet<unknown> = new Set(['fresh', 'pending', 'failing']);

type Result<T> = { ok: true; value: T } | { ok: false; reason: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown, max = 1024): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function parseJson(data: Uint8Array | string): unknown {
  try {
    return JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
}

export function decodeEnrollRequest(value: unknown): Result<EnrollRequest> {
  if (!isObject(value)) return { ok: false, reason: 'body must be a JSON object' };
  if (!isString(value['token'], 256)) return { ok: false, reason: 'token: required string' };
  if (typeof value['publicNkey'] !== 'string' || !/^U[A-Z2-7]{55}$/.test(value['publicNkey'])) return { ok: false, reason: 'publicNkey: must be a NATS user public nkey (U…)' };
  if (!isString(value['hostname'], 253)) return { ok: false, reason: 'hostname: required string' };
  return { ok: true, value: { token: value['token'], publicNkey: value['publicNkey'], hostname: value['hostname'] } };
}

export function decodeBundleAck(data: Uint8Array | string): Result<BundleAck> {
  const v = parseJson(data);
  if (!isObject(v)) return { ok: false, reason: 'not a JSON object' };
  if (!isAgentId(v['agentId'])) return { ok: false, reason: 'agentId: missing or malformed' };
  if (!isCount(v['revision'])) return { ok: false, reason: 'revision: must be a whole number' };
  if (!isString(v['appliedAt'], 64) || Number.isNaN(Date.parse(v['appliedAt']))) return { ok: false, reason: 'appliedAt: must be a date' };
  return { ok: true, value: { agentId: v['agentId'], revision: v['revision'], appliedAt: v['appliedAt'] } };
}

export function decodeHeartbeat(data: Uint8Array | string): Result<Heartbeat> {
  const v = parseJson(data);
  if (!isObject(v)) return { ok: false, reason: 'not a JSON object' };
  if (!isAgentId(v['agentId'])) return { ok: false, reason: 'agentId: missing or malformed' };
  if (!isString(v['version'], 64)) return { ok: false, reason: 'version: required string' };
  if (!isCount(v['revision'])) return { ok: false, reason: 'revision: must be a whole number' };
  if (!isString(v['sentAt'], 64)) return { ok: false, reason: 'sentAt: required string' };
  const programs = v['programs'];
  if (!Array.isArray(programs) || programs.length > 256) return { ok: false, reason: 'programs: must be a list' };
  for (const p of programs) {
    if (!isObject(p) || !isString(p['attachType'], 64) || !isCount(p['id']) || typeof p['name'] !== 'string' || typeof p['tag'] !== 'string') {
      return { ok: false, reason: 'programs: each needs attachType, id, name, tag' };
    }
  }
  const shipped = v['shippedPrograms'];
  if (shipped !== undefined) {
    if (!Array.isArray(shipped) || shipped.length > 256) return { ok: false, reason: 'shippedPrograms: must be a list' };
    for (const p of shipped) {
      if (!isObject(p) || !isString(p['attachType'], 64) || !isString(p['name'], 64) || !isString(p['tag'], 64)) {
        return { ok: false, reason: 'shippedPrograms: each needs attachType, name, tag' };
      }
    }
  }
  const protection = v['protection'];
  if (protection !== undefined && (!isObject(protection) || (protection['mode'] !== 'enforce' && protection['mode'] !== 'taint-only') || !isString(protection['reason'], 512))) {
    return { ok: false, reason: 'protection: must be {mode: enforce|taint-only, reason}' };
  }
  const repairs = v['repairs'];
  if (repairs !== undefined) {
    if (!Array.isArray(repairs) || repairs.length > 64) return { ok: false, reason: 'repairs: must be a list' };
    for (const r of repairs) {
      if (!isObject(r) || !isString(r['at'], 64) || !isString(r['name'], 64) || !isString(r['attachType'], 64)
        || !isString(r['problem'], 64) || !isString(r['action'], 64) || (r['error'] !== undefined && !isString(r['error'], 1024))) {
        return { ok: false, reason: 'repairs: each needs at, name, attachType, problem, action' };
      }
    }
  }
  if (v['kernel'] !== undefined && !isString(v['kernel'], 256)) return { ok: false, reason: 'kernel: must be a string' };
  const counters = v['counters'];
  if (!isObject(counters) || !Object.values(counters).every(isCount)) return { ok: false, reason: 'counters: must map names to whole numbers' };
  const workloads = v['workloads'];
  if (!Array.isArray(workloads) || workloads.length > 4096) return { ok: false, reason: 'workloads: must be a list' };
  for (const w of workloads) {
    if (!isObject(w) || !isString(w['spiffeId'], 2048) || !isCount(w['processes']) || !isCount(w['requestsSigned'])
      || !Array.isArray(w['destinations']) || !w['destinations'].every((d) => isString(d, 253))
      || (w['lastUsedAt'] !== undefined && !isString(w['lastUsedAt'], 64))) {
      return { ok: false, reason: 'workloads: each needs spiffeId, processes, requestsSigned, destinations' };
    }
  }
  const bindings = v['bindings'];
  if (bindings !== undefined) {
    if (!Array.isArray(bindings) || bindings.length > 4096) return { ok: false, reason: 'bindings: must be a list' };
    for (const b of bindings) {
      const error = isObject(b) ? b['error'] : undefined;
      if (!isObject(b) || !isString(b['id'], 253) || !BINDING_STATES.has(b['state'])
        || (error !== undefined && (!isObject(error) || !isString(error['code'], 128) || !isString(error['message'], 1024)))) {
        return { ok: false, reason: 'bindings: each needs id, state (fresh|pending|failing), optional error {code, message}' };
      }
    }
  }
  const refused = v['refused'] ?? [];
  if (!Array.isArray(refused) || refused.length > 64 || !refused.every((r) => isObject(r) && isString(r['code'], 128) && typeof r['reason'] === 'string')) {
    return { ok: false, reason: 'refused: must be a list of {at, code, reason}' };
  }
  return { ok: true, value: { ...(v as unknown as Heartbeat), refused: refused as RefusedBundle[] } };
}
