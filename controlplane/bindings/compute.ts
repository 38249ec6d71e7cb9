import { DEFAULT_SESSION_TTL_SECONDS, type BindingSpec } from '../../protocol/bindings.js';
import type { AgentSelector, Resource, WorkloadCredential, WorkloadIdentity } from '../resources/types.js';
import { resourceKey } from '../resources/types.js';
import { durationSeconds } from '../resources/duration.js';

/** What the bundle computation needs to know about an agent. */
export interface AgentInfo {
  id: string;
  labels: Record<string, string>;
}

/** An identity applies to an agent listed by id, or to one carrying every one of the listed labels. */
export function agentMatches(selector: AgentSelector, agent: AgentInfo): boolean {
  if (selector.ids?.includes(agent.id)) return true;
  const labels = Object.entries(selector.labels ?? {});
  return labels.length > 0 && labels.every(([key, value]) => agent.labels[key] === value);
}

/**
 * The bindings one agent should hold: one per WorkloadCredential whose identity selects that agent.
 * Pure and deterministic (sorted by binding id), so the fleet can diff bundles and skip no-op pushes.
 * Never includes a secret: the source is named, not resolved.
 */
export function computeBindingsFor(agent: AgentInfo, resources: Iterable<Resource>): BindingSpec[] {
  const byKey = new Map<string, Resource>();
  for (const resource of resources) byKey.set(resourceKey(resource.kind, resource.metadata.name), resource);
  const bindings: BindingSpec[] = [];
  for (const resource of byKey.values()) {
    if (resource.kind !== 'WorkloadCredential') continue;
    const credential = resource as WorkloadCredential;
    const identity = byKey.get(resourceKey('WorkloadIdentity', credential.spec.workload)) as WorkloadIdentity | undefined;
    if (!identity || !agentMatches(identity.spec.agents, agent)) continue;
    const binding: BindingSpec = {
      id: credential.metadata.name,
      spiffeId: identity.spec.spiffeId,
      workload: identity.metadata.name,
      selectors: [...identity.spec.selectors],
      destinations: [...credential.spec.destinations],
      ttlSeconds: durationSeconds(credential.spec.ttl) ?? DEFAULT_SESSION_TTL_SECONDS,
      source: credential.spec.source,
    };
    if (credential.spec.methods) binding.methods = [...credential.spec.methods];
    // Only the non-default value travels, so bundles of policies that never use it stay unchanged.
    if (credential.spec.unboundAccess === 'deny') binding.unboundAccess = 'deny';
    bindings.push(binding);
  }
  return bindings.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
