/** Attestation: who a process is (facts, selectors) and which workload it is bound to on this host. */
export { Attestor, type Attestation, type AttestorOptions } from './attestor.js';
export { ATTEST_ERR } from './errors.js';
export { readProcessFacts, type FactsDeps, type ProcessFacts } from './facts.js';
export { injectionReason, injectionVariables } from './injection-env.js';
export { HashCache, type FileDigest, type HashCacheOptions, type HashCacheStats } from './hash-cache.js';
export { interpreterFamily, scriptArgument, type InterpreterFamily } from './interpreter.js';
export { Matcher, type MatchResult, type UnboundReason, type WorkloadEntry } from './matcher.js';
export { PasswdNames } from './passwd.js';
export { parseEnviron, readEnviron, type ProcessEnviron } from './proc-environ.js';
export { nsFromTicks, parseProcStat, readProcStat, sameStart, ticksFromNs, type ProcStat } from './proc-stat.js';
export {
  allHold, disallowedInjectionEnv, parseSelector, parseSelectorSet, selectorHolds, selectorsThatHold,
  type Selector, type SelectorKind,
} from './selectors.js';
export { systemdUnitFromCgroup } from './systemd-unit.js';
export type { ProcessEvent, ProcessState, ProcessStateEntry, ProcessStateSink } from './types.js';
export { type ImageRecord } from './types.js';
