import { LOG_FLUSH_MS } from '../../common/log.js';

/**
 * The lines of a program's log output that `match`, read once the logger has had time to write out
 * what it buffered (common/log.ts writes stdout in batches): waits until at least `atLeast` match or
 * the deadline passes, then one more flush window, so "exactly one" and "none" are not read early.
 */
export async function settledLines(output: () => string, match: (line: string) => boolean, atLeast = 0, timeoutMs = 5_000): Promise<string[]> {
  const matching = (): string[] => output().split('\n').filter(match);
  const deadline = Date.now() + timeoutMs;
  while (matching().length < atLeast && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  await new Promise((r) => setTimeout(r, 3 * LOG_FLUSH_MS));
  return matching();
}
