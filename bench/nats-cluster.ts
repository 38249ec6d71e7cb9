/**
 * A NATS cluster on loopback exactly as an operator makes it: `sigil-controlplane init-nats --cluster N`
 * writes the configs and the replicas' state, and one `nats-server -c node-<i>.conf` runs per node.
 * Shared by the HA benchmark (bench/fleet-ha.ts) and the failover tests (test/e2e/ha-*.ts), so bench
 * code needs nothing from test/. Also: which node leads the JetStream meta group or a stream, so a
 * benchmark or test can kill a leader on purpose.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SERVER_MAIN = path.join(ROOT, 'dist/controlplane/cli/server-main.js');

/** A child process that can be killed and started again with the same command; its output kept. */
export class Restartable {
  #child: ChildProcess | undefined;
  #output = '';
  constructor(readonly name: string, private readonly command: string, private readonly args: string[]) {}

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  output(): string {
    return this.#output;
  }

  /** Starts it and resolves once `ready()` holds (polled until `timeoutMs`). */
  async start(ready: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
    const child = spawn(this.command, this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    this.#output += `--- start ${new Date().toISOString()}\n`;
    const keep = (d: Buffer): void => { this.#output = (this.#output + d.toString()).slice(-200_000); };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`${this.name} exited (${child.exitCode ?? child.signalCode}):\n${this.#output.slice(-4000)}`);
      if (await ready().catch(() => false)) return;
      if (Date.now() > deadline) throw new Error(`${this.name} not ready after ${timeoutMs} ms:\n${this.#output.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGKILL (or `signal`, then SIGKILL after `graceMs` if it is still running) by pid; resolves once it has exited. */
  async kill(signal: NodeJS.Signals = 'SIGKILL', graceMs = 15_000): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    const timer = signal === 'SIGKILL' ? undefined : setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

export async function httpStatus(url: string, timeoutMs = 2_000): Promise<number> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  await res.arrayBuffer();
  return res.status;
}

export interface ClusterLayout {
  /** Where everything goes: `<root>/cp` (the replicas' state), `<root>/nats` (configs, TLS), `<root>/nats-data`. */
  root: string;
  /** One loopback address per node (nodes may also share one: ports are base + i). */
  hosts: string[];
  clientPort: number;
  clusterPort: number;
  monitorPort: number;
  issuerUrl?: string;
}

export interface ClusterNode {
  /** server_name, as `/jsz` and stream info name a leader: `sigil-nats-<i>`. */
  name: string;
  host: string;
  clientPort: number;
  monitorPort: number;
  proc: Restartable;
  /** GET /healthz answers 200 (JetStream current). */
  healthy(): Promise<boolean>;
}

export interface NatsCluster {
  /** The state dir init-nats wrote (controlplane.yaml, creds, nats-ca.pem, fleet/). */
  stateDir: string;
  servers: string[];
  /** CA of the nodes' certificates. */
  caFile: string;
  nodes: ClusterNode[];
  /** A live node by server_name. */
  node(name: string): ClusterNode;
  /** Starts every node and waits until each is healthy. */
  start(timeoutMs?: number): Promise<void>;
  /** SIGTERM to every node still running (by pid). */
  stop(): Promise<void>;
}

/** Runs `init-nats --cluster <hosts.length>` (the operator's step 1) and prepares one process per node; nothing started yet. */
export function initNatsCluster(layout: ClusterLayout): NatsCluster {
  const stateDir = path.join(layout.root, 'cp');
  const natsDir = path.join(layout.root, 'nats');
  const init = spawnSync(process.execPath, [SERVER_MAIN, 'init-nats', '--cluster', String(layout.hosts.length), '--hosts', layout.hosts.join(','),
    '--client-port', String(layout.clientPort), '--cluster-port', String(layout.clusterPort), '--monitor-port', String(layout.monitorPort),
    '--state-dir', stateDir, '--nats-config', natsDir, '--data-dir', path.join(layout.root, 'nats-data'),
    ...(layout.issuerUrl ? ['--issuer-url', layout.issuerUrl] : [])], { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`init-nats --cluster failed (${init.status}): ${init.stderr}`);
  const nodes = layout.hosts.map((host, i): ClusterNode => {
    const n = { name: `sigil-nats-${i + 1}`, host, clientPort: layout.clientPort + i, monitorPort: layout.monitorPort + i };
    return {
      ...n,
      proc: new Restartable(n.name, 'nats-server', ['-c', path.join(natsDir, `node-${i + 1}.conf`)]),
      healthy: async () => (await httpStatus(`http://${host}:${n.monitorPort}/healthz`)) === 200,
    };
  });
  return {
    stateDir,
    servers: nodes.map((n) => `tls://${n.host}:${n.clientPort}`),
    caFile: path.join(stateDir, 'nats-ca.pem'),
    nodes,
    node(name) {
      const found = nodes.find((n) => n.name === name);
      if (!found) throw new Error(`no node named ${name}`);
      return found;
    },
    async start(timeoutMs = 60_000) {
      await Promise.all(nodes.map((n) => n.proc.start(async () => n.proc.output().includes('Server is ready'), timeoutMs)));
      await Promise.all(nodes.map((n) => untilHealthy(n, timeoutMs)));
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.proc.kill('SIGTERM')));
    },
  };
}

async function untilHealthy(node: ClusterNode, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await node.healthy().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${node.name} not healthy after ${timeoutMs} ms:\n${node.proc.output().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A connection with the admin user init-nats wrote (full access to the SIGIL account), over the cluster's TLS. */
export async function adminConnection(cluster: NatsCluster): Promise<NatsConnection> {
  const creds = await readFile(path.join(cluster.stateDir, 'admin.creds'));
  return connect({
    servers: cluster.servers, authenticator: credsAuthenticator(creds), tls: { caFile: cluster.caFile },
    maxReconnectAttempts: -1, reconnectTimeWait: 250, pingInterval: 2_000, maxPingOut: 2, name: 'sigil-ha-observer',
  });
}

/** The JetStream meta leader's server_name, as a running node's `/jsz` reports it (undefined while none is elected). */
export async function metaLeader(cluster: NatsCluster): Promise<string | undefined> {
  for (const n of cluster.nodes.filter((x) => x.proc.running)) {
    try {
      const res = await fetch(`http://${n.host}:${n.monitorPort}/jsz`, { signal: AbortSignal.timeout(2_000) });
      const leader = ((await res.json()) as { meta_cluster?: { leader?: string } }).meta_cluster?.leader;
      if (leader) return leader;
    } catch {
      // try the next node
    }
  }
  return undefined;
}

/** The server_name of `stream`'s leader (`$JS.API.STREAM.INFO.<stream>` → cluster.leader); undefined while leaderless. */
export async function streamLeader(nc: NatsConnection, stream: string): Promise<string | undefined> {
  const jsm = await jetstreamManager(nc, { timeout: 2_000 });
  return (await jsm.streams.info(stream)).cluster?.leader || undefined;
}

/** Waits (until `timeoutMs`) for `read` to name a leader; the name, or undefined when none came. */
export async function leaderOf(read: () => Promise<string | undefined>, timeoutMs = 20_000): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const leader = await read().catch(() => undefined);
    if (leader !== undefined || Date.now() > deadline) return leader;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Asks the meta leader to step down (`$JS.API.META.LEADER.STEPDOWN`, system account: the control plane's `sys` user). */
export async function stepDownMetaLeader(cluster: NatsCluster): Promise<void> {
  const auth = JSON.parse(await readFile(path.join(cluster.stateDir, 'fleet/nats-auth.json'), 'utf8')) as { systemCreds: string };
  const sys = await connect({ servers: cluster.servers, authenticator: credsAuthenticator(new TextEncoder().encode(auth.systemCreds)), tls: { caFile: cluster.caFile } });
  try {
    await sys.request('$JS.API.META.LEADER.STEPDOWN', '', { timeout: 5_000 });
  } finally {
    await sys.close();
  }
}
