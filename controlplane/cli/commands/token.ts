import { Command, Option } from 'commander';
import { UsageError } from '../../../common/cli/program.js';
import { outputOption, render, type OutputFormat } from '../../../common/cli/output.js';
import { ApiClient, withConnection, type ConnectionOptions } from '../client.js';

interface CreateOptions extends ConnectionOptions { ttl?: string; labels?: string; role?: 'viewer'; output?: OutputFormat }

export function command(): Command {
  const token = new Command('token').summary('join tokens for agents; read-only tokens for the console and API')
    .description('Join tokens that enrol agents (sigil-agent enroll --token), and read-only viewer tokens for the console (/ui/) and the admin API.');
  token.addCommand(withConnection(new Command('create'))
    .summary('create a one-time join token, or with --role viewer a read-only token')
    .description('Create a one-time join token, or with --role viewer a read-only token for the console and the admin API. '
      + 'The token alone goes to stdout (T=$(sigil token create)), its expiry to stderr.')
    .option('--ttl <duration>', 'how long the token is valid (e.g. 15m; viewer tokens e.g. 720h)')
    .option('--labels <k=v,...>', 'labels the enrolled agent gets (join tokens)')
    .addOption(new Option('--role <role>', 'a read-only token instead of a join token (the admin token is the control plane\'s token file)').choices(['viewer']).conflicts('labels'))
    .addOption(outputOption(['json', 'yaml'], null))
    .action(async (options: CreateOptions) => {
      const ttl = options.ttl ? { ttl: options.ttl } : {};
      // A read-only token, or a join token with labels (checked before anything is read or sent).
      let request: { path: string; body: unknown; what: string };
      if (options.role !== undefined) {
        request = { path: '/v1/access-tokens', body: { role: options.role, ...ttl }, what: 'viewer token (read-only)' };
      } else {
        const { parseLabels } = await import('../../fleet/index.js'); // the fleet's barrel: only when it runs
        let labels: Record<string, string>;
        try {
          labels = parseLabels(options.labels ?? '');
        } catch (err) {
          throw new UsageError((err as Error).message);
        }
        request = { path: '/v1/tokens', body: { ...ttl, labels }, what: 'one-time join token' };
      }
      const client = await ApiClient.connect(options);
      const made = await client.request<{ token: string; expiresAt: string }>('POST', request.path, JSON.stringify(request.body));
      if (options.output !== undefined) {
        process.stdout.write(render(options.output, { items: [], columns: [], empty: '', name: () => '', document: made }));
        return;
      }
      process.stdout.write(`${made.token}\n`);
      process.stderr.write(`${request.what}, expires ${made.expiresAt}\n`);
    }));
  return token;
}
