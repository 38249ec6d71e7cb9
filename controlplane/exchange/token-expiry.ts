/**
 * A session token's expiry, read from its own `exp` claim. The token is not verified here (only the
 * service that issued it can), but its expiry is checked for sense before anyone relies on it.
 */
import { decodeJwt } from 'jose';

/** Tokens living longer than this are refused: OCI session tokens live 5 to 60 minutes. */
export const MAX_TOKEN_LIFETIME_SECONDS = 24 * 3600;

export interface TokenClaims {
  expiresAt: Date;
  /** Claims the agent may use (e.g. `tenant` for a config profile); never the token itself. */
  payload: Record<string, unknown>;
}

/** Throws a plain Error saying what is wrong; the caller wraps it in its own coded error. */
export function readTokenExpiry(token: string, now = Date.now()): TokenClaims {
  let payload: Record<string, unknown>;
  try {
    payload = decodeJwt(token);
  } catch {
    throw new Error('the token is not a JWT');
  }
  const exp = payload['exp'];
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw new Error('the token has no numeric exp claim');
  const expiresAt = new Date(exp * 1000);
  if (expiresAt.getTime() <= now) throw new Error(`the token expired at ${expiresAt.toISOString()}`);
  if (expiresAt.getTime() > now + MAX_TOKEN_LIFETIME_SECONDS * 1000) {
    throw new Error(`the token claims to live until ${expiresAt.toISOString()}, longer than ${MAX_TOKEN_LIFETIME_SECONDS} s`);
  }
  return { expiresAt, payload };
}
