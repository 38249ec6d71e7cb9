import { parseLabels } from '../../fleet/index.js';
import { parseArgs, stringFlag, UsageError } from '../args.js';
import { ApiClient, CONNECTION_FLAGS } from '../client.js';
import { runCommand } from '../run-command.js';

export const summary = 'join tokens for agents: token create [--ttl 15m] [--labels k=v,...]; console/API read-only tokens: token create --role viewer [--ttl 720h]';
const USAGE = 'usage: sigil token create [--ttl <duration>] [--labels k=v,...] [-o text|json]\n       sigil token create --role viewer [--ttl <duration>] [-o text|json]';

export function run(argv: string[]): Promise<number> {
  return runCommand('token', USAGE, async () => {
    const args = parseArgs(argv, { ttl: {}, labels: {}, role: {}, output: { alias: 'o' }, ...CONNECTION_FLAGS });
    const [sub, extra] = args.positionals;
    if (sub !== 'create') throw new UsageError(sub === undefined ? 'a subcommand is required' : `unknown subcommand "${sub}"`);
    if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`);
    const role = stringFlag(args, 'role');
    if (role !== undefined) {
      // A read-only token for the admin API and the console (/ui/), not a join token.
      if (role !== 'viewer') throw new UsageError(`--role must be viewer (the admin token is the control plane's token file), not "${role}"`);
      if (stringFlag(args, 'labels') !== undefined) throw new UsageError('--labels is for join tokens, not --role viewer');
      const ttl = stringFlag(args, 'ttl');
      const made = await (await ApiClient.fromArgs(args)).request<{ token: string; expiresAt: string }>('POST', '/v1/access-tokens', JSON.stringify({ role, ...(ttl ? { ttl } : {}) }));
      if (stringFlag(args, 'output') === 'json') process.stdout.write(`${JSON.stringify(made, null, 2)}\n`);
      else {
        process.stdout.write(`${made.token}\n`);
        process.stderr.write(`viewer token (read-only), expires ${made.expiresAt}\n`);
      }
      return;
    }
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
