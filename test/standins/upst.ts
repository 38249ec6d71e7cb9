/**
 * The UPST (OCI user principal session token) as the stand-ins issue and check it: an RS256 JWT whose
 * `jwk` claim is a JSON *string* holding the session public key (OCI-FACTS.md, "Token exchange").
 *
 * Exported:
 *   mintUpst({ signingKey, kid, principal, tenant, sessionPublicKey, lifetimeSeconds, now?, tamper? }) → { token, claims }
 *   verifyUpst(token, trustedKeys, { now? }) → { principal, tenant, claims, sessionKey }   (throws UpstRejected)
 */
import { createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT, decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';

export const UPST_ISSUER = 'authService.oracle.com';
/** What the IAM stand-in puts in `aud` and `ttype`; verifyUpst refuses any other value. */
export const UPST_AUDIENCE = 'oci';
export const UPST_TOKEN_TYPE = 'upst';

export interface UpstClaims {
  sub: string;
  tenant: string;
  iat: number;
  exp: number;
  jti: string;
  iss: string;
  aud: string;
  ptype: string;
  ttype: string;
  /** JSON string of the session public key as a JWK. */
  jwk: string;
  /** The JWT subject the token was exchanged for (kept for test diagnostics). */
  source_sub: string;
}

export class UpstRejected extends Error {
  override readonly name = 'UpstRejected';
  constructor(readonly reason: string) {
    super(`session token rejected: ${reason}`);
  }
}

export async function mintUpst(args: {
  signingKey: KeyObject;
  kid: string;
  principal: string;
  tenant: string;
  sourceSubject: string;
  sessionPublicKey: KeyObject;
  lifetimeSeconds: number;
  now?: number;
  /** Claims replaced or removed (undefined) after the defaults: for tests of tokens IAM would not issue. */
  tamper?: Partial<Record<keyof UpstClaims, unknown>>;
}): Promise<{ token: string; claims: UpstClaims }> {
  const iat = Math.floor((args.now ?? Date.now()) / 1000);
  const jwk = args.sessionPublicKey.export({ format: 'jwk' });
  const claims: UpstClaims = {
    sub: args.principal,
    tenant: args.tenant,
    iat,
    exp: iat + args.lifetimeSeconds,
    jti: randomUUID(),
    iss: UPST_ISSUER,
    aud: UPST_AUDIENCE,
    ptype: 'user',
    ttype: UPST_TOKEN_TYPE,
    jwk: JSON.stringify({ kid: 'session', kty: jwk.kty, n: jwk.n, e: jwk.e }),
    source_sub: args.sourceSubject,
  };
  const payload: Record<string, unknown> = { ...claims, ...args.tamper };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  const token = await new SignJWT(payload)
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: args.kid })
    .sign(args.signingKey);
  return { token, claims };
}

export interface VerifiedUpst {
  principal: string;
  tenant: string;
  claims: UpstClaims;
  /** The key request signatures made with this token must verify against. */
  sessionKey: KeyObject;
}

function sessionKeyFrom(jwkClaim: unknown): KeyObject {
  if (typeof jwkClaim !== 'string') throw new UpstRejected('jwk claim is not a JSON string');
  let jwk: unknown;
  try {
    jwk = JSON.parse(jwkClaim);
  } catch {
    throw new UpstRejected('jwk claim is not valid JSON');
  }
  if (typeof jwk !== 'object' || jwk === null || (jwk as { kty?: unknown }).kty !== 'RSA') {
    throw new UpstRejected('jwk claim is not an RSA JWK');
  }
  try {
    const { n, e } = jwk as { n: string; e: string };
    return createPublicKey({ key: { kty: 'RSA', n, e }, format: 'jwk' });
  } catch {
    throw new UpstRejected('jwk claim does not hold a usable RSA key');
  }
}

/**
 * Valid RS256 signature by one of trustedKeys, unexpired, `iss`/`aud`/`ttype` as the IAM stand-in
 * issues them, with sub, tenant and jwk.
 */
export async function verifyUpst(token: string, trustedKeys: readonly KeyObject[], opts: { now?: number } = {}): Promise<VerifiedUpst> {
  try {
    decodeProtectedHeader(token);
  } catch {
    throw new UpstRejected('not a JWT');
  }
  const currentDate = new Date(opts.now ?? Date.now());
  let lastError = 'no trusted issuer key';
  for (const key of trustedKeys) {
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: ['RS256'], currentDate, requiredClaims: ['exp', 'sub', 'iss', 'aud'], issuer: UPST_ISSUER, audience: UPST_AUDIENCE,
      });
      if (payload['ttype'] !== UPST_TOKEN_TYPE) throw new UpstRejected(`ttype ${JSON.stringify(payload['ttype'])} is not ${UPST_TOKEN_TYPE}`);
      if (typeof payload['tenant'] !== 'string') throw new UpstRejected('tenant claim missing');
      return {
        principal: payload.sub!,
        tenant: payload['tenant'],
        claims: payload as unknown as UpstClaims,
        sessionKey: sessionKeyFrom(payload['jwk']),
      };
    } catch (err) {
      if (err instanceof UpstRejected) throw err;
      if (err instanceof joseErrors.JWTExpired) throw new UpstRejected('expired');
      if (err instanceof joseErrors.JWTClaimValidationFailed) throw new UpstRejected(`claim ${err.claim}: ${err.reason}`);
      lastError = err instanceof joseErrors.JWSSignatureVerificationFailed ? 'signature not by a trusted issuer' : String(err);
    }
  }
  throw new UpstRejected(lastError);
}
