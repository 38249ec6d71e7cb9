/**
 * A real fleet for tests: nats-server with decentralised JWT auth (full resolver), the control plane
 * in-process with the fleet on (short heartbeat interval), and in-process agents (FleetClient) that
 * each enrol with a join token over HTTP and hold their own NATS connection and state dir.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { loadConfig } from '../../../controlplane/config/config.js';
import { createLogger } from '../../../controlplane/log.js';
import { startControlPlane, type RunningControlPlane } from '../../../controlplane/server.js';
import { createNatsAuth, natsServerConfig, type NatsAuthSetup } from '../../../controlplane/fleet/nats-auth.js';
import type { ExpectedProgram } from '../../../controlplane/fleet/fleet-monitor.js';
import { parseResources } from '../../../controlplane/resources/parse.js';
import type { AgentBundle } from '../../../protocol/bundle.js';
import type { ProgramInfo, ShippedProgram, WorkloadUsage } from '../../../protocol/fleet.js';
import { enroll, FleetClient } from '../../../agent/fleet/index.js';
import { startNatsServer, type NatsServer } from '../../helpers/nats-server.js';

export const SIGIL_PROGRAMS: ProgramInfo[] = [
  { attachType: 'cgroup_inet4_connect', id: 11, name: 'sigil_connect4', tag: 'aaaaaaaaaaaaaaaa' },
  { attachType: 'cgroup_inet6_connect', id: 12, name: 'sigil_connect6', tag: 'bbbbbbbbbbbbbbbb' },
  { attachType: 'cgroup_sock_ops', id: 13, name: 'sigil_sockops', tag: 'cccccccccccccccc' },
];

/** The shipped set matching a kernel view (ids dropped). */
export function shippedOf(programs: ProgramInfo[]): ShippedProgram[] {
  return programs.map(({ attachType, name, tag }) => ({ attachType, name, tag }));
}

export interface TestAgent {
  client: FleetClient;
  stateDir: string;
  applied: AgentBundle[];
  /** What the fake kernel reports; tests edit it to simulate a detached program. */
  programs: ProgramInfo[];
  /** What the agent says its build ships (default: SIGIL_PROGRAMS); undefined = an agent that predates the field. */
  shipped?: ShippedProgram[] | undefined;
  workloads: WorkloadUsage[];
  /** Heartbeats built so far (each asks the fake kernel once). */
  heartbeats: number;
}

export interface FleetWorld {
  nats: NatsServer;
  auth: NatsAuthSetup;
  cp: RunningControlPlane;
  adminToken: string;
  adminTokenFile: string;
  root: string;
  api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  createToken(options?: { ttl?: string; labels?: Record<string, string> }): Promise<string>;
  /** Enrols a new agent (fresh state dir) and starts its fleet client. */
  addAgent(labels?: Record<string, string>, options?: { start?: boolean }): Promise<TestAgent>;
  /** (Re)starts an agent's fleet client; the same object is returned with its new client. */
  startAgent(agent: Pick<TestAgent, 'stateDir' | 'applied' | 'programs' | 'workloads' | 'heartbeats'> & { shipped?: ShippedProgram[] | undefined; client?: FleetClient }): Promise<TestAgent>;
  applyPolicy(...docs: unknown[]): Promise<number>;
}

export const HEARTBEAT_MS = 150;

export async function startFleetWorld(t: ExecutionContext, options: { expectedPrograms?: ExpectedProgram[] } = {}): Promise<FleetWorld> {
  const root = await mkdtemp(join(tmpdir(), 'sigil-test-fleet-'));
  const agents: FleetClient[] = [];
  const stop = new AbortController();
  let nats: NatsServer | undefined;
  let cp: RunningControlPlane | undefined;
  t.teardown(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    stop.abort();
    await cp?.done.catch(() => undefined);
    await nats?.cleanup();
    await rm(root, { recursive: true, force: true });
  });
  const auth = await createNatsAuth();
  nats = await startNatsServer({ config: natsServerConfig(auth, join(root, 'resolver')) });
  const credsFile = join(root, 'cp.creds');
  await writeFile(credsFile, auth.controlPlaneCreds, { mode: 0o600 });
  const stateDir = join(root, 'cp');
  await mkdir(stateDir, { recursive: true });
  const config = await loadConfig(undefined, { natsUrl: nats.url, listen: '127.0.0.1:0', stateDir, logLevel: 'error' });
  config.nats.credsFile = credsFile;
  cp = await startControlPlane(config, createLogger({ level: 'error' }), stop.signal, {
    fleet: { auth: auth.fleet, heartbeatIntervalMs: HEARTBEAT_MS, silentAfterIntervals: 4, ...(options.expectedPrograms ? { expectedPrograms: options.expectedPrograms } : {}) },
  });
  const adminToken = (await readFile(config.adminTokenFile, 'utf8')).trim();
  const running = cp;
  const agentLog = createLogger({ level: 'silent' });

  const api = async <T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${running.url}${path}`, {
      method, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as T };
  };

  const world: FleetWorld = {
    nats, auth, cp, adminToken, adminTokenFile: config.adminTokenFile, root, api,
    async createToken(opts = {}) {
      const { status, body } = await api<{ token: string }>('POST', '/v1/tokens', { ...(opts.ttl ? { ttl: opts.ttl } : {}), labels: opts.labels ?? {} });
      if (status !== 201) throw new Error(`token create failed: ${status} ${JSON.stringify(body)}`);
      return body.token;
    },
    async startAgent(agent) {
      const client = await FleetClient.start({
        stateDir: agent.stateDir, version: '0.1.0-test', log: agentLog, heartbeatIntervalMs: HEARTBEAT_MS,
        apply: async (bundle) => { agent.applied.push(bundle); },
        programs: () => {
          agent.heartbeats++;
          return agent.programs;
        },
        ...('shipped' in agent && agent.shipped === undefined ? {} : { shippedPrograms: () => agent.shipped ?? shippedOf(SIGIL_PROGRAMS) }),
        workloads: () => agent.workloads,
        counters: () => ({ signedRequests: agent.workloads.reduce((n, w) => n + w.requestsSigned, 0) }),
      });
      agents.push(client);
      agent.client = client;
      return agent as TestAgent;
    },
    async addAgent(labels = { role: 'billing' }, opts = {}) {
      const agentState = await mkdtemp(join(root, 'agent-'));
      await enroll({ token: await world.createToken({ labels }), controlPlaneUrl: running.url, stateDir: agentState, hostname: `host-${agents.length}` });
      const agent: TestAgent = { stateDir: agentState, applied: [], programs: [...SIGIL_PROGRAMS], workloads: [], heartbeats: 0, client: undefined as unknown as FleetClient };
      if (opts.start === false) return agent;
      return world.startAgent(agent);
    },
    async applyPolicy(...docs) {
      return (await running.store.apply(parseResources(docs.map((d) => JSON.stringify(d)).join('\n---\n')))).revision;
    },
  };
  return world;
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5_000, what = 'condition', pollMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
