/**
 * A share of the fleet benchmark's simulated agents in their own process, so the control plane is
 * not measured through one event loop that also runs every agent.
 *
 *   node fleet-agents.js <revision> [--lite] <state dir>...
 *
 * Default: one real FleetClient per enrolled state dir (JWS verification, fsync'd bundle, ack).
 * --lite: a cheap stand-in per dir that still has its own NATS connection, user JWT and permissions
 * (so the server fans out to as many sockets as a real fleet), but acks each push as it arrives,
 * naming the revision from the JWS payload without verifying or persisting it. Those are the per-host
 * costs a real fleet pays on each host's own CPU and disk; the benchmark measures them with a few real
 * clients beside the lite ones instead of serialising 1,000 hosts' worth on this machine's cores.
 * Prints {"ready":n} once every agent is connected (real ones: running at least `revision`), then
 * runs until SIGTERM, when it stops them all and exits 0.
 */
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { FleetClient } from '../agent/fleet/index.js';
import { loadEnrollment, natsServersFor } from '../agent/fleet/enrollment.js';
import { createLogger } from '../agent/log.js';
import { subjects } from '../protocol/subjects.js';

const args = process.argv.slice(2);
const revision = Number(args[0]);
const lite = args.includes('--lite');
const dirs = args.slice(1).filter((a) => a !== '--lite');
const log = createLogger({ level: 'error' });

interface Agent { stop(): Promise<void> }

/** The revision a compact JWS carries, read from its payload (no verification: see the header). */
function revisionOf(jws: string): number {
  const payload = jws.slice(jws.indexOf('.') + 1, jws.lastIndexOf('.'));
  return (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { revision: number }).revision;
}

async function startLite(stateDir: string): Promise<Agent> {
  const { enrollment, creds } = await loadEnrollment(stateDir);
  const agentId = enrollment.agentId;
  let nc: NatsConnection | undefined;
  for (let attempt = 1; !nc; attempt++) {
    try {
      nc = await connect({
        servers: natsServersFor(enrollment, undefined), name: `sigil-bench-lite-${agentId}`, authenticator: credsAuthenticator(creds), inboxPrefix: subjects.inboxPrefix(agentId),
        maxReconnectAttempts: -1, ...(enrollment.natsCaFile ? { tls: { caFile: enrollment.natsCaFile } } : {}),
      });
    } catch (err) {
      if (attempt >= 10) throw err; // a loaded machine can time out the JWT handshake: try again, as FleetClient does
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
  const conn = nc;
  conn.subscribe(subjects.bundlePush(agentId), { callback: (err, msg) => {
    if (err) return;
    conn.publish(subjects.bundleAck(agentId), JSON.stringify({ agentId, revision: revisionOf(msg.string()), appliedAt: new Date().toISOString() }));
  } });
  await conn.flush();
  return { stop: () => conn.drain().catch(() => conn.close()) };
}

async function startReal(stateDir: string): Promise<FleetClient> {
  return FleetClient.start({ stateDir, version: 'bench', log, heartbeatIntervalMs: 60_000, programs: () => [], apply: async () => undefined });
}

async function main(): Promise<void> {
  const agents: Agent[] = [];
  if (lite) {
    // Connect in batches: the server's auth callout and the JWT checks take a moment each.
    for (let i = 0; i < dirs.length; i += 20) agents.push(...await Promise.all(dirs.slice(i, i + 20).map(startLite)));
  } else {
    const clients: FleetClient[] = [];
    for (const stateDir of dirs) clients.push(await startReal(stateDir));
    agents.push(...clients);
    await Promise.all(clients.map((c) => c.connected));
    const deadline = Date.now() + 60_000;
    while (clients.some((c) => c.revision < revision)) {
      if (Date.now() > deadline) throw new Error('agents did not get their first bundle');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  process.stdout.write(`${JSON.stringify({ ready: agents.length })}\n`);
  await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
  await Promise.all(agents.map((a) => a.stop()));
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`fleet-agents: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
