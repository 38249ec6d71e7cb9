/**
 * Which OCI principal each binding's session tokens name, as the last exchange's token said (its `sub`
 * claim): the inventory's "identity → destinations → principal". Read from the token's payload without
 * verifying it (the agent verifies nothing either; OCI does), and only the claim is kept, never the token.
 * In memory: a replica learns it from the exchanges it answered, so it may show none for a while.
 */
import type { ExchangedListener } from './exchange-service.js';

export interface PrincipalSeen {
  principal: string;
  at: string;
}

export class PrincipalBook {
  readonly #byBinding = new Map<string, PrincipalSeen>();

  readonly record: ExchangedListener = ({ bindingId, token }) => {
    const principal = subjectOf(token);
    if (principal !== undefined) this.#byBinding.set(bindingId, { principal, at: new Date().toISOString() });
  };

  principalOf(bindingId: string): PrincipalSeen | undefined {
    return this.#byBinding.get(bindingId);
  }
}

function subjectOf(jwt: string): string | undefined {
  const payload = jwt.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const sub = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown }).sub;
    return typeof sub === 'string' && sub.length > 0 && sub.length <= 512 ? sub : undefined;
  } catch {
    return undefined;
  }
}
