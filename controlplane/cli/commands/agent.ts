import { Command } from 'commander';
import { outputOption, render, type OutputFormat } from '../../../common/cli/output.js';
import type { AgentRecord } from '../../fleet/index.js';
import { API_VERSION } from '../../resources/kinds.js';
import { ApiClient, withConnection, type ConnectionOptions } from '../client.js';

export function command(): Command {
  const agent = new Command('agent').summary('enrolled agents').description('Agents enrolled in the fleet.');
  agent.addCommand(withConnection(new Command('list'))
    .summary('list enrolled agents (revoked ones too)')
    .addOption(outputOption())
    .action(async (options: ConnectionOptions & { output: OutputFormat }) => {
      const { items } = await (await ApiClient.connect(options)).request<{ items: AgentRecord[] }>('GET', '/v1/agents');
      process.stdout.write(render(options.output, {
        items, apiVersion: API_VERSION, empty: 'No agents enrolled.', name: (a) => `agent/${a.id}`,
        columns: [
          { header: 'ID', value: (a) => a.id },
          { header: 'HOSTNAME', value: (a) => a.hostname },
          { header: 'LABELS', value: (a) => labelText(a.labels) },
          { header: 'ENROLLED', value: (a) => a.enrolledAt },
          { header: 'REVOKED', value: (a) => a.revokedAt ?? '' },
          { header: 'NKEY', value: (a) => a.publicNkey, wide: true },
        ],
      }));
    }));
  agent.addCommand(withConnection(new Command('revoke'))
    .summary('revoke an agent: its NATS user and bundles stop at once')
    .argument('<id>', 'agent id (sigil agent list)')
    .action(async (id: string, options: ConnectionOptions) => {
      const record = await (await ApiClient.connect(options)).request<AgentRecord>('POST', `/v1/agents/${encodeURIComponent(id)}/revoke`);
      process.stdout.write(`agent ${record.id} revoked at ${record.revokedAt ?? '?'}\n`);
    }));
  return agent;
}

export function labelText(labels: Record<string, string>): string {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
}
