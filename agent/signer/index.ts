/** The signer's public surface: the agent's composition root uses only these. */
export { SignerServer, type SignerDeps } from './server.js';
export { LocalCa, caPaths, DEFAULT_STATE_DIR, type LocalCaOptions } from './local-ca.js';
export { signerSettings, DEFAULT_SETTINGS, DEFAULT_LIMITS, type SignerSettings, type SignerLimits, type UpstreamSettings } from './config.js';
export { SignerError, SIGNER_ERRORS, CONNECTION_ERRORS } from './errors.js';
export type {
  ConnectionRecord, ConnectionAttributor, WorkloadResolver, ResolvedWorkload, DestinationIndex, CredentialProvider, SessionCredential,
} from './ports.js';
export type { AuditEvent, AuditListener } from './audit.js';
export * as ociSignature from './oci-signature.js';
export { PlaceholderConfigError, writePlaceholderConfig } from './placeholder-config.js';
export { unreadableByOthers } from './readable-by-all.js';
export { type AddressReclaimer } from './ports.js';
