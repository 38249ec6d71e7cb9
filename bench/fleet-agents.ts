/**
 * A share of the fleet benchmark's simulated agents in their own process, so the control plane is
 * not measured through one event loop that also runs every agent.
 *
 *   node fleet-agents.js <revision> <state dir>...
 *
 * Starts one real FleetClient per enrolled state dir, prints {"ready":n} once every client runs at
 * least `revision`, then runs until SIGTERM, when it stops them all and exits 0.
 */
import { FleetClient } from '../agent/fleet/index.js';
import { createLogger } from '../agent/log.js';

const [revisionArg, ...dirs] = process.argv.slice(2);
const revision = Number(revisionArg);
const log = createLogger({ level: 'error' });

async function main(): Promise<void> {
  const clients: FleetClient[] = [];
  for (const stateDir of dirs) {
    clients.push(await FleetClient.start({ stateDir, version: 'bench', log, heartbeatIntervalMs: 60_000, programs: () => [], apply: async () => undefined }));
  }
  await Promise.all(clients.map((c) => c.connected));
  const deadline = Date.now() + 60_000;
  while (clients.some((c) => c.revision < revision)) {
    if (Date.now() > deadline) throw new Error('agents did not get their first bundle');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  process.stdout.write(`${JSON.stringify({ ready: clients.length })}\n`);
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  await Promise.all(clients.map((c) => c.stop()));
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`fleet-agents: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
