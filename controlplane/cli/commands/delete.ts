import { Command } from 'commander';
import { UsageError } from '../../../common/cli/program.js';
import { resolveKind } from '../../resources/kinds.js';
import type { CommitResult } from '../../store/resource-store.js';
import { ApiClient, withConnection, type ConnectionOptions } from '../client.js';

export function command(): Command {
  return withConnection(new Command('delete'))
    .summary('delete one resource')
    .description('Delete one resource; refused while a WorkloadCredential still refers to it.')
    .argument('<kind>', 'workloadidentity|wi, credentialsource|cs, workloadcredential|wc')
    .argument('<name>', 'the resource')
    .action(async (kindName: string, name: string, options: ConnectionOptions) => {
      const kind = resolveKind(kindName);
      if (!kind) throw new UsageError(`unknown kind "${kindName}"`);
      const client = await ApiClient.connect(options);
      const result = await client.request<CommitResult>('DELETE', `/v1/resources/${kind}/${encodeURIComponent(name)}`);
      process.stdout.write(`${kind.toLowerCase()}/${name} deleted\npolicy revision ${result.revision}\n`);
    });
}
