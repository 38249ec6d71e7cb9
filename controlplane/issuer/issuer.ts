import { createPrivateKey } from 'node:crypto';
import { SignJWT } from 'jose';
import { ControlPlaneError } from '../errors.js';
import { spiffeIdProblem } from '../../protocol/spiffe-id.js';
import { KeySet, publicJwk } from './key-set.js';
import { ISSUER_CODES } from './errors.js';

export interface MintedSvid {
  /** The compact JWT. A credential: never log it. */
  token: string;
  kid: string;
  /** seconds since epoch */
  expiresAt: number;
}

export interface IssuerOptions {
  /** The `iss` claim and the base of the discovery URLs, e.g. https://sigil.example.com. */
  issuerUrl: string;
  keys: KeySet;
  /** Default JWT-SVID lifetime (seconds); capped by the key set's maxTokenTtlSeconds. */
  defaultTtlSeconds?: number;
  now?: () => number;
}

/**
 * Issues ES256 JWT-SVIDs (sub = SPIFFE ID, aud, iat, exp, iss; header kid, typ JWT) and describes its
 * keys for verifiers: OIDC discovery, a JWKS (what an OCI Identity Propagation Trust's publicKeyEndpoint
 * points at) and a SPIFFE bundle. The credential exchange calls `mint`.
 */
export class JwtSvidIssuer {
  readonly issuerUrl: string;
  private readonly now: () => number;

  constructor(private readonly options: IssuerOptions) {
    this.issuerUrl = options.issuerUrl.replace(/\/+$/, '');
    this.now = options.now ?? Date.now;
  }

  get keys(): KeySet {
    return this.options.keys;
  }

  async mint(spiffeId: string, audience: string | string[], ttlSeconds?: number): Promise<MintedSvid> {
    const problem = spiffeIdProblem(spiffeId);
    if (problem) throw new ControlPlaneError(ISSUER_CODES.ISSUER_BAD_SUBJECT, `not a SPIFFE ID: ${problem}`, { status: 400 });
    const audiences = Array.isArray(audience) ? audience : [audience];
    if (audiences.length === 0 || audiences.some((a) => a === '')) {
      throw new ControlPlaneError(ISSUER_CODES.ISSUER_BAD_AUDIENCE, 'a JWT-SVID needs at least one non-empty audience', { status: 400 });
    }
    const max = this.options.keys.policy.maxTokenTtlSeconds;
    const ttl = Math.min(ttlSeconds ?? this.options.defaultTtlSeconds ?? 300, max);
    const { signing } = await this.options.keys.current();
    const iat = Math.floor(this.now() / 1000);
    const exp = iat + ttl;
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: signing.kid, typ: 'JWT' })
      .setSubject(spiffeId)
      .setAudience(audiences.length === 1 ? (audiences[0] as string) : audiences)
      .setIssuer(this.issuerUrl)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(createPrivateKey({ key: signing.privateJwk, format: 'jwk' }));
    return { token, kid: signing.kid, expiresAt: exp };
  }

  /** Paths relative to the issuer URL's own path. */
  static readonly DISCOVERY_PATH = '/.well-known/openid-configuration';
  static readonly JWKS_PATH = '/.well-known/jwks.json';
  static readonly BUNDLE_PATH = '/.well-known/spiffe-bundle';

  discovery(): Record<string, unknown> {
    return {
      issuer: this.issuerUrl,
      jwks_uri: `${this.issuerUrl}${JwtSvidIssuer.JWKS_PATH}`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256'],
      claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss'],
    };
  }

  async jwks(): Promise<{ keys: Array<Record<string, unknown>> }> {
    const { published } = await this.options.keys.current();
    return { keys: published.map((key) => ({ ...publicJwk(key.privateJwk), kid: key.kid, use: 'sig', alg: 'ES256' })) };
  }

  /** SPIFFE trust bundle (JWKS form) for the trust domain's JWT-SVID verifiers. */
  async bundle(refreshHintSeconds = 300): Promise<Record<string, unknown>> {
    const { published, sequence } = await this.options.keys.current();
    return {
      keys: published.map((key) => ({ ...publicJwk(key.privateJwk), kid: key.kid, use: 'jwt-svid' })),
      spiffe_sequence: sequence,
      spiffe_refresh_hint: refreshHintSeconds,
    };
  }
}
