/**
 * The console's inventory: `sigil inventory`'s rows (controlplane/fleet/views.ts inventory(), the same
 * computation) joined with what the resources say each identity may do: selectors, each credential's
 * destinations, methods and source, and the OCI principal its tokens name (last exchange).
 */
import type { InventoryItem } from '../fleet/index.js';
import type { PrincipalBook } from '../exchange/index.js';
import type { Snapshot } from '../store/resource-store.js';
import type { CredentialSource, WorkloadCredential, WorkloadIdentity } from '../resources/types.js';

export interface CredentialReach {
  name: string;
  destinations: string[];
  /** Absent: every method. */
  methods: string[] | undefined;
  source: string;
  region: string | undefined;
  unboundAccess: 'allow' | 'deny';
  principal: string | undefined;
}

export interface IdentityView extends InventoryItem {
  selectors: string[];
  credentials: CredentialReach[];
  /** No owner named (nobody answers for it). */
  orphaned: boolean;
}

export function inventoryView(items: InventoryItem[], snapshot: Snapshot, principals: PrincipalBook | undefined): IdentityView[] {
  const resources = [...snapshot.resources.values()];
  const identities = new Map(resources.filter((r): r is WorkloadIdentity => r.kind === 'WorkloadIdentity').map((r) => [r.metadata.name, r]));
  const sources = new Map(resources.filter((r): r is CredentialSource => r.kind === 'CredentialSource').map((r) => [r.metadata.name, r]));
  const credentials = resources.filter((r): r is WorkloadCredential => r.kind === 'WorkloadCredential');
  return items.map((item) => {
    const identity = identities.get(item.workload);
    return {
      ...item,
      selectors: identity?.spec.selectors ?? [],
      orphaned: item.owner.trim() === '',
      credentials: credentials.filter((c) => c.spec.workload === item.workload).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)).map((c) => ({
        name: c.metadata.name,
        destinations: [...c.spec.destinations].sort(),
        methods: c.spec.methods,
        source: c.spec.source,
        region: sources.get(c.spec.source)?.spec.region,
        unboundAccess: c.spec.unboundAccess ?? 'allow',
        principal: principals?.principalOf(c.metadata.name)?.principal,
      })),
    };
  });
}
