import {
  PERMISSION_KINDS, SELECTOR_SYNTAX, selectorProblem, selectorSetProblem, splitSelector, type SelectorKind,
} from '../../protocol/selectors.js';
import { AgentError } from '../errors.js';
import { ATTEST_ERR } from './errors.js';
import type { ProcessFacts } from './facts.js';

/**
 * Attestation selectors (docs/architecture.md "Attestation"). Every selector names one fact of a process; an
 * identity matches a process when ALL its selectors hold. `env:allow:` selectors are permissions, not
 * facts: they let the named code-injection variable be present (see injection-env.ts). The syntax is
 * the one grammar in protocol/selectors.ts, which the control plane validates with at `sigil apply`.
 */
export type { SelectorKind } from '../../protocol/selectors.js';

export interface Selector {
  kind: SelectorKind;
  value: string;
  /** The selector as written, e.g. `unix:uid:1000`. */
  text: string;
}

function selectorError(message: string): AgentError {
  return new AgentError(ATTEST_ERR.SELECTOR, message);
}

/** Parses one selector; a syntax error throws SIGIL_ERR_ATTEST_SELECTOR naming the selector. */
export function parseSelector(text: string): Selector {
  const problem = selectorProblem(text);
  const split = splitSelector(text);
  if (problem !== undefined || split === undefined) throw selectorError(problem ?? `unknown selector "${text}"`);
  return { ...split, text };
}

/** Parses the selectors of one identity and checks them as a set (protocol/selectors.ts selectorSetProblem). */
export function parseSelectorSet(texts: readonly string[]): Selector[] {
  const selectors = texts.map(parseSelector);
  const problem = selectorSetProblem(texts);
  if (problem !== undefined) throw selectorError(problem);
  return selectors;
}

export function selectorHolds(selector: Selector, facts: ProcessFacts): boolean {
  switch (selector.kind) {
    case 'unix:sha256': return facts.sha256 === selector.value;
    case 'unix:path': return facts.exePath === selector.value;
    case 'unix:uid': return facts.uid === Number(selector.value);
    case 'unix:gid': return facts.gid === Number(selector.value);
    case 'unix:user': return facts.user === selector.value;
    case 'systemd:unit': return facts.systemdUnit === selector.value;
    case 'script:sha256': return facts.script?.sha256 === selector.value;
    // A permission, not a fact: checked by disallowedInjectionEnv.
    case 'env:allow': return true;
  }
}

/**
 * An identity matches when all its selectors hold (the set was validated: never empty, never only
 * permissions). The environment is checked apart (disallowedInjectionEnv), so the matcher can say why.
 */
export function allHold(selectors: readonly Selector[], facts: ProcessFacts): boolean {
  return selectors.some((s) => !PERMISSION_KINDS.has(s.kind)) && selectors.every((s) => selectorHolds(s, facts));
}

/** The code-injection variables in the process's environment that none of these `env:allow:` selectors allows. */
export function disallowedInjectionEnv(selectors: readonly Selector[], facts: ProcessFacts): string[] {
  const allowed = new Set(selectors.filter((s) => s.kind === 'env:allow').map((s) => s.value));
  return facts.injectionEnv.filter((name) => !allowed.has(name));
}

/**
 * Every selector that holds for this process: what an operator could write in a WorkloadIdentity.
 * `env:allow:` is never offered: allowing code injection is a decision, not a fact to copy.
 */
export function selectorsThatHold(facts: ProcessFacts): string[] {
  const candidates: Array<[SelectorKind, string | number | undefined]> = [
    ['unix:sha256', facts.sha256],
    ['unix:path', facts.exePath],
    ['unix:uid', facts.uid],
    ['unix:gid', facts.gid],
    ['unix:user', facts.user],
    ['systemd:unit', facts.systemdUnit],
    ['script:sha256', facts.script?.sha256],
  ];
  // Only what parses: a fact the syntax cannot express (an odd user name) is not offered.
  return candidates
    .filter(([kind, value]) => value !== undefined && SELECTOR_SYNTAX[kind].valid(String(value)))
    .map(([kind, value]) => `${kind}:${value}`);
}
