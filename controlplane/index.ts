/** The control plane's public surface for other parts (exchange, fleet, tests). */
export { ControlPlaneError } from './errors.js';
export { createLogger, REDACTED_PATHS, type Logger } from './log.js';
export { API_VERSION, KINDS, resolveKind, type Kind } from './resources/kinds.js';
export type { Resource, WorkloadIdentity, CredentialSource, WorkloadCredential, AgentSelector } from './resources/types.js';
export { resourceKey } from './resources/types.js';
export { parseResources } from './resources/parse.js';
export { ValidationError, describeIssue, type ValidationIssue } from './resources/issues.js';
export { durationSeconds } from './resources/duration.js';
export { computeBindingsFor, agentMatches, type AgentInfo } from './bindings/compute.js';
export { ResourceStore, type Snapshot, type CommitResult, type ChangeReport } from './store/resource-store.js';
export { openBucket, DEFAULT_BUCKET } from './store/bucket.js';
export { META_KEY, type PolicyRecord } from './store/journal.js';
export { withRetry, isCasConflict } from './store/kv-errors.js';
export { KeySet, type RotationPolicy } from './issuer/key-set.js';
export { JwtSvidIssuer, type MintedSvid } from './issuer/issuer.js';
export { loadConfig, type ControlPlaneConfig } from './config/config.js';
export { startControlPlane, type RunningControlPlane, type Service } from './server.js';
