/**
 * What an agent is told about one binding: a workload identity on this host allowed to use one
 * credential source for some destinations. Carried in the signed per-agent bundle; never holds a secret.
 */
export interface BindingSpec {
  /** Stable id of the binding (the WorkloadCredential's name). */
  id: string;
  /** The workload identity's SPIFFE ID, e.g. spiffe://example.org/billing/exporter. */
  spiffeId: string;
  /** The WorkloadIdentity's name. */
  workload: string;
  /** Attestation selectors; a process matches when all of them hold (see agent/attest). */
  selectors: string[];
  /** Hostnames this binding may reach, lower-case, e.g. objectstorage.us-ashburn-1.oraclecloud.com. */
  destinations: string[];
  /** Upper-case HTTP methods allowed; absent means all. */
  methods?: string[];
  /** Wanted session-token lifetime in seconds. */
  ttlSeconds: number;
  /** The CredentialSource's name (the control plane resolves it; the agent never sees its secret). */
  source: string;
  /**
   * `deny`: processes not bound to these destinations are refused (EPERM) when they connect to them;
   * absent (or `allow`): they connect directly, unsigned. A hostname is locked if any binding locks it.
   */
  unboundAccess?: 'allow' | 'deny';
}

/** Session-token lifetimes a binding may ask for (OCI's UPST lifetime bounds, OCI-FACTS.md). */
export const SESSION_TTL_MIN_SECONDS = 300;
export const SESSION_TTL_MAX_SECONDS = 3600;
/** What a WorkloadCredential without `ttl` gets. */
export const DEFAULT_SESSION_TTL_SECONDS = 900;
