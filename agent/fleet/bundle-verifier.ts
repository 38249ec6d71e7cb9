import { compactVerify, importJWK } from 'jose';
import { BUNDLE_JWS_TYPE, decodeBundle, type AgentBundle } from '../../protocol/bundle.js';
import type { BundleSigningJwk } from '../../protocol/fleet.js';
import { AGENT_FLEET_CODES, BundleRefused } from './errors.js';

/**
 * Checks a signed bundle against the key pinned at enrolment and this agent's id, then decodes it
 * field by field (protocol/bundle.ts) so nothing malformed reaches the agent's parts. Revision checks
 * (no rollback) are the caller's, who knows what it runs.
 */
export class BundleVerifier {
  private constructor(private readonly key: Awaited<ReturnType<typeof importJWK>>, private readonly kid: string, private readonly agentId: string) {}

  static async create(pinned: BundleSigningJwk, agentId: string): Promise<BundleVerifier> {
    return new BundleVerifier(await importJWK({ kty: pinned.kty, crv: pinned.crv, x: pinned.x, y: pinned.y }, 'ES256'), pinned.kid, agentId);
  }

  async verify(jws: string): Promise<AgentBundle> {
    let payload: Uint8Array;
    try {
      const result = await compactVerify(jws, this.key, { algorithms: ['ES256'] });
      if (result.protectedHeader.typ !== BUNDLE_JWS_TYPE || result.protectedHeader.kid !== this.kid) throw new Error('unexpected JWS header');
      payload = result.payload;
    } catch (err) {
      throw new BundleRefused(AGENT_FLEET_CODES.BAD_SIGNATURE, `bundle signature does not verify with the pinned key: ${(err as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(payload));
    } catch {
      throw new BundleRefused(AGENT_FLEET_CODES.MALFORMED, 'bundle payload is not JSON');
    }
    const decoded = decodeBundle(parsed);
    if (!decoded.ok) {
      const revision = typeof (parsed as { revision?: unknown })?.revision === 'number' ? (parsed as { revision: number }).revision : undefined;
      throw new BundleRefused(decoded.format ? AGENT_FLEET_CODES.FORMAT : AGENT_FLEET_CODES.MALFORMED, `bundle field ${decoded.field} ${decoded.reason}`, revision);
    }
    const bundle = decoded.bundle;
    if (bundle.agentId !== this.agentId) {
      throw new BundleRefused(AGENT_FLEET_CODES.WRONG_AGENT, `bundle is for agent "${String(bundle.agentId)}", not "${this.agentId}"`, bundle.revision);
    }
    return bundle;
  }
}
