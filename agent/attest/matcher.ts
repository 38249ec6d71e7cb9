import type { BindingSpec } from '../../protocol/bindings.js';
import { AgentError } from '../errors.js';
import { ATTEST_ERR } from './errors.js';
import type { ProcessFacts } from './facts.js';
import { allHold, disallowedInjectionEnv, parseSelectorSet, type Selector } from './selectors.js';

/**
 * One workload of this host's policy. The kernel's process map holds one number per process, so it
 * holds the workload's `index` here; the signer then picks, among `bindingsFor(tgid)`, the binding
 * whose destinations include the SNI.
 */
export interface WorkloadEntry {
  /** 1-based position in the workload table (0 means "no workload" in the process map). */
  index: number;
  workload: string;
  spiffeId: string;
  bindings: readonly BindingSpec[];
}

export type MatchResult =
  | { state: 'bound'; workload: WorkloadEntry; bindings: readonly BindingSpec[] }
  | { state: 'unbound'; reason: 'no-match' }
  | { state: 'unbound'; reason: 'ambiguous'; workloads: string[] }
  | {
    state: 'unbound';
    reason: 'injection-env';
    /** The workload whose selectors hold but whose identity does not allow this environment. */
    workload: string;
    /** Code-injection variables present that no `env:allow:` of the identity allows, sorted. */
    variables: string[];
    /** False when the environment could not be read whole (then variables may be empty). */
    envComplete: boolean;
  };

export type UnboundReason = Extract<MatchResult, { state: 'unbound' }>['reason'];

interface CompiledBinding {
  spec: BindingSpec;
  selectors: Selector[];
  workload: WorkloadEntry;
}

/**
 * Decides which workload a process gets on this host. The rule, deterministic and independent of
 * bundle order:
 * 1. a binding matches a process when all of its selectors hold;
 * 2. if the matching bindings all belong to ONE workload, the process is bound to that workload and
 *    may use exactly those bindings (several credentials/destinations for one program are normal);
 * 3. if they belong to two or more workloads the policy is ambiguous for that process: it is refused
 *    (unbound) and the caller logs a warning — guessing would hand one program another's credential;
 * 4. no match: unbound;
 * 5. a process whose environment holds a code-injection variable (injection-env.ts) that its identity
 *    does not allow with `env:allow:`, or whose environment could not be read whole, gets none of that
 *    identity's bindings: unbound, reason 'injection-env'. This comes after 3, so an allowance in one
 *    workload never settles an ambiguity with another.
 * Workloads are numbered by name (sorted), bindings within a workload are ordered by id.
 */
export class Matcher {
  readonly workloads: readonly WorkloadEntry[];
  private readonly compiled: readonly CompiledBinding[];

  private constructor(workloads: WorkloadEntry[], compiled: CompiledBinding[]) {
    this.workloads = workloads;
    this.compiled = compiled;
  }

  /** Compiles a whole bundle, or throws SIGIL_ERR_ATTEST_SELECTOR naming the binding and selector. */
  static compile(specs: readonly BindingSpec[]): Matcher {
    const sorted = [...specs].sort((a, b) => compare(a.workload, b.workload) || compare(a.id, b.id));
    const workloads: WorkloadEntry[] = [];
    const compiled: CompiledBinding[] = [];
    for (const spec of sorted) {
      let selectors: Selector[];
      try {
        selectors = parseSelectorSet(spec.selectors);
      } catch (err) {
        throw new AgentError(ATTEST_ERR.SELECTOR, `binding "${spec.id}": ${(err as Error).message}`, { cause: err });
      }
      let entry = workloads[workloads.length - 1];
      if (entry?.workload !== spec.workload) {
        entry = { index: workloads.length + 1, workload: spec.workload, spiffeId: spec.spiffeId, bindings: [] };
        workloads.push(entry);
      }
      (entry.bindings as BindingSpec[]).push(spec);
      compiled.push({ spec, selectors, workload: entry });
    }
    return new Matcher(workloads, compiled);
  }

  match(facts: ProcessFacts): MatchResult {
    const hits = this.compiled.filter((b) => allHold(b.selectors, facts));
    const first = hits[0];
    if (first === undefined) return { state: 'unbound', reason: 'no-match' };
    const names = [...new Set(hits.map((h) => h.workload.workload))];
    if (names.length > 1) return { state: 'unbound', reason: 'ambiguous', workloads: names };
    if (!facts.envComplete) {
      return { state: 'unbound', reason: 'injection-env', workload: first.workload.workload, variables: [...facts.injectionEnv], envComplete: false };
    }
    const refused = new Set<string>();
    const allowed = hits.filter((h) => {
      const variables = disallowedInjectionEnv(h.selectors, facts);
      for (const v of variables) refused.add(v);
      return variables.length === 0;
    });
    if (allowed.length === 0) {
      return { state: 'unbound', reason: 'injection-env', workload: first.workload.workload, variables: [...refused].sort(), envComplete: true };
    }
    return { state: 'bound', workload: first.workload, bindings: allowed.map((h) => h.spec) };
  }

  /** The workload at a process-map index (1-based), if any. */
  workloadAt(index: number): WorkloadEntry | undefined {
    return index >= 1 ? this.workloads[index - 1] : undefined;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
