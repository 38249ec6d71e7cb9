import { basename } from 'node:path';
import type { ProcessFacts } from './facts.js';

/**
 * Signals that make a runtime open a debugger or code-loading channel to any process of the same
 * uid: node starts its inspector on SIGUSR1 (`node inspect -p <pid>`), the JVM starts its attach
 * listener on SIGQUIT (then loads agents: `jcmd`, `jattach`). For a bound process the kernel taints
 * (or, in enforce mode, refuses) such a signal from another process (bpf/abi.h sigil_proc).
 */
const SIGQUIT = 3;
const SIGUSR1 = 10;

const BY_RUNTIME: Array<[RegExp, number[]]> = [
  [/^(node|nodejs)$/, [SIGUSR1]],
  [/^java$/, [SIGQUIT]],
];

/** The guarded-signal mask (bit sig-1) for a process's runtime, 0 when it has none. */
export function debuggerSignals(facts: Pick<ProcessFacts, 'exePath'>): number {
  const name = basename(facts.exePath);
  const signals = BY_RUNTIME.find(([re]) => re.test(name))?.[1] ?? [];
  return signals.reduce((mask, sig) => mask | (1 << (sig - 1)), 0);
}
