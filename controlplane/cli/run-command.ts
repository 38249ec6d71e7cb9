import { describeIssue, type ValidationIssue } from '../resources/issues.js';
import { UsageError } from './args.js';
import { ApiError } from './client.js';

/** Runs a command body and maps failures to exit codes: 2 usage, 1 anything else (printed to stderr). */
export async function runCommand(name: string, usage: string, body: () => Promise<void>): Promise<number> {
  try {
    await body();
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`sigil ${name}: ${err.message}\n${usage}\n`);
      return 2;
    }
    if (err instanceof ApiError) {
      const lines = [`sigil ${name}: ${err.message} [${err.code}]`];
      for (const detail of err.details) lines.push(`  - ${describeIssue(detail as ValidationIssue)}`);
      process.stderr.write(`${lines.join('\n')}\n`);
      return 1;
    }
    process.stderr.write(`sigil ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
