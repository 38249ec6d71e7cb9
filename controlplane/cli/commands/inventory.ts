import type { InventoryItem } from '../../fleet/index.js';
import { parseArgs, stringFlag, UsageError } from '../args.js';
import { ApiClient, CONNECTION_FLAGS } from '../client.js';
import { runCommand } from '../run-command.js';
import { columns } from './fleet.js';

export const summary = 'workload identities, where they run and what they used: inventory [-o json] [--stale-after 168h]';
const USAGE = 'usage: sigil inventory [-o table|json] [--stale-after <duration>]';

export function run(argv: string[]): Promise<number> {
  return runCommand('inventory', USAGE, async () => {
    const args = parseArgs(argv, { output: { alias: 'o' }, 'stale-after': {}, ...CONNECTION_FLAGS });
    if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${args.positionals[0]}`);
    const staleAfter = stringFlag(args, 'stale-after');
    const { items } = await (await ApiClient.fromArgs(args)).request<{ items: InventoryItem[] }>('GET', `/v1/inventory${staleAfter ? `?staleAfter=${encodeURIComponent(staleAfter)}` : ''}`);
    if (stringFlag(args, 'output') === 'json') return void process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
    process.stdout.write(items.length === 0 ? 'No workload identities.\n' : columns(['WORKLOAD', 'OWNER', 'BINDINGS', 'HOSTS', 'REQUESTS', 'LAST USED', 'DESTINATIONS', 'STALE'],
      items.map((i) => [i.workload, i.owner, i.bindings.join(','), i.hosts.map((h) => `${h.hostname}(${h.processes})`).join(',') || '-',
        String(i.requestsSigned), i.lastUsedAt ?? '-', i.destinationsUsed.join(',') || '-', i.stale ? 'STALE' : ''])));
  });
}
