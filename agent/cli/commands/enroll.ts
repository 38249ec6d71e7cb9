import { Command, Option } from 'commander';
import { DEFAULT_AGENT_STATE_DIR } from '../../defaults.js';

export function command(): Command {
  return new Command('enroll')
    .summary('enrol this host with the control plane (a one-time join token)')
    .description('Enrol this host: trade a one-time join token (sigil token create) for an agent id, NATS credentials '
      + 'and the pinned bundle-signing key, kept in the state dir.')
    .addOption(new Option('--token <join token>', 'one-time join token').env('SIGIL_JOIN_TOKEN').makeOptionMandatory())
    .requiredOption('--control-plane <url>', 'the control plane\'s URL (e.g. http://127.0.0.1:8787)')
    .option('--state-dir <dir>', 'the agent\'s state dir', DEFAULT_AGENT_STATE_DIR)
    .option('--hostname <name>', 'the name the fleet shows (default: this host\'s)')
    .action(async (options: { token: string; controlPlane: string; stateDir: string; hostname?: string }) => {
      const { token, controlPlane: controlPlaneUrl, stateDir, hostname } = options;
      const { enroll } = await import('../../fleet/index.js'); // NATS and JOSE: only when it runs
      const enrollment = await enroll({ token, controlPlaneUrl, stateDir, ...(hostname ? { hostname } : {}) });
      process.stdout.write(`enrolled as ${enrollment.agentId}; NATS ${(enrollment.natsServers ?? [enrollment.natsUrl]).join(', ')}; bundle key ${enrollment.bundleSigningJwk.kid} pinned in ${stateDir}\n`);
    });
}
