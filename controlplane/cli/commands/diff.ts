import { Command } from 'commander';
import { stringify } from 'yaml';
import { CliExit, withExitCode } from '../../../common/cli/program.js';
import { checkDocuments } from '../../resources/validate.js';
import type { Resource } from '../../resources/types.js';
import type { CommitResult } from '../../store/resource-store.js';
import { ApiClient, withConnection, type ConnectionOptions } from '../client.js';
import { filenameOption, readInput } from '../read-input.js';
import { unifiedDiff } from '../unified-diff.js';

/** What a resource is, for comparing: without the server-set metadata (revision, update time). */
function comparable(r: Resource): string {
  return stringify({ apiVersion: r.apiVersion, kind: r.kind, metadata: { name: r.metadata.name }, spec: r.spec });
}

export function command(): Command {
  return withConnection(new Command('diff'))
    .summary('show what apply would change on the server (exit 0 none, 1 some)')
    .description('Show, as a unified diff per resource, what `apply -f` would change on the server, after the server has '
      + 'validated it (a dry run: nothing is stored). Exit status like kubectl diff: 0 no differences, 1 differences, 2 failed.')
    .addOption(filenameOption())
    .action(async (options: ConnectionOptions & { filename: string }) => {
      let changed = false;
      try {
        const text = await readInput(options.filename);
        const resources = checkDocuments(text);
        const client = await ApiClient.connect(options);
        const plan = await client.request<CommitResult>('POST', '/v1/apply?dryRun=true', text);
        for (const [index, change] of plan.changes.entries()) {
          if (change.action === 'unchanged') continue;
          const local = resources[index] as Resource;
          const live = change.action === 'created' ? '' : comparable(await client.request<Resource>('GET', `/v1/resources/${change.kind}/${encodeURIComponent(change.name)}`));
          const shown = unifiedDiff(`live/${change.kind}/${change.name}`, `merged/${change.kind}/${change.name}`, live, comparable(local));
          if (shown === '') continue; // e.g. only key order differs
          changed = true;
          process.stdout.write(shown);
        }
      } catch (err) {
        throw withExitCode(err, 2);
      }
      if (changed) throw new CliExit(1);
    });
}
