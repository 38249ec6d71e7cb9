import { readFile } from 'node:fs/promises';
import { parseArgs, stringFlag, UsageError } from '../args.js';
import { ApiClient, CONNECTION_FLAGS } from '../client.js';
import { runCommand } from '../run-command.js';
import type { CommitResult } from '../../store/resource-store.js';

export const summary = 'create or update resources from YAML (all or nothing): apply -f <file|->';
const USAGE = 'usage: sigil apply -f <file|-> [--server <url>] [--token-file <file>] [-o json]';

export function run(argv: string[]): Promise<number> {
  return runCommand('apply', USAGE, async () => {
    const args = parseArgs(argv, { filename: { alias: 'f' }, output: { alias: 'o' }, ...CONNECTION_FLAGS });
    const file = stringFlag(args, 'filename');
    if (file === undefined) throw new UsageError('-f <file|-> is required');
    if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${args.positionals[0]}`);
    const output = stringFlag(args, 'output');
    if (output !== undefined && output !== 'json') throw new UsageError('-o must be json');
    const text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
    const client = await ApiClient.fromArgs(args);
    const result = await client.request<CommitResult & { warnings?: string[] }>('POST', '/v1/apply', text);
    // Stored, but something will not work yet (e.g. a secret file the control plane cannot read).
    for (const warning of result.warnings ?? []) process.stderr.write(`warning: ${warning}\n`);
    if (output === 'json') {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return;
    }
    for (const change of result.changes) process.stdout.write(`${change.kind.toLowerCase()}/${change.name} ${change.action}\n`);
    process.stdout.write(`policy revision ${result.revision}\n`);
  });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
