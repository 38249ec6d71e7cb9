/**
 * When to refresh a session token and how long to back off after a failure. Pure functions of the
 * clock and a random source, so tests can pin them.
 */

export interface RefreshTiming {
  /** Refresh at this fraction of the token's lifetime (default 0.8)... */
  refreshAt: number;
  /** ...plus or minus up to this fraction, so a fleet does not refresh in lockstep (default 0.05). */
  jitter: number;
  /** A token is no longer handed out this close to expiry: min(this, 10% of its lifetime). */
  expiryMarginMs: number;
  /** First retry after a failed exchange; doubles per consecutive failure up to maxBackoffMs. */
  baseBackoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_TIMING: RefreshTiming = {
  refreshAt: 0.8,
  jitter: 0.05,
  expiryMarginMs: 30_000,
  baseBackoffMs: 1000,
  maxBackoffMs: 60_000,
};

/** How long before `expiresAt` a token stops being handed out. */
export function expiryMargin(timing: RefreshTiming, lifetimeMs: number): number {
  return Math.min(timing.expiryMarginMs, Math.max(0, lifetimeMs) * 0.1);
}

/** Delay from receipt to the next refresh of a token living `lifetimeMs`. */
export function refreshDelay(timing: RefreshTiming, lifetimeMs: number, random: () => number = Math.random): number {
  const fraction = timing.refreshAt + (random() * 2 - 1) * timing.jitter;
  return Math.max(0, Math.round(lifetimeMs * fraction));
}

/**
 * Delay before retrying after `failures` consecutive failures. While a token is still usable for
 * `usableForMs`, retry within half of that time, so a short outage never lets a token lapse.
 */
export function retryDelay(timing: RefreshTiming, failures: number, usableForMs: number | undefined, random: () => number = Math.random): number {
  const bound = Math.min(timing.maxBackoffMs, timing.baseBackoffMs * 2 ** Math.max(0, failures - 1));
  let delay = Math.round(bound / 2 + (random() * bound) / 2);
  if (usableForMs !== undefined && usableForMs > 0) delay = Math.min(delay, Math.max(100, Math.round(usableForMs / 2)));
  return delay;
}
