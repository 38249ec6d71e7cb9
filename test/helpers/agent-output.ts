/** Long enough for a line logged just before to cross the program's stdout pipe and this process's loop. */
const SETTLE_MS = 200;

/**
 * The lines of a program's log output that `match`, read once what it logged has arrived (common/log.ts
 * writes stdout at the end of each event-loop turn): waits until at least `atLeast` match or the
 * deadline passes, then SETTLE_MS more, so "exactly one" and "none" are not read early.
 */
export async function settledLines(output: () => string, match: (line: string) => boolean, atLeast = 0, timeoutMs = 5_000): Promise<string[]> {
  const matching = (): string[] => output().split('\n').filter(match);
  const deadline = Date.now() + timeoutMs;
  while (matching().length < atLeast && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  return matching();
}
