/**
 * Kernel steering, as the rest of the agent sees it. The raw addon stays behind this module.
 */
export {
  KernelSteering, queryCgroup, socketFd, startTimeToTicks,
  type SteeringOptions, type ProcessState, type ProcessEntry, type ProcessEvent, type SteeredConnection,
  type Destination, type AttachedProgram, type ProgramStats, type AttachOutcome, type ExpectedProgram, type LinkRepair,
} from './steering.js';
export { AttachWatcher, ATTACH_CHECK_INTERVAL_MS, type AttachWatcherOptions, type RecordedRepair } from './attach-watcher.js';
export {
  DestinationResolver, dnsLookup,
  type DestinationSpec, type DestinationTable, type ResolverOptions, type ResolvedAddress, type Lookup,
} from './resolver.js';
export { findCgroup2Mount, findBpffsMounts } from './mounts.js';
export { ensureBpffs, DEFAULT_BPFFS } from './bpffs.js';
export { loadNative, nativeCandidates } from '../../native/index.js';
export { SteeringError, SteeringErrorCode } from './errors.js';
export { bpfLsmStatus, chooseProtection, taintReasons, PROTECTION_SETTINGS, DEFAULT_PROTECTION, type ProtectionChoice, type ProtectionSetting } from './protection.js';
export { runDoctor, type DoctorReport, type DoctorCheck } from './doctor.js';
export {
  endConnections, listenersOn, destroySocket, ownersOf, socketInodes, canonicalAddr, TCP_STATE,
  type TcpSocket, type Endpoint, type EndResult, type SocketOwner,
} from './sockets.js';
export {
  unprivilegedPortStart, unprivilegedPortProblem, squattersOn, describeSquatter, reclaimSignerAddress,
  UNPRIVILEGED_PORT_START_FILE, type Squatter,
} from './signer-address.js';
