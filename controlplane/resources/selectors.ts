/**
 * The attestation selector syntax (DESIGN.md "Attestation"). Syntax only: whether a process matches is
 * the agent's business. Returns what is wrong with one selector, or undefined when valid.
 */
const RULES: Array<{ prefix: string; value: RegExp; expect: string }> = [
  { prefix: 'unix:sha256:', value: /^[0-9a-f]{64}$/, expect: '64 lower-case hex digits' },
  { prefix: 'unix:path:', value: /^\/[^\0]*$/, expect: 'an absolute path' },
  { prefix: 'unix:uid:', value: /^(0|[1-9][0-9]{0,9})$/, expect: 'a decimal uid' },
  { prefix: 'unix:gid:', value: /^(0|[1-9][0-9]{0,9})$/, expect: 'a decimal gid' },
  { prefix: 'unix:user:', value: /^[a-z_][a-z0-9_.-]*\$?$/i, expect: 'a user name' },
  { prefix: 'systemd:unit:', value: /^[A-Za-z0-9:_.\\@-]+\.(service|scope)$/, expect: 'a unit name ending in .service or .scope' },
  { prefix: 'script:sha256:', value: /^[0-9a-f]{64}$/, expect: '64 lower-case hex digits' },
];

export function selectorProblem(selector: string): string | undefined {
  const rule = RULES.find((r) => selector.startsWith(r.prefix));
  if (!rule) {
    return `unknown selector "${selector}" (expected one of ${RULES.map((r) => `${r.prefix}…`).join(', ')})`;
  }
  const value = selector.slice(rule.prefix.length);
  if (!rule.value.test(value)) return `"${selector}": value must be ${rule.expect}`;
  return undefined;
}

/** Rules across the whole list: a script hash means nothing unless the interpreter is pinned too. */
export function selectorListProblem(selectors: string[]): string | undefined {
  const hasScript = selectors.some((s) => s.startsWith('script:sha256:'));
  const hasExe = selectors.some((s) => s.startsWith('unix:sha256:'));
  if (hasScript && !hasExe) return 'script:sha256 must be combined with unix:sha256 of the interpreter';
  return undefined;
}
