import { resolveKind } from '../../resources/kinds.js';
import type { CommitResult } from '../../store/resource-store.js';
import { parseArgs, UsageError } from '../args.js';
import { ApiClient, CONNECTION_FLAGS } from '../client.js';
import { runCommand } from '../run-command.js';

export const summary = 'delete one resource: delete <kind> <name>';
const USAGE = 'usage: sigil delete <kind> <name>';

export function run(argv: string[]): Promise<number> {
  return runCommand('delete', USAGE, async () => {
    const args = parseArgs(argv, { ...CONNECTION_FLAGS });
    const [kindName, name, extra] = args.positionals;
    if (kindName === undefined || name === undefined) throw new UsageError('a kind and a name are required');
    if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`);
    const kind = resolveKind(kindName);
    if (!kind) throw new UsageError(`unknown kind "${kindName}"`);
    const client = await ApiClient.fromArgs(args);
    const result = await client.request<CommitResult>('DELETE', `/v1/resources/${kind}/${encodeURIComponent(name)}`);
    process.stdout.write(`${kind.toLowerCase()}/${name} deleted\npolicy revision ${result.revision}\n`);
  });
}
