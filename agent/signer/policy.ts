/**
 * What a workload's bindings allow: which destination hostnames (checked at the TLS handshake)
 * and which method on which host (checked per request).
 */
import type { BindingSpec } from '../../protocol/bindings.js';

/** True when any binding lists `hostname` (compared lower-case) as a destination. */
export function destinationAllowed(bindings: readonly BindingSpec[], hostname: string): boolean {
  const host = hostname.toLowerCase();
  return bindings.some((b) => b.destinations.includes(host));
}

/** The first binding allowing `method` on `hostname`, or undefined when none does. */
export function bindingFor(bindings: readonly BindingSpec[], hostname: string, method: string): BindingSpec | undefined {
  const host = hostname.toLowerCase();
  const m = method.toUpperCase();
  return bindings.find((b) => b.destinations.includes(host) && (b.methods === undefined || b.methods.includes(m)));
}
