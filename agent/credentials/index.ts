/**
 * Session credentials per binding: RSA session keys in memory, tokens by exchange with the control
 * plane, refresh before expiry, and the opt-in file fallback. `CredentialManager` is the signer's
 * CredentialProvider.
 */
export { CredentialManager, type CredentialListener, type CredentialManagerOptions, type CredentialStats } from './credential-manager.js';
export type { BindingStatus, IssuedCredential } from './binding-credential.js';
export { NatsExchangeClient, type ExchangeClient, type ExchangedToken, type NatsExchangeClientOptions } from './exchange-client.js';
export { DEFAULT_TIMING, type RefreshTiming } from './refresh-timing.js';
export { CREDENTIAL_ERRORS, CredentialError } from './errors.js';
export { createSessionKey, type SessionKey } from './session-key.js';
export { FileFallback, FALLBACK_FILES, type FallbackStatus } from './file-fallback/file-fallback.js';
export { parseFileFallbackConfigs, type FileFallbackConfig } from './file-fallback/config.js';
