/** The control plane's credential exchange: NATS responder, exchange logic, and the `oci` driver. */
export type { BindingOwnership, CredentialDriver, DriverRequest, DriverResult, OwnedBinding, SvidMinter } from './ports.js';
export { ExchangeService, type ExchangeServiceOptions, type ExchangedListener } from './exchange-service.js';
export { PrincipalBook, type PrincipalSeen } from './principals.js';
export { startExchangeResponder, EXCHANGE_SUBSCRIPTION, type ExchangeResponder, type ExchangeResponderOptions } from './responder.js';
export { OciTokenExchangeDriver, type OciDriverOptions } from './oci-driver.js';
export { ClientSecretFiles } from './client-secret.js';
export { ExchangeError } from './errors.js';
export { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
export { StoreBindingOwnership, type AgentDirectory } from './store-ownership.js';
export { ExchangeResponderService } from './service.js';
