import { Command } from 'commander';
import { outputOption, render, type OutputFormat } from '../../../common/cli/output.js';
import type { InventoryItem } from '../../fleet/index.js';
import { API_VERSION } from '../../resources/kinds.js';
import { ApiClient, withConnection, type ConnectionOptions } from '../client.js';

export function command(): Command {
  return withConnection(new Command('inventory'))
    .summary('workload identities, where they run and what they used')
    .description('Every workload identity: the hosts running it, the requests signed for it, the destinations it used, and whether it is stale.')
    .option('--stale-after <duration>', 'no process and no request for this long marks an identity stale (server default 168h)')
    .addOption(outputOption())
    .action(async (options: ConnectionOptions & { staleAfter?: string; output: OutputFormat }) => {
      const query = options.staleAfter ? `?staleAfter=${encodeURIComponent(options.staleAfter)}` : '';
      const { items } = await (await ApiClient.connect(options)).request<{ items: InventoryItem[] }>('GET', `/v1/inventory${query}`);
      process.stdout.write(render(options.output, {
        items, apiVersion: API_VERSION, empty: 'No workload identities.', name: (i) => `workloadidentity/${i.workload}`,
        columns: [
          { header: 'WORKLOAD', value: (i) => i.workload },
          { header: 'OWNER', value: (i) => i.owner },
          { header: 'BINDINGS', value: (i) => i.bindings.join(',') },
          { header: 'HOSTS', value: (i) => i.hosts.map((h) => `${h.hostname}(${h.processes})`).join(',') || '-' },
          { header: 'REQUESTS', value: (i) => String(i.requestsSigned) },
          { header: 'LAST USED', value: (i) => i.lastUsedAt ?? '-' },
          { header: 'DESTINATIONS', value: (i) => i.destinationsUsed.join(',') || '-' },
          { header: 'STALE', value: (i) => (i.stale ? 'STALE' : '') },
          { header: 'SPIFFE ID', value: (i) => i.spiffeId, wide: true },
        ],
      }));
    });
}
