/** The fleet's public surface: enrolment, NATS auth, bundle distribution, health and inventory. */
export { FleetService, FLEET_BUCKET, FLEET_AUTH_FILE, fleetSettings, loadFleetAuth, type FleetSettings } from './fleet-service.js';
export {
  createNatsAuth, natsServerConfig, mintAgentUserJwt, mintFullUserCreds, agentPermissions, encodeSigilAccount,
  SIGIL_ACCOUNT_NAME, type FleetNatsAuth, type NatsAuthSetup,
} from './nats-auth.js';
export { AccountUpdater, CLAIMS_UPDATE_SUBJECT } from './account-updates.js';
export { AgentRegistry, revocationsOf, type AgentRecord } from './agent-registry.js';
export { JoinTokens, DEFAULT_JOIN_TOKEN_TTL_SECONDS, type CreatedJoinToken } from './join-tokens.js';
export { BundleSigningKey } from './bundle-signing-key.js';
export { BundleDistributor, type IssuedBundle } from './distributor.js';
export { FleetMonitor, type ExpectedProgram, type FleetMonitorSettings, type AgentState, type AgentStateName } from './fleet-monitor.js';
export { fleetStatus, inventory, type AgentStatus, type FleetStatus, type InventoryItem } from './views.js';
export { publicFleetRoutes, adminFleetRoutes } from './routes.js';
export { parseLabels } from './labels.js';
export { FLEET_CODES } from './errors.js';
export { answersOwnInbox, type RefusedReplyListener } from './reply-guard.js';
