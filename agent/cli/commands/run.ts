/** `sigil-agent run`: the host agent as a service (what the sigil-agent systemd unit starts). */
import { access } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { DEFAULT_AGENT_CONFIG_FILE, loadAgentConfig } from '../../config.js';
import { runDaemon } from '../../daemon/daemon.js';
import { createLogger } from '../../log.js';

export const summary = 'run the agent: steer, attest, sign (the systemd service)';

const USAGE = `usage: sigil-agent run [--config FILE] [--state-dir D] [--cgroup C] [--pin-dir P] [--nats URL]
                       [--signer-port N] [--admin HOST:PORT] [--log-level L]
  --config      agent config (default ${DEFAULT_AGENT_CONFIG_FILE} when it exists)
  flags override the file; the file overrides the defaults`;

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string' },
        'state-dir': { type: 'string' },
        cgroup: { type: 'string' },
        'pin-dir': { type: 'string' },
        nats: { type: 'string' },
        'signer-port': { type: 'string' },
        admin: { type: 'string' },
        'log-level': { type: 'string' },
        'heartbeat-ms': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`sigil-agent run: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const port = values['signer-port'] === undefined ? undefined : Number(values['signer-port']);
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    process.stderr.write(`sigil-agent run: --signer-port must be a port number\n${USAGE}\n`);
    return 2;
  }
  const file = values.config ?? (await exists(DEFAULT_AGENT_CONFIG_FILE) ? DEFAULT_AGENT_CONFIG_FILE : undefined);
  const config = await loadAgentConfig(file, {
    ...(values['state-dir'] ? { stateDir: values['state-dir'] } : {}),
    ...(values.cgroup ? { cgroup: values.cgroup } : {}),
    ...(values['pin-dir'] ? { pinDir: values['pin-dir'] } : {}),
    ...(values.nats ? { natsUrl: values.nats } : {}),
    ...(port ? { signerPort: port } : {}),
    ...(values.admin !== undefined ? { adminListen: values.admin } : {}),
    ...(values['log-level'] ? { logLevel: values['log-level'] } : {}),
  });
  const log = createLogger({ level: config.log.level });
  const stop = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stop.abort());
  try {
    await runDaemon({ config, log, signal: stop.signal, ...(values['heartbeat-ms'] ? { heartbeatIntervalMs: Number(values['heartbeat-ms']) } : {}) });
    return 0;
  } catch (err) {
    log.fatal({ err }, 'agent failed');
    process.stderr.write(`sigil-agent run: ${(err as Error).message}\n`);
    return 1;
  }
}

const exists = (file: string): Promise<boolean> => access(file).then(() => true, () => false);
