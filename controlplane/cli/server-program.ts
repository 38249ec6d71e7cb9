/**
 * The `sigil-controlplane` command tree: `run` (the service) and `init-nats` (the fleet's NATS
 * authority, once per installation). server-main.ts runs it; the man-page generator reads it.
 */
import { Command } from 'commander';
import { createProgram } from '../../common/cli/program.js';
import { completionCommand } from '../../common/cli/completion.js';
import { createSystemdNotifier } from '../../common/systemd/index.js';
import { loadConfig } from '../config/config.js';
import { createLogger } from '../log.js';
import { startControlPlane } from '../server.js';
import { CLUSTER_FLAGS, clusterOptionsFromFlags, initNats, nodeOptionsFromFlags } from './init-nats.js';

interface RunOptions { config?: string; natsUrl?: string; listen?: string; stateDir?: string; issuerUrl?: string; logLevel?: string }

function runCommand(): Command {
  return new Command('run')
    .summary('run the control plane (the systemd service)')
    .description('Run the control plane until SIGINT/SIGTERM: policy store, bundle distribution, token exchange, admin API. '
      + 'Settings: flags > config file > defaults.')
    .option('-c, --config <file>', 'control plane config (YAML)')
    .option('--nats-url <url>', 'NATS server URL')
    .option('--listen <host:port>', 'admin API and issuer listen address')
    .option('--state-dir <dir>', 'state dir (admin token, issuer keys)')
    .option('--issuer-url <url>', "the issuer's public URL")
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
    .action(async (options: RunOptions) => {
      const overrides = Object.fromEntries(Object.entries({
        natsUrl: options.natsUrl, listen: options.listen, stateDir: options.stateDir, issuerUrl: options.issuerUrl, logLevel: options.logLevel,
      }).filter(([, v]) => v !== undefined));
      const config = await loadConfig(options.config, overrides);
      const log = createLogger({ level: config.log.level });
      const stop = new AbortController();
      for (const sig of ['SIGINT', 'SIGTERM'] as const) {
        process.once(sig, () => {
          log.info({ signal: sig }, 'shutting down');
          stop.abort();
        });
      }
      const running = await startControlPlane(config, log, stop.signal);
      // Type=notify: READY once the store, issuer and API are up; WATCHDOG while the event loop turns.
      const systemd = createSystemdNotifier({ onError: (err) => log.warn({ err }, 'sd_notify failed') });
      systemd.ready(`serving ${running.url}`);
      const watchdog = systemd.startWatchdog();
      await running.done;
      watchdog?.stop();
    });
}

interface InitNatsFlags { stateDir: string; natsConfig: string; dataDir: string; listen: string; agentNatsUrl?: string; force?: boolean; [cluster: string]: unknown }

/** `--client-port` → `clientPort`: how commander names an option's value. */
const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

function initNatsCommand(): Command {
  return new Command('init-nats')
    .summary("create the fleet's NATS authority and the nats-server config (once per installation)")
    .description('Create the operator, the accounts, the control plane\'s and an admin\'s NATS users, and write the '
      + 'nats-server configuration that trusts them. Agents get their users later, at enrolment.')
    .requiredOption('--state-dir <dir>', "the control plane's state dir (gets fleet/nats-auth.json and the .creds files)")
    .requiredOption('--nats-config <file>', 'the nats-server configuration to write (with --cluster: a directory for node-<i>.conf)')
    .option('--data-dir <dir>', 'where nats-server keeps account JWTs and JetStream data', '/var/lib/sigil-nats')
    .option('--listen <host:port>', 'nats-server listen address', '127.0.0.1:4222')
    .option('--agent-nats-url <url>', 'the NATS URL agents are told at enrolment')
    .option('--force', 'replace an existing authority (every agent must enrol again)')
    .option('--cluster <N>', 'an HA cluster of N nats-server nodes instead of one server')
    .option('--hosts <h1,h2,...>', 'with --cluster: the nodes\' hosts (default 127.0.0.1)')
    .option('--node <name>', 'one node of a cluster (its server_name), for the authority already in --state-dir')
    .option('--host <addr>', 'with --node: its address (default 127.0.0.1)')
    .option('--routes <host:port,...>', 'with --node: the other nodes\' route addresses')
    .option('--client-port <port>', 'with --cluster or --node: client port (default 4222)')
    .option('--cluster-port <port>', 'with --cluster or --node: route port (default 6222)')
    .option('--monitor-port <port>', 'with --cluster or --node: HTTP monitoring port (default 8222)')
    .option('--tls-ca-cert <pem>', 'with --cluster or --node: CA certificate for the nodes\' TLS')
    .option('--tls-ca-key <pem>', 'with --cluster or --node: that CA\'s key')
    .option('--issuer-url <url>', 'with --cluster: the issuer URL every replica publishes')
    .action(async (options: InitNatsFlags) => {
      const flag = (name: (typeof CLUSTER_FLAGS)[number]): string | undefined => options[camel(name)] as string | undefined;
      const cluster = clusterOptionsFromFlags(flag);
      const node = nodeOptionsFromFlags(flag);
      const issuerUrl = flag('issuer-url');
      const { files, controlPlaneConfig } = await initNats({
        ...(cluster ? { cluster } : {}),
        ...(node ? { node } : {}),
        ...(issuerUrl ? { issuerUrl } : {}),
        stateDir: options.stateDir,
        natsConfig: options.natsConfig,
        dataDir: options.dataDir,
        listen: options.listen,
        force: options.force === true,
        ...(options.agentNatsUrl ? { agentNatsUrl: options.agentNatsUrl } : {}),
      });
      process.stdout.write(`wrote:\n${files.map((f) => `  ${f}`).join('\n')}\n${node
        ? `start it with: nats-server -c ${options.natsConfig}`
        : controlPlaneConfig
        ? `start each nats-server with -c on its node-<i>.conf, then: sigil-controlplane run --config ${controlPlaneConfig} --listen <host:port>${issuerUrl ? '' : ' --issuer-url <url>'}`
        : `start nats-server with -c on that config, then set nats.credsFile to ${options.stateDir}/controlplane.creds`}\n`);
    });
}

export function serverProgram(): Command {
  const program = createProgram('sigil-controlplane', 'The Sigil control plane: policy, bundle distribution over NATS, token exchange, admin API.');
  program.addCommand(runCommand());
  program.addCommand(initNatsCommand());
  program.addCommand(completionCommand('sigil-controlplane', serverProgram));
  return program;
}
