import { stringify } from 'yaml';
import { resolveKind } from '../../resources/kinds.js';
import type { Resource } from '../../resources/types.js';
import { parseArgs, stringFlag, UsageError } from '../args.js';
import { ApiClient, CONNECTION_FLAGS } from '../client.js';
import { runCommand } from '../run-command.js';
import { formatTable } from '../table.js';

export const summary = 'show resources: get <kind> [name] [-o table|json|yaml]';
const USAGE = 'usage: sigil get <workloadidentity|wi|credentialsource|cs|workloadcredential|wc> [name] [-o table|json|yaml]';

export function run(argv: string[]): Promise<number> {
  return runCommand('get', USAGE, async () => {
    const args = parseArgs(argv, { output: { alias: 'o' }, ...CONNECTION_FLAGS });
    const [kindName, name, extra] = args.positionals;
    if (kindName === undefined) throw new UsageError('a kind is required');
    if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`);
    const kind = resolveKind(kindName);
    if (!kind) throw new UsageError(`unknown kind "${kindName}"`);
    const output = stringFlag(args, 'output') ?? 'table';
    if (!['table', 'json', 'yaml'].includes(output)) throw new UsageError('-o must be table, json or yaml');
    const client = await ApiClient.fromArgs(args);
    const path = `/v1/resources/${kind}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;
    const items = name === undefined
      ? (await client.request<{ items: Resource[] }>('GET', path)).items
      : [await client.request<Resource>('GET', path)];
    // One resource prints as itself; a list prints as a kubectl-style List.
    const value = name === undefined ? { apiVersion: 'sigil.dev/v1', kind: 'List', items } : items[0];
    if (output === 'json') process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    else if (output === 'yaml') process.stdout.write(stringify(value));
    else process.stdout.write(formatTable(kind, items));
  });
}
