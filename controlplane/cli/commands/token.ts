import { parseLabels } from '../../fleet/index.js';
import { parseArgs, stringFlag, UsageError } from '../args.js';
import { ApiClient, CONNECTION_FLAGS } from '../client.js';
import { runCommand } from '../run-command.js';

export const summary = 'join tokens for agents: token create [--ttl 15m] [--labels k=v,...]';
const USAGE = 'usage: sigil token create [--ttl <duration>] [--labels k=v,...] [-o text|json]';

export function run(argv: string[]): Promise<number> {
  return runCommand('token', USAGE, async () => {
    const args = parseArgs(argv, { ttl: {}, labels: {}, output: { alias: 'o' }, ...CONNECTION_FLAGS });
    const [sub, extra] = args.positionals;
    if (sub !== 'create') throw new UsageError(sub === undefined ? 'a subcommand is required' : `unknown subcommand "${sub}"`);
    if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`);
    let labels: Record<string, string>;
    try {
      labels = parseLabels(stringFlag(args, 'labels') ?? '');
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const client = await ApiClient.fromArgs(args);
    const ttl = stringFlag(args, 'ttl');
    const created = await client.request<{ token: string; expiresAt: string }>('POST', '/v1/tokens', JSON.stringify({ ...(ttl ? { ttl } : {}), labels }));
    // The token alone on stdout, so `T=$(sigil token create)` works; expiry on stderr.
    if (stringFlag(args, 'output') === 'json') process.stdout.write(`${JSON.stringify(created, null, 2)}\n`);
    else {
      process.stdout.write(`${created.token}\n`);
      process.stderr.write(`one-time join token, expires ${created.expiresAt}\n`);
    }
  });
}
