import { AgentError } from '../errors.js';
import { ATTEST_ERR } from './errors.js';
import type { ProcessFacts } from './facts.js';

/**
 * Attestation selectors (DESIGN.md "Attestation"). Every selector names one fact of a process; an
 * identity matches a process when ALL its selectors hold. The syntax matches the control plane's
 * validation (controlplane/resources/selectors.ts) so a bundle it accepted parses here.
 */
export type SelectorKind =
  | 'unix:sha256'
  | 'unix:path'
  | 'unix:uid'
  | 'unix:gid'
  | 'unix:user'
  | 'systemd:unit'
  | 'script:sha256';

export interface Selector {
  kind: SelectorKind;
  value: string;
  /** The selector as written, e.g. `unix:uid:1000`. */
  text: string;
}

const MAX_ID = 4294967294; // (uid_t)-1 is "no id"

const SYNTAX: Record<SelectorKind, { valid: (v: string) => boolean; expect: string }> = {
  'unix:sha256': { valid: (v) => /^[0-9a-f]{64}$/.test(v), expect: '64 lower-case hex digits' },
  'unix:path': { valid: (v) => v.startsWith('/') && !v.includes('\0'), expect: 'an absolute path' },
  'unix:uid': { valid: isId, expect: 'a decimal uid' },
  'unix:gid': { valid: isId, expect: 'a decimal gid' },
  'unix:user': { valid: (v) => /^[a-z_][a-z0-9_.-]*\$?$/i.test(v), expect: 'a user name' },
  'systemd:unit': { valid: (v) => /^[A-Za-z0-9:_.\\@-]+\.(service|scope)$/.test(v), expect: 'a unit name ending in .service or .scope' },
  'script:sha256': { valid: (v) => /^[0-9a-f]{64}$/.test(v), expect: '64 lower-case hex digits' },
};

const KINDS = Object.keys(SYNTAX) as SelectorKind[];

function isId(v: string): boolean {
  return /^(0|[1-9][0-9]{0,9})$/.test(v) && Number(v) <= MAX_ID;
}

function selectorError(message: string): AgentError {
  return new AgentError(ATTEST_ERR.SELECTOR, message);
}

/** Parses one selector; a syntax error throws SIGIL_ERR_ATTEST_SELECTOR naming the selector. */
export function parseSelector(text: string): Selector {
  const kind = KINDS.find((k) => text.startsWith(`${k}:`));
  if (kind === undefined) {
    throw selectorError(`unknown selector "${text}" (expected one of ${KINDS.map((k) => `${k}:…`).join(', ')})`);
  }
  const value = text.slice(kind.length + 1);
  if (!SYNTAX[kind].valid(value)) throw selectorError(`bad selector "${text}": value must be ${SYNTAX[kind].expect}`);
  return { kind, value, text };
}

/**
 * Parses the selectors of one identity and checks them as a set:
 * - not empty (an empty set would match every process);
 * - `script:sha256` only together with `unix:sha256` (cmdline is writable by the process, so the
 *   interpreter that reads the script must be pinned);
 * - one value per kind: every fact has a single value, so two different values could never hold.
 */
export function parseSelectorSet(texts: readonly string[]): Selector[] {
  if (texts.length === 0) throw selectorError('an identity needs at least one selector');
  const selectors = texts.map(parseSelector);
  const byKind = new Map<SelectorKind, Selector>();
  for (const s of selectors) {
    const other = byKind.get(s.kind);
    if (other && other.value !== s.value) {
      throw selectorError(`selectors "${other.text}" and "${s.text}" can never both hold`);
    }
    byKind.set(s.kind, s);
  }
  const script = byKind.get('script:sha256');
  if (script && !byKind.has('unix:sha256')) {
    throw selectorError(`selector "${script.text}" needs unix:sha256 of the interpreter in the same identity`);
  }
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
  }
}

/** An identity matches when all its selectors hold (the set was validated: never empty). */
export function allHold(selectors: readonly Selector[], facts: ProcessFacts): boolean {
  return selectors.length > 0 && selectors.every((s) => selectorHolds(s, facts));
}

/** Every selector that holds for this process: what an operator could write in a WorkloadIdentity. */
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
    .filter(([kind, value]) => value !== undefined && SYNTAX[kind].valid(String(value)))
    .map(([kind, value]) => `${kind}:${value}`);
}
