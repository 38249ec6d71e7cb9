/** `sigil-agent run`: the host agent as a service (what the sigil-agent systemd unit starts). */
import { access } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { UsageError } from '../../../common/cli/program.js';
import { DEFAULT_AGENT_CONFIG_FILE } from '../../defaults.js';

/**
 * Steering the cgroup2 root catches every process on the host: never by default. The config says
 * `steering.cgroup: /` or the command line says --all-host; otherwise the agent names what to do.
 */
export function allHostProblem(cgroup: string, allHost: boolean): string | undefined {
  if (allHost && cgroup !== '' && cgroup !== '/') return `--all-host contradicts steering.cgroup ${cgroup} (drop one)`;
  if (allHost || cgroup !== '') return undefined;
  return 'no steering cgroup is set: the agent would steer every process on this host. Set steering.cgroup in the '
    + 'config (or --cgroup <dir>) to steer one cgroup, or say so: --all-host, or steering.cgroup: / in the config';
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('must be a port number (1-65535)');
  return n;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive whole number');
  return n;
}

interface RunOptions {
  config?: string; stateDir?: string; cgroup?: string; allHost?: boolean; pinDir?: string; nats?: string;
  signerPort?: number; admin?: string; logLevel?: string; heartbeatMs?: number;
}

export function command(): Command {
  return new Command('run')
    .summary('run the agent: steer, attest, sign (the systemd service)')
    .description('Run the host agent until SIGINT/SIGTERM: steer connections to OCI into the local signer, attest each '
      + 'process, sign its requests. Flags override the config file; the file overrides the defaults.')
    .option('--config <file>', `agent config (default ${DEFAULT_AGENT_CONFIG_FILE} when it exists)`)
    .option('--state-dir <dir>', 'state dir (CA, enrolment, last good bundle)')
    .option('--cgroup <dir>', 'cgroup v2 directory whose processes are steered (config steering.cgroup)')
    .option('--all-host', 'steer every process on the host (the cgroup2 root); needed when no cgroup is set')
    .option('--pin-dir <dir>', 'bpffs directory for the pinned programs and maps')
    .option('--nats <url>', 'NATS URL of the control plane')
    .option('--signer-port <port>', "the signer's port", port)
    .option('--admin <host:port>', 'admin endpoint (/metrics, /healthz, /readyz); empty disables it')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
    .addOption(new Option('--heartbeat-ms <ms>', 'heartbeat interval (tests)').argParser(positiveInt).hideHelp())
    .action(async (options: RunOptions) => {
      const file = options.config ?? (await exists(DEFAULT_AGENT_CONFIG_FILE) ? DEFAULT_AGENT_CONFIG_FILE : undefined);
      const { loadAgentConfig } = await import('../../config.js');
      const config = await loadAgentConfig(file, {
        ...(options.stateDir ? { stateDir: options.stateDir } : {}),
        ...(options.cgroup ? { cgroup: options.cgroup } : {}),
        ...(options.pinDir ? { pinDir: options.pinDir } : {}),
        ...(options.nats ? { natsUrl: options.nats } : {}),
        ...(options.signerPort ? { signerPort: options.signerPort } : {}),
        ...(options.admin !== undefined ? { adminListen: options.admin } : {}),
        ...(options.logLevel !== undefined ? { logLevel: options.logLevel } : {}),
      });
      const problem = allHostProblem(config.steering.cgroup, options.allHost === true);
      if (problem) throw new UsageError(problem);
      // Loaded only to run: `--help` and usage errors stay quick (the daemon pulls in the addon, NATS, ...).
      const [{ runDaemon }, { createLogger }] = await Promise.all([import('../../daemon/daemon.js'), import('../../log.js')]);
      const log = createLogger({ level: config.log.level });
      const stop = new AbortController();
      for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stop.abort());
      try {
        await runDaemon({ config, log, signal: stop.signal, ...(options.heartbeatMs ? { heartbeatIntervalMs: options.heartbeatMs } : {}) });
      } catch (err) {
        log.fatal({ err }, 'agent failed');
        throw err;
      }
    });
}

const exists = (file: string): Promise<boolean> => access(file).then(() => true, () => false);
