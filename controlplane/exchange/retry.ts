/** Retry with exponential backoff and "equal jitter" (half fixed, half random), for calls to services outside our control. */

export interface RetryPolicy {
  /** Total attempts, at least 1. */
  attempts: number;
  /** Backoff before the second attempt; doubles each time, capped at maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 250, maxDelayMs: 2000 };

/** Delay before attempt `n` (n ≥ 2): between half and all of the capped exponential bound. */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const bound = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 2));
  return Math.round(bound / 2 + (random() * bound) / 2);
}

