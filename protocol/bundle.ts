/**
 * The per-agent policy bundle: what the control plane signs (controlplane/fleet/bundle-signing-key.ts)
 * and every agent verifies (agent/fleet/bundle-verifier.ts), decodes here field by field, and applies
 * (agent/daemon/policy-applier.ts). This file is its one owner: types, format version, JWS type and the
 * decoder. A bundle the decoder accepts is one every agent of this format can apply; anything else is
 * refused whole, naming the first field that is wrong, before any part of the agent sees it.
 */
import { isAgentId } from './subjects.js';
import { isResourceName } from './names.js';
import { hostnameProblem, HTTP_METHODS } from './hostnames.js';
import { spiffeIdProblem } from './spiffe-id.js';
import { selectorProblem, selectorSetProblem } from './selectors.js';
import type { BindingSpec } from './bindings.js';

/**
 * The bundle format this code reads and writes. A change that an older agent would misread bumps it;
 * an agent refuses a newer format whole (SIGIL_ERR_BUNDLE_FORMAT) instead of applying part of it.
 * Bundles from control planes older than the field carry none and are format 1.
 */
export const BUNDLE_FORMAT = 1;

/** JWS `typ` of a signed bundle, so no other ES256 JWT of ours can pass for one. */
export const BUNDLE_JWS_TYPE = 'sigil-bundle+jws';

/** Longest token lifetime a bundle may carry (a day); policy allows far less (bindings.ts SESSION_TTL_*). */
export const BINDING_TTL_MAX_SECONDS = 86_400;

/** A bundle holds at most this many bindings (the agent's maps and the heartbeat are sized for it). */
export const BUNDLE_MAX_BINDINGS = 4096;

/** The per-agent policy bundle, signed by the control plane and versioned by a monotonic revision. */
export interface AgentBundle {
  format?: number;
  agentId: string;
  revision: number;
  issuedAt: string;
  bindings: BindingSpec[];
}

export type BundleDecodeResult =
  | { ok: true; bundle: AgentBundle }
  | { ok: false; field: string; reason: string; format?: true };

class FieldProblem extends Error {
  constructor(readonly field: string, readonly reason: string, readonly format = false) {
    super(`${field}: ${reason}`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function need(ok: boolean, field: string, reason: string): void {
  if (!ok) throw new FieldProblem(field, reason);
}

function stringList(v: unknown, field: string, each: (s: string) => string | undefined, opts: { nonEmpty: boolean; max: number }): string[] {
  need(Array.isArray(v), field, 'must be a list of strings');
  const list = v as unknown[];
  need(!opts.nonEmpty || list.length > 0, field, 'must not be empty');
  need(list.length <= opts.max, field, `has more than ${opts.max} entries`);
  list.forEach((item, i) => {
    need(typeof item === 'string', `${field}[${i}]`, 'must be a string');
    const problem = each(item as string);
    if (problem !== undefined) throw new FieldProblem(`${field}[${i}]`, problem);
  });
  return list as string[];
}

function decodeBinding(v: unknown, at: string): BindingSpec {
  need(isObject(v), at, 'must be an object');
  const b = v as Record<string, unknown>;
  need(isResourceName(b['id']), `${at}.id`, 'must be a resource name');
  need(typeof b['spiffeId'] === 'string', `${at}.spiffeId`, 'must be a string');
  const spiffe = spiffeIdProblem(b['spiffeId'] as string);
  if (spiffe !== undefined) throw new FieldProblem(`${at}.spiffeId`, spiffe);
  need(isResourceName(b['workload']), `${at}.workload`, 'must be a resource name');
  const selectors = stringList(b['selectors'], `${at}.selectors`, selectorProblem, { nonEmpty: true, max: 64 });
  const setProblem = selectorSetProblem(selectors);
  if (setProblem !== undefined) throw new FieldProblem(`${at}.selectors`, setProblem);
  const destinations = stringList(b['destinations'], `${at}.destinations`, hostnameProblem, { nonEmpty: true, max: 256 });
  const methods = b['methods'] === undefined ? undefined : stringList(b['methods'], `${at}.methods`,
    (m) => ((HTTP_METHODS as readonly string[]).includes(m) ? undefined : `"${m}" is not one of ${HTTP_METHODS.join(', ')}`), { nonEmpty: true, max: HTTP_METHODS.length });
  const ttl = b['ttlSeconds'];
  // The control plane bounds what policy may ask for (SESSION_TTL_*); the agent only needs a sane number.
  need(typeof ttl === 'number' && Number.isInteger(ttl) && ttl >= 1 && ttl <= BINDING_TTL_MAX_SECONDS,
    `${at}.ttlSeconds`, `must be a whole number of seconds from 1 to ${BINDING_TTL_MAX_SECONDS}`);
  need(isResourceName(b['source']), `${at}.source`, 'must be a resource name');
  const unbound = b['unboundAccess'];
  need(unbound === undefined || unbound === 'allow' || unbound === 'deny', `${at}.unboundAccess`, 'must be allow or deny');
  // Built anew, so a field this format does not know never reaches the agent's parts.
  return {
    id: b['id'] as string,
    spiffeId: b['spiffeId'] as string,
    workload: b['workload'] as string,
    selectors: [...selectors],
    destinations: [...destinations],
    ...(methods ? { methods: [...methods] } : {}),
    ttlSeconds: ttl as number,
    source: b['source'] as string,
    ...(unbound === 'deny' || unbound === 'allow' ? { unboundAccess: unbound } : {}),
  };
}

/**
 * Decodes a verified bundle payload (parsed JSON) field by field, in the manner of jose's
 * validateClaimsSet: the first wrong field is named with why; unknown fields are dropped.
 */
export function decodeBundle(value: unknown): BundleDecodeResult {
  try {
    need(isObject(value), '(bundle)', 'must be a JSON object');
    const v = value as Record<string, unknown>;
    const format = v['format'] ?? 1;
    if (!(typeof format === 'number' && Number.isInteger(format) && format >= 1)) throw new FieldProblem('format', 'must be a whole number ≥ 1');
    if (format > BUNDLE_FORMAT) throw new FieldProblem('format', `is ${format}; this agent reads format ${BUNDLE_FORMAT} (upgrade the agent)`, true);
    need(isAgentId(v['agentId']), 'agentId', 'must be an agent id');
    need(typeof v['revision'] === 'number' && Number.isSafeInteger(v['revision']) && v['revision'] >= 0, 'revision', 'must be a whole number ≥ 0');
    need(typeof v['issuedAt'] === 'string' && v['issuedAt'].length <= 64 && !Number.isNaN(Date.parse(v['issuedAt'])), 'issuedAt', 'must be a date');
    need(Array.isArray(v['bindings']), 'bindings', 'must be a list');
    const raw = v['bindings'] as unknown[];
    need(raw.length <= BUNDLE_MAX_BINDINGS, 'bindings', `has more than ${BUNDLE_MAX_BINDINGS} entries`);
    const bindings = raw.map((b, i) => decodeBinding(b, `bindings[${i}]`));
    const ids = new Set<string>();
    bindings.forEach((b, i) => {
      need(!ids.has(b.id), `bindings[${i}].id`, `"${b.id}" appears twice`);
      ids.add(b.id);
    });
    return { ok: true, bundle: { format: format as number, agentId: v['agentId'] as string, revision: v['revision'] as number, issuedAt: v['issuedAt'] as string, bindings } };
  } catch (err) {
    if (err instanceof FieldProblem) return { ok: false, field: err.field, reason: err.reason, ...(err.format ? { format: true as const } : {}) };
    throw err;
  }
}
