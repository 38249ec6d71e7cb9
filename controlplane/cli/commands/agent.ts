import type { AgentRecord } from '../../fleet/index.js';
import { parseArgs, stringFlag, UsageError } from '../args.js';
import { ApiClient, CONNECTION_FLAGS } from '../client.js';
import { runCommand } from '../run-command.js';
import { columns } from './fleet.js';

export const summary = 'enrolled agents: agent list [-o json] | agent revoke <id>';
const USAGE = 'usage: sigil agent list [-o table|json]\n       sigil agent revoke <id>';

export function run(argv: string[]): Promise<number> {
  return runCommand('agent', USAGE, async () => {
    const args = parseArgs(argv, { output: { alias: 'o' }, ...CONNECTION_FLAGS });
    const [sub, id, extra] = args.positionals;
    if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`);
    if (sub === 'list') {
      if (id !== undefined) throw new UsageError(`unexpected argument ${id}`);
      const { items } = await (await ApiClient.fromArgs(args)).request<{ items: AgentRecord[] }>('GET', '/v1/agents');
      if (stringFlag(args, 'output') === 'json') return void process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
      process.stdout.write(items.length === 0 ? 'No agents enrolled.\n' : columns(['ID', 'HOSTNAME', 'LABELS', 'ENROLLED', 'REVOKED'],
        items.map((a) => [a.id, a.hostname, labelText(a.labels), a.enrolledAt, a.revokedAt ?? ''])));
      return;
    }
    if (sub === 'revoke') {
      if (id === undefined) throw new UsageError('an agent id is required');
      const record = await (await ApiClient.fromArgs(args)).request<AgentRecord>('POST', `/v1/agents/${encodeURIComponent(id)}/revoke`);
      process.stdout.write(`agent ${record.id} revoked at ${record.revokedAt ?? '?'}\n`);
      return;
    }
    throw new UsageError(sub === undefined ? 'a subcommand is required' : `unknown subcommand "${sub}"`);
  });
}

export function labelText(labels: Record<string, string>): string {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
}
