import { compactVerify, importJWK } from 'jose';
import type { AgentBundle } from '../../protocol/bindings.js';
import { BUNDLE_JWS_TYPE, type BundleSigningJwk } from '../../protocol/fleet.js';
import { AGENT_FLEET_CODES, BundleRefused } from './errors.js';

/**
 * Checks a signed bundle against the key pinned at enrolment and this agent's id. Revision checks
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
    let bundle: AgentBundle;
    try {
      bundle = JSON.parse(new TextDecoder().decode(payload)) as AgentBundle;
    } catch {
      throw new BundleRefused(AGENT_FLEET_CODES.MALFORMED, 'bundle payload is not JSON');
    }
    if (typeof bundle !== 'object' || bundle === null || !Number.isSafeInteger(bundle.revision) || bundle.revision < 0 || !Array.isArray(bundle.bindings)) {
      throw new BundleRefused(AGENT_FLEET_CODES.MALFORMED, 'bundle lacks a revision or bindings');
    }
    if (bundle.agentId !== this.agentId) {
      throw new BundleRefused(AGENT_FLEET_CODES.WRONG_AGENT, `bundle is for agent "${String(bundle.agentId)}", not "${this.agentId}"`, bundle.revision);
    }
    return bundle;
  }
}
