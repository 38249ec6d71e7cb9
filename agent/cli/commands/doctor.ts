import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { CliExit } from '../../../common/cli/program.js';
import { DEFAULT_AGENT_CONFIG_FILE } from '../../defaults.js';

export function command(): Command {
  return new Command('doctor')
    .summary('check this host can steer connections (kernel features + a live test) and the signer address is safe')
    .description('Check the kernel features steering needs, run a live steering test in a cgroup of its own, and check '
      + 'the signer address of the agent config is safe. Exit 1 when a check fails.')
    .option('--json', 'print JSON (for machines)')
    .option('--config <agent.yaml>', `agent config whose signer address is checked (default ${DEFAULT_AGENT_CONFIG_FILE} when it exists)`)
    .action(async (options: { json?: boolean; config?: string }) => {
      // The signer address checks use the agent's config (its defaults when there is no file).
      const file = options.config ?? (existsSync(DEFAULT_AGENT_CONFIG_FILE) ? DEFAULT_AGENT_CONFIG_FILE : undefined);
      const { loadAgentConfig } = await import('../../config.js');
      const config = await loadAgentConfig(file);
      const { runDoctor } = await import('../../steering/index.js'); // the addon: only when it runs
      const report = await runDoctor({ signer: config.signer });
      if (options.json) {
        process.stdout.write(`${JSON.stringify(report)}\n`);
      } else {
        for (const c of report.checks) process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.name}: ${c.detail}\n`);
        process.stdout.write(report.ok ? 'all checks passed\n' : 'some checks failed\n');
      }
      if (!report.ok) throw new CliExit(1);
    });
}
