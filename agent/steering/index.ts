/**
 * Kernel steering, as the rest of the agent sees it. The raw addon stays behind this module.
 */
export {
  KernelSteering, queryCgroup, socketFd, startTimeToTicks,
  type SteeringOptions, type ProcessState, type ProcessEntry, type ProcessEvent, type SteeredConnection,
  type Destination, type AttachedProgram, type ProgramStats, type AttachOutcome,
} from './steering.js';
export {
  DestinationResolver, dnsLookup,
  type DestinationSpec, type DestinationTable, type ResolverOptions, type ResolvedAddress, type Lookup,
} from './resolver.js';
export { findCgroup2Mount, findBpffsMounts } from './mounts.js';
export { ensureBpffs, DEFAULT_BPFFS } from './bpffs.js';
export { loadNative, nativeCandidates } from './native.js';
export { SteeringError, SteeringErrorCode } from './errors.js';
export { bpfLsmStatus, chooseProtection, taintReasons, PROTECTION_SETTINGS, DEFAULT_PROTECTION, type ProtectionChoice, type ProtectionSetting } from './protection.js';
export { runDoctor, type DoctorReport, type DoctorCheck } from './doctor.js';
