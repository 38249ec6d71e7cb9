/**
 * What the credential exchange needs from the rest of the control plane. The composition root wires
 * these to the real store and JWT-SVID issuer; tests plug small fakes or the real parts.
 */
import type { BindingSpec } from '../../protocol/bindings.js';
import type { CredentialSourceSpec } from '../resources/types.js';

/**
 * Mints JWT-SVIDs (ES256, `sub` = SPIFFE ID) that the credential source can verify via our JWKS.
 * The issuer's `JwtSvidIssuer` fits as is.
 */
export interface SvidMinter {
  mint(spiffeId: string, audience: string, ttlSeconds: number): Promise<{ token: string }>;
}

/** A binding as the exchange sees it: what the agent was told, plus the source it uses. */
export interface OwnedBinding {
  spec: BindingSpec;
  /** The CredentialSource's name (= spec.source); errors name it so operators know where to look. */
  sourceName: string;
  source: CredentialSourceSpec;
}

/** Answers "does this agent hold this binding right now?" from the current policy. */
export interface BindingOwnership {
  /** The binding when `agentId` holds it, undefined otherwise (unknown binding or another agent's). */
  bindingFor(agentId: string, bindingId: string): Promise<OwnedBinding | undefined>;
}

/** One exchange, as a driver sees it. */
export interface DriverRequest {
  sourceName: string;
  source: CredentialSourceSpec;
  /** The JWT-SVID to exchange. */
  subjectToken: string;
  /** Base64 of the DER SubjectPublicKeyInfo of the agent's session key. */
  publicKey: string;
  signal?: AbortSignal;
}

export interface DriverResult {
  token: string;
  expiresAt: Date;
}

/** Turns a JWT-SVID into a session token at one kind of credential source (e.g. `oci`). */
export interface CredentialDriver {
  exchange(request: DriverRequest): Promise<DriverResult>;
}
