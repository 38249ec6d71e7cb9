import { Command } from 'commander';
import { UsageError } from '../../../common/cli/program.js';
import { outputOption, render, type OutputFormat } from '../../../common/cli/output.js';
import { sleep } from '../../../common/abort.js';
import type { FleetStatus } from '../../fleet/index.js';
import { durationSeconds } from '../../resources/duration.js';
import { ApiClient, withConnection, type ConnectionOptions } from '../client.js';
import { labelText } from './agent.js';

export function command(): Command {
  const fleet = new Command('fleet').summary('fleet health').description('Health of the agents and the policy they run.');
  fleet.addCommand(withConnection(new Command('status'))
    .summary('every agent: state, revision, heartbeat, attached programs')
    .addOption(outputOption())
    .action(async (options: ConnectionOptions & { output: OutputFormat }) => {
      const status = await (await ApiClient.connect(options)).request<FleetStatus>('GET', '/v1/fleet/status');
      process.stdout.write(render(options.output, {
        items: status.agents, document: status, empty: 'No agents enrolled.', name: (a) => `agent/${a.id}`,
        heading: [`current revision ${status.currentRevision}`],
        columns: [
          { header: 'ID', value: (a) => a.id },
          { header: 'LABELS', value: (a) => labelText(a.labels) },
          { header: 'STATE', value: (a) => a.state },
          { header: 'REVISION', value: (a) => `${a.appliedRevision}/${a.issuedRevision ?? '-'}` },
          { header: 'HEARTBEAT', value: (a) => (a.lastHeartbeatAgeSeconds === undefined ? '-' : `${Math.round(a.lastHeartbeatAgeSeconds)}s ago`) },
          { header: 'PROTECTION', value: (a) => a.protection?.mode ?? '-' },
          { header: 'PROGRAMS', value: (a) => a.programs.map((p) => p.name).join(',') },
          { header: 'REASONS', value: (a) => a.reasons.join('; ') },
        ],
      }));
    }));
  fleet.addCommand(withConnection(new Command('wait'))
    .summary('wait until every agent runs a policy revision')
    .description('Wait until every (not revoked) agent has acknowledged policy revision N or later; exit 1 on timeout.')
    .requiredOption('--revision <N>', 'the policy revision (sigil apply prints it)')
    .option('--timeout <duration>', 'give up after this long', '30s')
    .action(async (options: ConnectionOptions & { revision: string; timeout: string }) => {
      if (!/^\d+$/.test(options.revision)) throw new UsageError('--revision must be a whole number');
      const timeoutSeconds = durationSeconds(options.timeout);
      if (timeoutSeconds === undefined) throw new UsageError('--timeout must be a duration like 30s');
      const client = await ApiClient.connect(options);
      const deadline = Date.now() + timeoutSeconds * 1000;
      for (;;) {
        const status = await client.request<FleetStatus>('GET', `/v1/fleet/status?revision=${options.revision}`);
        const pending = status.pending ?? [];
        if (pending.length === 0) return void process.stdout.write(`every agent runs revision ${options.revision} or later (${status.agents.filter((a) => a.state !== 'revoked').length} agents)\n`);
        if (Date.now() >= deadline) throw new Error(`timed out; ${pending.length} agent(s) have not acked revision ${options.revision}: ${pending.join(', ')}`);
        await sleep(250);
      }
    }));
  return fleet;
}
