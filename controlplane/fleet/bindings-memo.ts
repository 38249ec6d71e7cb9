import { createHash } from 'node:crypto';
import type { BindingSpec } from '../../protocol/bindings.js';
import { computeBindingsFor, type AgentInfo } from '../bindings/compute.js';
import type { Resource, WorkloadIdentity } from '../resources/types.js';

export interface AgentBindings {
  bindings: BindingSpec[];
  /** sha256 of the bindings' JSON: a new revision with the same digest is not pushed. */
  digest: string;
}

/**
 * One refresh's bindings per agent, computed once per distinct label set: an agent's bindings depend
 * only on its labels, unless an identity names it by id (those are computed one by one). At fleet
 * scale most agents share a few label sets, so a refresh costs one computation and one digest per
 * set instead of per agent.
 */
export class BindingsMemo {
  readonly #resources: Resource[];
  readonly #named = new Set<string>();
  readonly #byLabels = new Map<string, AgentBindings>();

  constructor(resources: Iterable<Resource>) {
    this.#resources = [...resources];
    for (const r of this.#resources) {
      if (r.kind === 'WorkloadIdentity') for (const id of (r as WorkloadIdentity).spec.agents.ids ?? []) this.#named.add(id);
    }
  }

  for(agent: AgentInfo): AgentBindings {
    if (this.#named.has(agent.id)) return this.#compute(agent);
    const key = JSON.stringify(Object.entries(agent.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    let known = this.#byLabels.get(key);
    if (!known) this.#byLabels.set(key, (known = this.#compute(agent)));
    return known;
  }

  #compute(agent: AgentInfo): AgentBindings {
    const bindings = computeBindingsFor(agent, this.#resources);
    return { bindings, digest: createHash('sha256').update(JSON.stringify(bindings)).digest('hex') };
  }
}
