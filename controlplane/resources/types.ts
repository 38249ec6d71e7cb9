import type { Kind } from './kinds.js';

/** Which agents (hosts) a workload identity may be bound on: listed ids, or all labels matching. */
export interface AgentSelector {
  ids?: string[];
  labels?: Record<string, string>;
}

export interface WorkloadIdentitySpec {
  spiffeId: string;
  selectors: string[];
  agents: AgentSelector;
  /** The team or person answerable for this identity. */
  owner: string;
}

export interface CredentialSourceSpec {
  kind: 'oci';
  /** IAM identity domain URL, https. */
  domainUrl: string;
  clientId: string;
  /** Absolute path of a file only the control plane reads; the secret itself is never stored. */
  clientSecretFile: string;
  region: string;
  caFile?: string;
  tokenLifetimeSeconds?: number;
}

export interface WorkloadCredentialSpec {
  workload: string;
  source: string;
  destinations: string[];
  methods?: string[];
  /** "15m", "900s", "1h" or a number of seconds; 300..3600 seconds. */
  ttl: string | number;
  /**
   * Egress lock. `deny`: on the hosts of this credential's agents, a process not bound to these
   * destinations cannot connect to them at all (the kernel refuses the connect with EPERM), so an OCI
   * key stolen elsewhere is useless there. Default `allow`: unbound processes connect directly, unsigned.
   */
  unboundAccess?: UnboundAccess;
}

export const UNBOUND_ACCESS = ['allow', 'deny'] as const;
export type UnboundAccess = (typeof UNBOUND_ACCESS)[number];

export interface SpecOf {
  WorkloadIdentity: WorkloadIdentitySpec;
  CredentialSource: CredentialSourceSpec;
  WorkloadCredential: WorkloadCredentialSpec;
}

export interface ResourceMetadata {
  name: string;
  /** Set by the store: the policy revision at which this resource last changed. */
  policyRevision?: number;
  /** Set by the store: when it last changed (ISO 8601). */
  updatedAt?: string;
}

export interface Resource<K extends Kind = Kind> {
  apiVersion: string;
  kind: K;
  metadata: ResourceMetadata;
  spec: SpecOf[K];
}

export type WorkloadIdentity = Resource<'WorkloadIdentity'>;
export type CredentialSource = Resource<'CredentialSource'>;
export type WorkloadCredential = Resource<'WorkloadCredential'>;

/** `<kind>.<name>`: the resource's key in the store and its identity in a change set. */
export function resourceKey(kind: Kind, name: string): string {
  return `${kind}.${name}`;
}
