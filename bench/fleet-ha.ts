/**
 * The fleet on a NATS cluster (issue 15), both figures from one run, each NATS as an operator makes it
 * (`sigil-controlplane init-nats`, TLS for clients and routes, JWT auth) on loopback:
 *
 *  - apply → ack p99 for `n` simulated agents (lite ones beside 20 real FleetClients, as bench/fleet.ts
 *    --lite) against a 3-node cluster (`init-nats --cluster 3`, buckets R3) and against one node
 *    (`init-nats --cluster 1`: the same TLS and auth, R1), one after the other;
 *  - apply → agent running, p50/p99 over every (apply, real agent) pair of `applies` applies on the
 *    cluster, with the node leading the policy bucket's stream (KV_sigil-resources, where every apply
 *    writes) killed -9 at the start of one apply, on purpose, and started again a few applies later.
 *    Times run from the apply's start (before the kill) to the agent's ack, which a FleetClient sends
 *    only once it runs the revision.
 *
 * Run alone: UV_THREADPOOL_SIZE=64 node dist/bench/fleet.js --ha [n] [processes]  → {"fleetHa":{…}}
 * Loopback addresses 127.77.150.51–54, ports 15100–15132 (options.cluster / options.oneNode).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { benchFleet, type FleetBenchResult, type RoundsWorld } from './fleet.js';
import { spread, type Spread } from './median-spread.js';
import { adminConnection, initNatsCluster, leaderOf, metaLeader, streamLeader, type ClusterLayout, type NatsCluster } from './nats-cluster.js';

/** The policy bucket's stream: every apply's writes go through its leader. */
export const POLICY_STREAM = 'KV_sigil-resources';

export interface FleetHaApply {
  /** The store's apply call (from its start, the kill included). */
  applyMs: number;
  runningP50Ms: number;
  runningMaxMs: number;
  /** The killed node was down during this apply. */
  nodeDown: boolean;
}

export interface FleetHaResult {
  agents: number;
  realAgents: number;
  nodes: number;
  /** apply → ack p99, `agents` agents, median of the rounds: on the 3-node cluster, and on one node, same run. */
  applyToAckP99MsCluster: number;
  applyToAckP99MsOneNode: number;
  /** apply → real agent running, over every (apply, real agent) pair, one node killed during the run. */
  applyToRunningP50Ms: number;
  applyToRunningP99Ms: number;
  applyToRunningMaxMs: number;
  applies: number;
  /** Which apply (from 0) the kill started, the node killed and what it led then, and who led after. */
  killedAtApply: number;
  killedNode: string;
  killedNodeLed: string[];
  leaderAfterKill: string | null;
  /** That apply: the store call and the last real agent running it, from the kill. */
  killedApplyMs: number;
  killedApplyToRunningMaxMs: number;
  perApply: FleetHaApply[];
  cluster: FleetBenchResult;
  oneNode: FleetBenchResult;
  /** min–max: of the per-apply p50 / p99 (running), of the rounds (ack). */
  spread: { applyToRunningP50Ms: Spread; applyToRunningP99Ms: Spread; applyToAckP99MsCluster: Spread; applyToAckP99MsOneNode: Spread };
}

export interface FleetHaOptions {
  processes?: number;
  realAgents?: number;
  rounds?: number;
  applies?: number;
  killAt?: number;
  /** The killed node is started again after this apply (from 0). */
  restartAfter?: number;
  cluster?: Omit<ClusterLayout, 'root'>;
  oneNode?: Omit<ClusterLayout, 'root'>;
}

const CLUSTER: Omit<ClusterLayout, 'root'> = { hosts: [51, 52, 53].map((i) => `127.77.150.${i}`), clientPort: 15100, clusterPort: 15110, monitorPort: 15120, issuerUrl: 'http://127.0.0.1:1' };
const ONE_NODE: Omit<ClusterLayout, 'root'> = { hosts: ['127.77.150.54'], clientPort: 15130, clusterPort: 15131, monitorPort: 15132 };

const phase = (name: string): void => {
  if (process.env['SIGIL_BENCH_DEBUG']) process.stderr.write(`${new Date().toISOString()} ha: ${name}\n`);
};

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round((sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0) * 10) / 10;
}

/** Starts `layout`'s nodes from init-nats, runs `fn` on them, stops them and removes everything. */
async function onCluster<T>(layout: Omit<ClusterLayout, 'root'>, fn: (cluster: NatsCluster) => Promise<T>): Promise<T> {
  const root = await mkdtemp(join(tmpdir(), 'sigil-bench-ha-'));
  const cluster = initNatsCluster({ root, ...layout });
  try {
    await cluster.start();
    phase(`${cluster.nodes.length} node(s) up`);
    return await fn(cluster);
  } finally {
    await cluster.stop();
    await rm(root, { recursive: true, force: true });
  }
}

export async function benchFleetHa(n = 1000, options: FleetHaOptions = {}): Promise<FleetHaResult> {
  const processes = options.processes ?? 2;
  const realAgents = options.realAgents ?? 20;
  const rounds = options.rounds ?? 3;
  const applies = options.applies ?? 10;
  const killAt = options.killAt ?? 2;
  const restartAfter = options.restartAfter ?? 5;
  const fleetOptions = { processes, lite: true, realAgents, rounds };

  const oneNode = await onCluster(options.oneNode ?? ONE_NODE, (node) => benchFleet(n, { ...fleetOptions, nats: { servers: node.servers, stateDir: node.stateDir } }));
  phase(`one node: ${JSON.stringify(oneNode)}`);

  const perApply: FleetHaApply[] = [];
  const running: number[] = [];
  let killed: { node: string; led: string[]; leaderAfter: string | null; applyMs: number; runningMaxMs: number } | undefined;
  const cluster = await onCluster(options.cluster ?? CLUSTER, async (nats) => benchFleet(n, {
    ...fleetOptions, nats: { servers: nats.servers, stateDir: nats.stateDir },
    afterRounds: async (world: RoundsWorld) => {
      const admin = await adminConnection(nats);
      let watcher: NatsConnection | undefined;
      try {
        let victim: NatsCluster['nodes'][number] | undefined;
        for (let i = 0; i < applies; i++) {
          let led: string[] = [];
          if (i === killAt) {
            // The policy bucket's stream leader, chosen on purpose (and whether it also leads the meta group).
            const name = await leaderOf(() => streamLeader(admin, POLICY_STREAM));
            if (!name) throw new Error(`${POLICY_STREAM} has no leader to kill`);
            victim = nats.node(name);
            led = [POLICY_STREAM, ...((await metaLeader(nats)) === name ? ['meta'] : [])];
            // Acks are also watched from the nodes that stay up (an observer on the victim would miss some while it reconnects).
            watcher = await connect({
              servers: nats.servers.filter((_, k) => nats.nodes[k] !== victim), tls: { caFile: nats.caFile }, maxReconnectAttempts: -1,
              authenticator: credsAuthenticator(new TextEncoder().encode(world.adminCreds)),
            });
            await world.watchAcksOn(watcher);
          }
          const t0 = performance.now();
          if (i === killAt) await victim!.proc.kill('SIGKILL');
          const r = await world.timedApply(rounds + i, t0);
          running.push(...r.realRunningMs);
          perApply.push({ applyMs: Math.round(r.applyMs), runningP50Ms: quantile(r.realRunningMs, 0.5), runningMaxMs: quantile(r.realRunningMs, 1), nodeDown: victim !== undefined && !victim.proc.running });
          phase(`apply ${i}: ${JSON.stringify(perApply.at(-1))}`);
          if (i === killAt) {
            const after = await leaderOf(() => streamLeader(admin, POLICY_STREAM), 5_000);
            killed = { node: victim!.name, led, leaderAfter: after ?? null, applyMs: Math.round(r.applyMs), runningMaxMs: quantile(r.realRunningMs, 1) };
          }
          if (i === restartAfter && victim) await victim.proc.start(victim.healthy, 60_000);
        }
      } finally {
        await watcher?.close().catch(() => undefined);
        await admin.close().catch(() => undefined);
      }
    },
  }));
  if (!killed) throw new Error('no node was killed (killAt beyond applies?)');
  const p50s = perApply.map((a) => a.runningP50Ms);
  const maxes = perApply.map((a) => a.runningMaxMs);
  return {
    agents: n, realAgents, nodes: (options.cluster ?? CLUSTER).hosts.length,
    applyToAckP99MsCluster: cluster.applyToAckP99Ms, applyToAckP99MsOneNode: oneNode.applyToAckP99Ms,
    applyToRunningP50Ms: quantile(running, 0.5), applyToRunningP99Ms: quantile(running, 0.99), applyToRunningMaxMs: quantile(running, 1),
    applies, killedAtApply: killAt, killedNode: killed.node, killedNodeLed: killed.led, leaderAfterKill: killed.leaderAfter,
    killedApplyMs: killed.applyMs, killedApplyToRunningMaxMs: killed.runningMaxMs,
    perApply, cluster, oneNode,
    spread: {
      applyToRunningP50Ms: spread(p50s, 1),
      // Per apply with 20 agents the p99 is the slowest agent.
      applyToRunningP99Ms: spread(maxes, 1),
      applyToAckP99MsCluster: cluster.spread.applyToAckP99Ms,
      applyToAckP99MsOneNode: oneNode.spread.applyToAckP99Ms,
    },
  };
}
