import type { FleetStatus } from '../../fleet/index.js';
import { durationSeconds } from '../../resources/duration.js';
import { parseArgs, stringFlag, UsageError } from '../args.js';
import { ApiClient, CONNECTION_FLAGS } from '../client.js';
import { runCommand } from '../run-command.js';
import { sleep } from '../../../common/abort.js';

export const summary = 'fleet health: fleet status [-o json] | fleet wait --revision N [--timeout 30s]';
const USAGE = 'usage: sigil fleet status [-o table|json]\n       sigil fleet wait --revision <N> [--timeout <duration>]';

export function run(argv: string[]): Promise<number> {
  return runCommand('fleet', USAGE, async () => {
    const args = parseArgs(argv, { output: { alias: 'o' }, revision: {}, timeout: {}, ...CONNECTION_FLAGS });
    const [sub, extra] = args.positionals;
    if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`);
    if (sub === 'status') {
      const status = await (await ApiClient.fromArgs(args)).request<FleetStatus>('GET', '/v1/fleet/status');
      if (stringFlag(args, 'output') === 'json') return void process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      process.stdout.write(`current revision ${status.currentRevision}\n`);
      process.stdout.write(status.agents.length === 0 ? 'No agents enrolled.\n' : columns(['ID', 'LABELS', 'STATE', 'REVISION', 'HEARTBEAT', 'PROTECTION', 'PROGRAMS', 'REASONS'],
        status.agents.map((a) => [a.id, Object.entries(a.labels).map(([k, v]) => `${k}=${v}`).join(','), a.state,
          `${a.appliedRevision}/${a.issuedRevision ?? '-'}`, a.lastHeartbeatAgeSeconds === undefined ? '-' : `${Math.round(a.lastHeartbeatAgeSeconds)}s ago`,
          a.protection?.mode ?? '-', a.programs.map((p) => p.name).join(','), a.reasons.join('; ')])));
      return;
    }
    if (sub === 'wait') {
      const revisionText = stringFlag(args, 'revision');
      if (revisionText === undefined || !/^\d+$/.test(revisionText)) throw new UsageError('--revision <N> is required');
      const timeoutSeconds = durationSeconds(stringFlag(args, 'timeout') ?? '30s');
      if (timeoutSeconds === undefined) throw new UsageError('--timeout must be a duration like 30s');
      const client = await ApiClient.fromArgs(args);
      const deadline = Date.now() + timeoutSeconds * 1000;
      for (;;) {
        const status = await client.request<FleetStatus>('GET', `/v1/fleet/status?revision=${revisionText}`);
        const pending = status.pending ?? [];
        if (pending.length === 0) return void process.stdout.write(`every agent runs revision ${revisionText} or later (${status.agents.filter((a) => a.state !== 'revoked').length} agents)\n`);
        if (Date.now() >= deadline) throw new Error(`timed out; ${pending.length} agent(s) have not acked revision ${revisionText}: ${pending.join(', ')}`);
        await sleep(250);
      }
    }
    throw new UsageError(sub === undefined ? 'a subcommand is required' : `unknown subcommand "${sub}"`);
  });
}

/** Aligned columns, the last one unpadded. */
export function columns(headers: string[], rows: string[][]): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return `${all.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 3))).join('')).join('\n')}\n`;
}
