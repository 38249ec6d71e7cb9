import { computeBindingsFor, type AgentInfo } from '../bindings/compute.js';
import { resourceKey } from '../resources/types.js';
import type { CredentialSourceSpec } from '../resources/types.js';
import type { ResourceStore } from '../store/resource-store.js';
import type { BindingOwnership, OwnedBinding } from './ports.js';

/** Who an agent is, or undefined when it is unknown or revoked (the fleet registry). */
export interface AgentDirectory {
  agentInfo(agentId: string): Promise<AgentInfo | undefined>;
}

/**
 * Ownership from the one source of truth: the agent must be enrolled and not revoked, and the
 * binding must be among those the current policy gives it — the same computation as its bundle.
 */
export class StoreBindingOwnership implements BindingOwnership {
  constructor(
    private readonly store: ResourceStore,
    private readonly agents: AgentDirectory,
  ) {}

  async bindingFor(agentId: string, bindingId: string): Promise<OwnedBinding | undefined> {
    const agent = await this.agents.agentInfo(agentId);
    if (!agent) return undefined;
    const { resources } = await this.store.snapshot();
    const spec = computeBindingsFor(agent, resources.values()).find((b) => b.id === bindingId);
    if (!spec) return undefined;
    const source = resources.get(resourceKey('CredentialSource', spec.source));
    if (!source || source.kind !== 'CredentialSource') return undefined;
    return { spec, sourceName: spec.source, source: source.spec as CredentialSourceSpec };
  }
}
