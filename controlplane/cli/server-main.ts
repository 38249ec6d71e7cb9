#!/usr/bin/env node
/**
 * `sigil-controlplane run [--config <file>] [--nats-url u] [--listen host:port] [--state-dir d]
 * [--issuer-url u] [--log-level l]`: starts the control plane until SIGINT/SIGTERM.
 * Settings: flags > config file > defaults (controlplane/config/config.ts).
 */
import { ControlPlaneError } from '../errors.js';
import { loadConfig } from '../config/config.js';
import { createLogger } from '../log.js';
import { startControlPlane } from '../server.js';
import { parseArgs, stringFlag, UsageError } from './args.js';
import { CLUSTER_FLAGS, CLUSTER_USAGE, clusterOptionsFromFlags, initNats } from './init-nats.js';
import { createSystemdNotifier } from '../../common/systemd/index.js';

const USAGE = `usage: sigil-controlplane run [--config <file>] [--nats-url <url>] [--listen <host:port>]
                              [--state-dir <dir>] [--issuer-url <url>] [--log-level <level>]
       sigil-controlplane init-nats --state-dir <dir> --nats-config <file> [--data-dir <dir>]
                              [--listen <host:port>] [--agent-nats-url <url>] [--force]
${CLUSTER_USAGE}`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command === 'init-nats') return initNatsCommand(rest);
  if (command !== 'run') {
    process.stderr.write(`${command === undefined ? '' : `sigil-controlplane: unknown command '${command}'\n`}${USAGE}\n`);
    return 2;
  }
  let args;
  try {
    args = parseArgs(rest, {
      config: { alias: 'c' }, 'nats-url': {}, listen: {}, 'state-dir': {}, 'issuer-url': {}, 'log-level': {},
    });
    if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${args.positionals[0]}`);
  } catch (err) {
    process.stderr.write(`sigil-controlplane: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const overrides = Object.fromEntries(Object.entries({
    natsUrl: stringFlag(args, 'nats-url'), listen: stringFlag(args, 'listen'), stateDir: stringFlag(args, 'state-dir'),
    issuerUrl: stringFlag(args, 'issuer-url'), logLevel: stringFlag(args, 'log-level'),
  }).filter(([, v]) => v !== undefined));
  const config = await loadConfig(stringFlag(args, 'config'), overrides);
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
  return 0;
}

async function initNatsCommand(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs(argv, { 'state-dir': {}, 'nats-config': {}, 'data-dir': {}, listen: {}, 'agent-nats-url': {}, force: { boolean: true }, ...Object.fromEntries(CLUSTER_FLAGS.map((f) => [f, {}])) });
    if (!stringFlag(args, 'state-dir') || !stringFlag(args, 'nats-config')) throw new UsageError('--state-dir and --nats-config are required');
  } catch (err) {
    process.stderr.write(`sigil-controlplane: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const stateDir = stringFlag(args, 'state-dir') as string;
  const agentNatsUrl = stringFlag(args, 'agent-nats-url');
  const cluster = clusterOptionsFromFlags((name) => stringFlag(args, name));
  const issuerUrl = stringFlag(args, 'issuer-url');
  const { files, controlPlaneConfig } = await initNats({
    ...(cluster ? { cluster } : {}),
    ...(issuerUrl ? { issuerUrl } : {}),
    stateDir,
    natsConfig: stringFlag(args, 'nats-config') as string,
    dataDir: stringFlag(args, 'data-dir') ?? '/var/lib/sigil-nats',
    listen: stringFlag(args, 'listen') ?? '127.0.0.1:4222',
    force: args.flags['force'] === true,
    ...(agentNatsUrl ? { agentNatsUrl } : {}),
  });
  process.stdout.write(`wrote:\n${files.map((f) => `  ${f}`).join('\n')}\n${controlPlaneConfig
    ? `start each nats-server with -c on its node-<i>.conf, then: sigil-controlplane run --config ${controlPlaneConfig} --listen <host:port>${issuerUrl ? '' : ' --issuer-url <url>'}`
    : `start nats-server with -c on that config, then set nats.credsFile to ${stateDir}/controlplane.creds`}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    const code = err instanceof ControlPlaneError ? ` [${err.code}]` : '';
    process.stderr.write(`sigil-controlplane: ${err instanceof Error ? err.message : String(err)}${code}\n`);
    process.exitCode = 1;
  },
);
