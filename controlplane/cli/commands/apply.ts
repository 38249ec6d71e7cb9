import { Command } from 'commander';
import { outputOption, render, type OutputFormat } from '../../../common/cli/output.js';
import type { CommitResult } from '../../store/resource-store.js';
import { ApiClient, withConnection, type ConnectionOptions } from '../client.js';
import { filenameOption, readInput } from '../read-input.js';

export function command(): Command {
  return withConnection(new Command('apply'))
    .summary('create or update resources from YAML (all or nothing)')
    .description('Create or update the resources in a YAML file, all or nothing: the server validates every document and the references between them first.')
    .addOption(filenameOption())
    .option('--dry-run', 'validate on the server and show what would change; store nothing')
    .addOption(outputOption(['json', 'yaml', 'name'], null))
    .action(async (options: ConnectionOptions & { filename: string; dryRun?: boolean; output?: OutputFormat }) => {
      const text = await readInput(options.filename);
      const client = await ApiClient.connect(options);
      const result = await client.request<CommitResult & { warnings?: string[] }>('POST', `/v1/apply${options.dryRun ? '?dryRun=true' : ''}`, text);
      // Stored (or, in a dry run, storable), but something will not work yet (e.g. a secret file the control plane cannot read).
      for (const warning of result.warnings ?? []) process.stderr.write(`warning: ${warning}\n`);
      const suffix = options.dryRun ? ' (dry run)' : '';
      if (options.output !== undefined) {
        process.stdout.write(render(options.output, {
          items: result.changes, columns: [], empty: '', document: result, name: (c) => `${c.kind.toLowerCase()}/${c.name}`,
        }));
        return;
      }
      for (const change of result.changes) process.stdout.write(`${change.kind.toLowerCase()}/${change.name} ${change.action}${suffix}\n`);
      process.stdout.write(options.dryRun ? `nothing stored; policy revision stays ${result.revision}\n` : `policy revision ${result.revision}\n`);
    });
}
