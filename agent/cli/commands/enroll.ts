import { parseArgs } from 'node:util';
import { DEFAULT_AGENT_STATE_DIR } from '../../config.js';
import { AgentError } from '../../errors.js';
import { enroll } from '../../fleet/index.js';

export const summary = 'enrol this host: enroll --token T --control-plane URL [--state-dir D]';
const USAGE = 'usage: sigil-agent enroll --token <join token> --control-plane <url> [--state-dir <dir>] [--hostname <name>]';

export async function run(argv: string[]): Promise<number> {
  let values: { token?: string; 'control-plane'?: string; 'state-dir'?: string; hostname?: string };
  try {
    values = parseArgs({ args: argv, options: { token: { type: 'string' }, 'control-plane': { type: 'string' }, 'state-dir': { type: 'string' }, hostname: { type: 'string' } } }).values;
    values.token ??= process.env['SIGIL_JOIN_TOKEN'];
    if (!values.token) throw new Error('--token is required (or env SIGIL_JOIN_TOKEN)');
    if (!values['control-plane']) throw new Error('--control-plane is required');
  } catch (err) {
    process.stderr.write(`sigil-agent enroll: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const token = values.token;
  const controlPlaneUrl = values['control-plane'];
  const stateDir = values['state-dir'] ?? DEFAULT_AGENT_STATE_DIR;
  const hostname = values.hostname;
  try {
    const enrollment = await enroll({ token, controlPlaneUrl, stateDir, ...(hostname ? { hostname } : {}) });
    process.stdout.write(`enrolled as ${enrollment.agentId}; NATS ${(enrollment.natsServers ?? [enrollment.natsUrl]).join(', ')}; bundle key ${enrollment.bundleSigningJwk.kid} pinned in ${stateDir}\n`);
    return 0;
  } catch (err) {
    const code = err instanceof AgentError ? ` [${err.code}]` : '';
    process.stderr.write(`sigil-agent enroll: ${(err as Error).message}${code}\n`);
    return 1;
  }
}
