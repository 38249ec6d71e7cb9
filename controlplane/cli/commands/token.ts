import { Command } from 'commander';
import { UsageError } from '../../../common/cli/program.js';
import { outputOption, render, type OutputFormat } from '../../../common/cli/output.js';
import { parseLabels } from '../../fleet/labels.js';
import { ApiClient, withConnection, type ConnectionOptions } from '../client.js';

export function command(): Command {
  const token = new Command('token').summary('join tokens for agents').description('Join tokens that enrol agents (sigil-agent enroll --token).');
  token.addCommand(withConnection(new Command('create'))
    .summary('create a one-time join token')
    .description('Create a one-time join token. The token alone goes to stdout (T=$(sigil token create)), its expiry to stderr.')
    .option('--ttl <duration>', 'how long the token is valid (e.g. 15m)')
    .option('--labels <k=v,...>', 'labels the enrolled agent gets')
    .addOption(outputOption(['json', 'yaml'], null))
    .action(async (options: ConnectionOptions & { ttl?: string; labels?: string; output?: OutputFormat }) => {
      let labels: Record<string, string>;
      try {
        labels = parseLabels(options.labels ?? '');
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      const client = await ApiClient.connect(options);
      const created = await client.request<{ token: string; expiresAt: string }>('POST', '/v1/tokens', JSON.stringify({ ...(options.ttl ? { ttl: options.ttl } : {}), labels }));
      if (options.output !== undefined) {
        process.stdout.write(render(options.output, { items: [], columns: [], empty: '', name: () => '', document: created }));
        return;
      }
      process.stdout.write(`${created.token}\n`);
      process.stderr.write(`one-time join token, expires ${created.expiresAt}\n`);
    }));
  return token;
}
