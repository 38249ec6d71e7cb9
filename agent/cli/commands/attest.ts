import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { BindingSpec } from '../../../protocol/bindings.js';
import { AgentError } from '../../errors.js';
import { readProcessFacts, type ProcessFacts } from '../../attest/index.js';
import { HashCache } from '../../attest/index.js';
import { Matcher, type MatchResult } from '../../attest/index.js';
import { PasswdNames } from '../../attest/index.js';
import { selectorsThatHold } from '../../attest/index.js';

export const summary = 'show what attestation sees for a process: facts, selectors that hold, binding';

const USAGE = 'usage: sigil-agent attest <pid> [--json] [--bindings <file.json>]';

/** `--bindings` takes a JSON array of BindingSpec, an AgentBundle ({ bindings: [...] }) or the agent's saved bundle.json. */
function loadBindings(file: string): BindingSpec[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read bindings file ${file}: ${(err as Error).message}`);
  }
  // The agent's saved bundle (<stateDir>/bundle.json) holds the signed JWS: read its payload (the
  // agent verified it when it applied it; this is a local diagnostic).
  const jws = (parsed as { jws?: unknown } | null)?.jws;
  if (typeof jws === 'string') {
    try {
      parsed = JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8'));
    } catch (err) {
      throw new Error(`bindings file ${file}: the saved bundle's payload is not JSON: ${(err as Error).message}`);
    }
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { bindings?: unknown } | null)?.bindings;
  if (!Array.isArray(list)) throw new Error(`bindings file ${file}: expected an array of bindings or an object with "bindings"`);
  return list as BindingSpec[];
}

type UnboundView = Extract<MatchResult, { state: 'unbound' }>;

function bindingView(match: MatchResult) {
  if (match.state === 'bound') {
    return {
      state: 'bound' as const,
      workload: match.workload.workload,
      spiffeId: match.workload.spiffeId,
      bindings: match.bindings.map((b) => ({ id: b.id, destinations: b.destinations })),
    };
  }
  // Unbound results are plain data already (which workloads, which variables).
  return match;
}

/** Why one unbound process is refused, in words: which workload and which variables. */
function unboundDetail(binding: UnboundView): string {
  if (binding.reason === 'ambiguous') return `: ${binding.workloads.join(', ')}`;
  if (binding.reason === 'injection-env') {
    return binding.envComplete
      ? `: workload ${binding.workload} does not allow ${binding.variables.join(', ')} (env:allow:<NAME>)`
      : `: workload ${binding.workload}, but the environment could not be read whole`;
  }
  return '';
}

/**
 * What the egress lock (`unboundAccess: deny`) does to this process: the locked hostnames it is not
 * bound for. Unbound, the kernel refuses its connects there (EPERM, counted as the BPF `denied`
 * counter, no per-connect event); bound for other hosts, it is steered and the signer refuses the SNI.
 */
function egressView(bindings: readonly BindingSpec[], match: MatchResult) {
  const locking = bindings.filter((b) => b.unboundAccess === 'deny');
  if (locking.length === 0) return undefined;
  const allowed = new Set(match.state === 'bound' ? match.bindings.flatMap((b) => b.destinations.map((d) => d.toLowerCase())) : []);
  const refused = [...new Set(locking.flatMap((b) => b.destinations.map((d) => d.toLowerCase())))].filter((h) => !allowed.has(h)).sort();
  return { refused, lockedBy: locking.map((b) => b.id), how: match.state === 'bound' ? 'steered, then refused by the signer (not among its bindings)' : 'connect refused by the kernel (EPERM)' };
}

function factsView(facts: ProcessFacts) {
  // null, not absent: the operator sees that e.g. no systemd unit was found.
  return {
    ...facts,
    startTimeTicks: facts.startTimeTicks.toString(),
    user: facts.user ?? null,
    systemdUnit: facts.systemdUnit ?? null,
    script: facts.script ?? null,
  };
}

function text(facts: ProcessFacts, selectors: string[], binding: ReturnType<typeof bindingView> | undefined, egress: ReturnType<typeof egressView>): string {
  const lines = [
    `pid          ${facts.pid}`,
    `exe          ${facts.exePath}${facts.exeDeleted ? ' (deleted since exec)' : ''}`,
    `sha256       ${facts.sha256}`,
    `uid/gid      ${facts.uid}/${facts.gid} effective, ${facts.realUid}/${facts.realGid} real`,
    `user         ${facts.user ?? '-'}`,
    `systemd unit ${facts.systemdUnit ?? '-'}`,
    `started      ${facts.startTimeTicks} ticks after boot`,
  ];
  if (facts.script) lines.push(`script       ${facts.script.path} (${facts.script.interpreter}) sha256 ${facts.script.sha256}`);
  const injection = facts.injectionEnv.length > 0 ? facts.injectionEnv.join(', ') : 'none';
  lines.push(`injection    ${facts.envComplete ? injection : `${injection} (environment not readable whole: binds nothing)`}`);
  lines.push('', 'selectors that hold:', ...selectors.map((s) => `  ${s}`));
  if (binding) {
    lines.push('');
    if (binding.state === 'bound') {
      lines.push(`binding: bound to workload ${binding.workload} (${binding.spiffeId})`);
      for (const b of binding.bindings) lines.push(`  ${b.id}: ${b.destinations.join(', ')}`);
    } else {
      lines.push(`binding: unbound (${binding.reason}${unboundDetail(binding)})`);
    }
  }
  if (egress) {
    lines.push('', `egress lock (unboundAccess: deny in ${egress.lockedBy.join(', ')}):`);
    if (egress.refused.length === 0) lines.push('  none of the locked hosts is refused to this process');
    else lines.push(`  refused: ${egress.refused.join(', ')}`, `  how: ${egress.how}`);
  }
  return lines.join('\n');
}

export async function run(argv: string[]): Promise<number> {
  let values: { json?: boolean; bindings?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: { json: { type: 'boolean' }, bindings: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
    }));
  } catch (err) {
    process.stderr.write(`sigil-agent attest: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [pidText, ...extra] = positionals;
  if (pidText === undefined || extra.length > 0 || !/^[1-9]\d*$/.test(pidText)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  try {
    const bindings = values.bindings === undefined ? undefined : loadBindings(values.bindings);
    const matcher = bindings === undefined ? undefined : Matcher.compile(bindings);
    const facts = await readProcessFacts(Number(pidText), { hashes: new HashCache(), passwd: new PasswdNames() });
    const selectors = selectorsThatHold(facts);
    const match = matcher?.match(facts);
    const binding = match ? bindingView(match) : undefined;
    const egress = bindings && match ? egressView(bindings, match) : undefined;
    const out = values.json
      ? JSON.stringify({ facts: factsView(facts), selectors, ...(binding ? { binding } : {}), ...(egress ? { egress } : {}) }, null, 2)
      : text(facts, selectors, binding, egress);
    process.stdout.write(`${out}\n`);
    return 0;
  } catch (err) {
    const code = err instanceof AgentError ? ` [${err.code}]` : '';
    process.stderr.write(`sigil-agent attest: ${(err as Error).message}${code}\n`);
    return 1;
  }
}
