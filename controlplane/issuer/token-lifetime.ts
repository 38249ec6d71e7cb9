import { bounded, boundedProblem } from '../../common/bounded.js';

/**
 * How long the JWT-SVIDs the issuer mints live, as one value with its defaults and its rules side by
 * side (tbot's credential_lifetime.go is the model): the config reader and the issuer use these.
 */
export interface TokenLifetime {
  /** Lifetime of an SVID whose caller asked for none. */
  defaultTtlSeconds: number;
  /** Longest lifetime any caller gets. */
  maxTokenTtlSeconds: number;
  /** Clock skew allowed for: `nbf` is this far in the past. */
  skewSeconds: number;
}

export const TOKEN_LIFETIME_SETTINGS = {
  defaultTtlSeconds: bounded(300, 1, 86_400),
  maxTokenTtlSeconds: bounded(3600, 1, 86_400),
  skewSeconds: bounded(60, 0, 3600),
} as const;

export const DEFAULT_TOKEN_LIFETIME: TokenLifetime = {
  defaultTtlSeconds: TOKEN_LIFETIME_SETTINGS.defaultTtlSeconds.default,
  maxTokenTtlSeconds: TOKEN_LIFETIME_SETTINGS.maxTokenTtlSeconds.default,
  skewSeconds: TOKEN_LIFETIME_SETTINGS.skewSeconds.default,
};

/** The first thing wrong with a lifetime, as [field, problem], or undefined when it holds together. */
export function tokenLifetimeProblem(lifetime: TokenLifetime): [keyof TokenLifetime, string] | undefined {
  for (const field of Object.keys(TOKEN_LIFETIME_SETTINGS) as Array<keyof TokenLifetime>) {
    const problem = boundedProblem(TOKEN_LIFETIME_SETTINGS[field], lifetime[field]);
    if (problem !== undefined) return [field, problem];
  }
  if (lifetime.defaultTtlSeconds > lifetime.maxTokenTtlSeconds) return ['defaultTtlSeconds', 'must not exceed maxTokenTtlSeconds'];
  return undefined;
}
