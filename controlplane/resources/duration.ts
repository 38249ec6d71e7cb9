/** "90s", "15m", "1h", "1h30m" or a plain number of seconds → seconds; undefined when unreadable. */
const PART = /(\d+)(h|m|s)/g;
const WHOLE = /^(\d+(h|m|s))+$/;
const UNIT_SECONDS: Record<string, number> = { h: 3600, m: 60, s: 1 };

export function durationSeconds(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  if (/^\d+$/.test(value)) return Number(value);
  if (!WHOLE.test(value)) return undefined;
  let total = 0;
  for (const match of value.matchAll(PART)) total += Number(match[1]) * (UNIT_SECONDS[match[2] ?? 's'] ?? 1);
  return total;
}

export { SESSION_TTL_MIN_SECONDS as TTL_MIN_SECONDS, SESSION_TTL_MAX_SECONDS as TTL_MAX_SECONDS } from '../../protocol/bindings.js';
