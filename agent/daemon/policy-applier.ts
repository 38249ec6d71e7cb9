import type { Logger } from 'pino';
import type { BindingSpec } from '../../protocol/bindings.js';
import type { AgentBundle } from '../../protocol/bundle.js';
import type { Attestor } from '../attest/index.js';
import type { CredentialManager } from '../credentials/index.js';
import type { DestinationResolver, DestinationSpec } from '../steering/index.js';

/** OCI endpoints are HTTPS on 443; the destination map is keyed by address and port. */
export const OCI_PORT = 443;

/** Every hostname some binding may reach, once each, sorted (the destination map's input). */
export function destinationHosts(bindings: readonly BindingSpec[]): string[] {
  return [...new Set(bindings.flatMap((b) => b.destinations.map((d) => d.toLowerCase())))].sort();
}

/**
 * The destination map's input: each hostname on the OCI port, `deny` (the kernel refuses unbound
 * processes) when any binding reaching it has `unboundAccess: deny` — the lock is per destination in
 * the kernel, so one locking credential locks the host for every process not bound to it.
 */
export function destinationSpecs(bindings: readonly BindingSpec[]): DestinationSpec[] {
  const locked = new Set(bindings.filter((b) => b.unboundAccess === 'deny').flatMap((b) => b.destinations.map((d) => d.toLowerCase())));
  return destinationHosts(bindings).map((hostname) => ({ hostname, port: OCI_PORT, ...(locked.has(hostname) ? { deny: true } : {}) }));
}

/**
 * Applies one bundle wholly or not at all, in two phases. Prepare: compile the matchers (a bad selector
 * throws here) and resolve the destinations — nothing running has changed yet, so a failure leaves the
 * agent exactly as it was. Commit, in the order that keeps the fail-closed promise: first the
 * destinations (so new OCI addresses are steered), then attestation (who is bound), then credentials
 * (new bindings start their exchange, removed ones drop their key at once). A destination that does
 * not resolve degrades that destination only; the resolver reports it once per change.
 */
export class PolicyApplier {
  #revision = 0;

  constructor(
    private readonly parts: {
      attestor: Pick<Attestor, 'prepareBindings' | 'commitBindings'>;
      destinations: Pick<DestinationResolver, 'prepare' | 'commit'>;
      credentials: Pick<CredentialManager, 'setBindings'>;
      log: Logger;
    },
  ) {}

  get revision(): number {
    return this.#revision;
  }

  async apply(bundle: AgentBundle): Promise<void> {
    const { attestor, destinations, credentials, log } = this.parts;
    const matcher = attestor.prepareBindings(bundle.bindings);
    const resolved = await destinations.prepare(destinationSpecs(bundle.bindings));
    const unresolved = destinations.commit(resolved);
    await attestor.commitBindings(matcher);
    credentials.setBindings(bundle.bindings);
    this.#revision = bundle.revision;
    log.info({ revision: bundle.revision, bindings: bundle.bindings.map((b) => b.id), ...(unresolved.length ? { unresolved } : {}) }, 'policy applied');
  }
}
