/**
 * The one grammar of attestation selectors (docs/architecture.md "Attestation"), used by the control plane at
 * `sigil apply` and by every agent when it compiles a bundle: what one accepts, the other accepts, so a
 * bundle that was applied never makes an agent refuse it. Syntax only; whether a selector holds for a
 * process is the agent's business (agent/attest/selectors.ts).
 */
export type SelectorKind =
  | 'unix:sha256'
  | 'unix:path'
  | 'unix:uid'
  | 'unix:gid'
  | 'unix:user'
  | 'systemd:unit'
  | 'script:sha256'
  | 'env:allow';

/** (uid_t)-1 means "no id" to the kernel (setresuid's "unchanged"); no process ever has it. */
export const MAX_ID = 4294967294;

/** A portable environment variable name (POSIX: letters, digits, underscore, not starting with a digit). */
export function isEnvName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
}

function isId(v: string): boolean {
  return /^(0|[1-9][0-9]{0,9})$/.test(v) && Number(v) <= MAX_ID;
}

export const SELECTOR_SYNTAX: Readonly<Record<SelectorKind, { valid: (value: string) => boolean; expect: string }>> = {
  'unix:sha256': { valid: (v) => /^[0-9a-f]{64}$/.test(v), expect: '64 lower-case hex digits' },
  'unix:path': { valid: (v) => v.startsWith('/') && !v.includes('\0'), expect: 'an absolute path' },
  'unix:uid': { valid: isId, expect: `a decimal uid from 0 to ${MAX_ID}` },
  'unix:gid': { valid: isId, expect: `a decimal gid from 0 to ${MAX_ID}` },
  'unix:user': { valid: (v) => /^[a-z_][a-z0-9_.-]*\$?$/i.test(v), expect: 'a user name' },
  'systemd:unit': { valid: (v) => /^[A-Za-z0-9:_.\\@-]+\.(service|scope)$/.test(v), expect: 'a unit name ending in .service or .scope' },
  'script:sha256': { valid: (v) => /^[0-9a-f]{64}$/.test(v), expect: '64 lower-case hex digits' },
  'env:allow': { valid: isEnvName, expect: 'an environment variable name (letters, digits, _; not starting with a digit)' },
};

export const SELECTOR_KINDS = Object.keys(SELECTOR_SYNTAX) as SelectorKind[];

/**
 * Kinds that name no fact of the process but permit something (`env:allow`): they may repeat with
 * different values, and they alone never make an identity (it would match every process).
 */
export const PERMISSION_KINDS: ReadonlySet<SelectorKind> = new Set(['env:allow']);

/** The kind and value of a selector whose prefix is known (the value is not checked), else undefined. */
export function splitSelector(text: string): { kind: SelectorKind; value: string } | undefined {
  const kind = SELECTOR_KINDS.find((k) => text.startsWith(`${k}:`));
  return kind === undefined ? undefined : { kind, value: text.slice(kind.length + 1) };
}

/** What is wrong with one selector, or undefined when it is valid. The message quotes the selector. */
export function selectorProblem(text: string): string | undefined {
  const split = splitSelector(text);
  if (split === undefined) {
    return `unknown selector "${text}" (expected one of ${SELECTOR_KINDS.map((k) => `${k}:…`).join(', ')})`;
  }
  const syntax = SELECTOR_SYNTAX[split.kind];
  return syntax.valid(split.value) ? undefined : `bad selector "${text}": value must be ${syntax.expect}`;
}

/**
 * What is wrong with the selectors of one identity as a set (each one already valid), or undefined:
 * - not empty, and not only permissions (either would match every process);
 * - one value per fact: every fact has a single value, so two different values could never hold;
 * - `script:sha256` only together with `unix:sha256` (the command line is the process's to write, so the
 *   interpreter that reads the script must be pinned).
 * Repeating the very same selector is harmless here (the control plane refuses it as a duplicate).
 */
export function selectorSetProblem(texts: readonly string[]): string | undefined {
  if (texts.length === 0) return 'an identity needs at least one selector';
  const byKind = new Map<SelectorKind, string>();
  for (const text of texts) {
    const split = splitSelector(text);
    if (split === undefined) return selectorProblem(text);
    const other = byKind.get(split.kind);
    if (other !== undefined && other !== text && !PERMISSION_KINDS.has(split.kind)) {
      return `selectors "${other}" and "${text}" can never both hold`;
    }
    if (other === undefined) byKind.set(split.kind, text);
  }
  if ([...byKind.keys()].every((k) => PERMISSION_KINDS.has(k))) {
    return 'an identity needs at least one selector that names the process (env:allow: only permits)';
  }
  const script = byKind.get('script:sha256');
  if (script !== undefined && !byKind.has('unix:sha256')) {
    return `selector "${script}" needs unix:sha256 of the interpreter in the same identity`;
  }
  return undefined;
}
