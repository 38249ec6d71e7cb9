import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_AGENT_CONFIG_FILE, loadAgentConfig } from '../../config.js';
import { runDoctor } from '../../steering/index.js';

export const summary = 'check this host can steer connections (kernel features + a live test) and the signer address is safe; --json for machines';

const USAGE = 'usage: sigil-agent doctor [--json] [--config <agent.yaml>]';

export async function run(argv: string[]): Promise<number> {
  let values: { json?: boolean; config?: string };
  try {
    ({ values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, config: { type: 'string' } } }));
  } catch (err) {
    process.stderr.write(`sigil-agent doctor: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const json = values.json === true;
  // The signer address checks use the agent's config (its defaults when there is no file).
  const file = values.config ?? (existsSync(DEFAULT_AGENT_CONFIG_FILE) ? DEFAULT_AGENT_CONFIG_FILE : undefined);
  const config = await loadAgentConfig(file);
  const report = await runDoctor({ signer: config.signer });
  if (json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } else {
    for (const c of report.checks) process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.name}: ${c.detail}\n`);
    process.stdout.write(report.ok ? 'all checks passed\n' : 'some checks failed\n');
  }
  return report.ok ? 0 : 1;
}
