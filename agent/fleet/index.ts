/** The agent's fleet side: enrolment, signed bundle intake, acks and heartbeats. */
export { enroll, loadEnrollment, ENROLLMENT_FILE, CREDS_FILE, type Enrollment } from './enrollment.js';
export { BundleVerifier } from './bundle-verifier.js';
export { FleetClient, BUNDLE_FILE, savedBindings, type FleetClientOptions } from './fleet-client.js';
export { AGENT_FLEET_CODES, BundleRefused } from './errors.js';
export { writeFileAtomic } from './state-files.js';
export { ensureStateDir } from './state-files.js';
