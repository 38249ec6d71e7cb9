/**
 * The agent's metric families. Parts report into one AgentMetrics (the composition root hands it
 * around); the BPF counters and the policy revision are read at scrape time, so they are never stale.
 * Label values are bounded sets (HTTP status, error codes, counter names): no SPIFFE IDs, no paths.
 */
import type { AuditEvent } from '../signer/index.js';
import { LabelledCounter, renderExposition, type MetricFamily } from '../../common/metrics/exposition.js';
import { buildInfoFamily } from '../../common/metrics/build-info.js';
import { processFamilies } from '../../common/metrics/process.js';

export interface AgentMetricsSources {
  /** KernelSteering.counters(): per-branch BPF counters summed over CPUs; undefined before attach. */
  bpfCounters?: () => Record<string, number> | undefined;
  /** The policy (bundle) revision the agent runs; undefined before the first bundle. */
  policyRevision?: () => number | undefined;
  /** Bindings with a credential now. */
  activeBindings?: () => number;
  /** CredentialManager.stats: requests that waited for a token although their binding had one before. */
  credentialStats?: () => { blockedOnRefresh: number };
  /** AttachWatcher.totals(): faults found in the agent's own kernel attachments, by program, problem, action. */
  programRepairs?: () => Array<{ program: string; problem: string; action: string; count: number }>;
  /** AttachWatcher.problems.length: faults not repaired yet. */
  attachProblems?: () => number;
  /** HashCache.stats (via Attestor.hashStats): executable digests served from the cache, or read. */
  attestationCache?: () => { hits: number; misses: number; joined: number };
  /** CredentialManager.stats: session-token exchanges that succeeded, and that failed. */
  tokenRefreshes?: () => { refreshes: number; failures: number };
}

/** "passedNotListed" → "passed_not_listed". */
const snake = (name: string): string => name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

export class AgentMetrics {
  readonly #signed = new LabelledCounter();
  readonly #denials = new LabelledCounter();
  readonly #sources: AgentMetricsSources;

  constructor(sources: AgentMetricsSources = {}) {
    this.#sources = sources;
  }

  /**
   * One signer audit event (pass as the Auditor's listener). Requests the signer forwarded with a
   * signature count by upstream status; requests it answered itself count as denials by error code.
   */
  observeRequest(event: AuditEvent): void {
    if (event.errorCode !== undefined) this.#denials.inc(event.errorCode);
    else this.#signed.inc(String(event.status));
  }

  /** A refusal decided outside the signer's audit path (e.g. a connection closed before any request). */
  denied(reason: string): void {
    this.#denials.inc(reason);
  }

  families(): MetricFamily[] {
    const bpf = this.#sources.bpfCounters?.() ?? {};
    const revision = this.#sources.policyRevision?.();
    // Counted where they happen (the hash cache, each binding's exchange), read here: never stale.
    const cache = this.#sources.attestationCache?.();
    const refreshes = this.#sources.tokenRefreshes?.();
    const families: MetricFamily[] = [
      { name: 'sigil_agent_steered_connections_total', type: 'counter', help: 'Connections the kernel redirected to the signer.',
        samples: bpf['steered'] === undefined ? [] : [{ value: bpf['steered'] }] },
      { name: 'sigil_agent_signed_requests_total', type: 'counter', help: 'Requests signed and forwarded, by upstream HTTP status.',
        samples: this.#signed.samples('code') },
      { name: 'sigil_agent_denials_total', type: 'counter', help: 'Requests or connections the agent refused, by reason (SIGIL error code).',
        samples: this.#denials.samples('reason') },
      { name: 'sigil_agent_attestation_cache_total', type: 'counter', help: 'Executable hash lookups in the attestation cache, by result.',
        samples: cache === undefined ? [] : [{ labels: { result: 'hit' }, value: cache.hits + cache.joined }, { labels: { result: 'miss' }, value: cache.misses }] },
      { name: 'sigil_agent_token_refreshes_total', type: 'counter', help: 'Session-token exchanges, by result (ok or failed).',
        samples: refreshes === undefined ? [] : [{ labels: { result: 'ok' }, value: refreshes.refreshes }, { labels: { result: 'failed' }, value: refreshes.failures }] },
      { name: 'sigil_agent_bpf_counter_total', type: 'counter', help: 'BPF program branch counters (summed over CPUs), by counter.',
        samples: Object.entries(bpf).sort(([a], [b]) => a.localeCompare(b)).map(([name, value]) => ({ labels: { counter: snake(name) }, value })) },
      { name: 'sigil_agent_policy_revision', type: 'gauge', help: 'Policy bundle revision the agent runs (absent before the first bundle).',
        samples: revision === undefined ? [] : [{ value: revision }] },
    ];
    if (this.#sources.activeBindings) {
      families.push({ name: 'sigil_agent_active_bindings', type: 'gauge', help: 'Bindings on this host.', samples: [{ value: this.#sources.activeBindings() }] });
    }
    if (this.#sources.credentialStats) {
      families.push({ name: 'sigil_agent_credential_blocked_on_refresh_total', type: 'counter', help: 'Requests that waited on a session-token refresh (should stay 0).',
        samples: [{ value: this.#sources.credentialStats().blockedOnRefresh }] });
    }
    if (this.#sources.programRepairs) {
      families.push({ name: 'sigil_agent_program_repairs_total', type: 'counter',
        help: 'Faults found in the agent\'s own kernel attachments (detached, replaced, unpinned, ...), by program, problem and action taken.',
        samples: this.#sources.programRepairs().map((r) => ({ labels: { program: r.program, problem: r.problem, action: r.action }, value: r.count })) });
    }
    if (this.#sources.attachProblems) {
      families.push({ name: 'sigil_agent_attach_problems', type: 'gauge', help: 'Faults in the agent\'s kernel attachments not repaired yet (0 when healthy).',
        samples: [{ value: this.#sources.attachProblems() }] });
    }
    families.push(buildInfoFamily('agent'), ...processFamilies());
    return families;
  }

  /** Prometheus text 0.0.4, for startAdminServer's `metrics`. */
  render(): string {
    return renderExposition(this.families());
  }
}
