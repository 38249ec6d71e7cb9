/**
 * Fleet benchmark: apply → ack from every agent, with N simulated agents on this machine. Each agent
 * is the real FleetClient (own NATS user JWT and connection under JWT auth, JWS verification with the
 * pinned key, atomic 0600 persistence, ack); no BPF. The control plane runs in-process against a real
 * nats-server. One policy change alters every agent's bindings; the figure is the p99 of
 * (ack seen by an observer − start of the apply). Goal (issue 7): p99 ≤ 500 ms at 1,000 agents.
 * Run: UV_THREADPOOL_SIZE=64 node dist/bench/fleet.js [n] [processes] → {"fleet":{"agents":1000,"applyToAckP99Ms":…,…}}
 * (the bigger thread pool stands in for 1,000 hosts' own disks: each agent fsyncs its bundle).
 * With `processes` > 0 the agents run in that many child processes (bench/fleet-agents.ts) instead of
 * this one, so the control plane's figure is not bounded by one event loop running every agent too.
 * With `--nats` it runs against a given NATS (cluster) instead of a server of its own (ExternalNats);
 * bench/fleet-ha.ts uses that for the figures on a 3-node cluster.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { fmtCreds } from '@nats-io/jwt';
import { createUser } from '@nats-io/nkeys';
import { loadConfig } from '../controlplane/config/config.js';
import { createLogger } from '../controlplane/log.js';
import { startControlPlane } from '../controlplane/server.js';
import { createNatsAuth, mintAgentUserJwt, natsServerConfig, type FleetNatsAuth } from '../controlplane/fleet/nats-auth.js';
import { loadFleetAuth } from '../controlplane/fleet/fleet-service.js';
import { parseResources } from '../controlplane/resources/parse.js';
import { decodeBundleAck } from '../protocol/fleet.js';
import { subjects } from '../protocol/subjects.js';
import { FleetClient } from '../agent/fleet/index.js';
import { writeFileAtomic } from '../agent/fleet/state-files.js';
import { BundleSigningKey } from '../controlplane/fleet/bundle-signing-key.js';
import { startNatsServer } from '../test/helpers/nats-server.js';
import { spread, type Spread } from './median-spread.js';

export interface FleetRound {
  applyToAckP99Ms: number;
  applyToAckP50Ms: number;
  applyToAckMaxMs: number;
  /** Apply start → the control plane had signed and published every agent's bundle. */
  pushAllMs: number;
  /** p99 over the real FleetClients only (lite runs; they verify, fsync and ack like a host). */
  realApplyToAckP99Ms: number | null;
}

export interface FleetBenchResult {
  agents: number;
  /** Medians over `rounds` applies (each round alternates the policy, so every agent gets a new bundle). */
  applyToAckP99Ms: number;
  applyToAckP50Ms: number;
  applyToAckMaxMs: number;
  pushAllMs: number;
  realApplyToAckP99Ms: number | null;
  /** Processes the simulated agents ran in (0: in this one). */
  agentProcesses: number;
  /** Lite agents (bench/fleet-agents.ts --lite) beside `realAgents` real FleetClients; false: all real. */
  lite: boolean;
  realAgents: number;
  rounds: number;
  spread: { applyToAckP99Ms: Spread; pushAllMs: Spread; realApplyToAckP99Ms: Spread | null };
}

export interface FleetPushResult {
  agents: number;
  /** Median apply start → every agent's bundle signed and published by the control plane. */
  pushAllMs: number;
  /** Median apply start → an observer subscribed to every agent's push subject got all of them. */
  deliveredAllMs: number;
  rounds: number;
  spread: { pushAllMs: Spread; deliveredAllMs: Spread };
}

const AGENTS_CHILD = fileURLToPath(new URL('./fleet-agents.js', import.meta.url));

/** Starts the agents in `processes` children (pushed to `children` at once, for cleanup); resolves once every child says its agents run `revision`. */
async function startAgentProcesses(children: ChildProcess[], dirs: string[], processes: number, revision: number, lite = false): Promise<void> {
  const per = Math.ceil(dirs.length / processes);
  const first = children.length;
  for (let i = 0; i < dirs.length; i += per) {
    children.push(spawn(process.execPath, [AGENTS_CHILD, String(revision), ...(lite ? ['--lite'] : []), ...dirs.slice(i, i + per)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, UV_THREADPOOL_SIZE: process.env['UV_THREADPOOL_SIZE'] ?? '64' },
    }));
  }
  await Promise.all(children.slice(first).map((child) => new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"ready"')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`fleet-agents exited ${code} before its agents were ready`)));
  })));
}

async function stopAgentProcesses(children: ChildProcess[]): Promise<void> {
  await Promise.all(children.map((child) => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  })));
}

const policy = (destination: string): string => [
  { apiVersion: 'sigil.dev/v1', kind: 'CredentialSource', metadata: { name: 'oci' }, spec: { kind: 'oci', domainUrl: 'https://idcs-x.identity.oraclecloud.com', clientId: 'c', clientSecretFile: '/etc/sigil/secret', region: 'us-ashburn-1' } },
  { apiVersion: 'sigil.dev/v1', kind: 'WorkloadIdentity', metadata: { name: 'job' }, spec: { spiffeId: 'spiffe://example.org/job', selectors: ['unix:uid:1001'], agents: { labels: { fleet: 'bench' } }, owner: 'bench' } },
  { apiVersion: 'sigil.dev/v1', kind: 'WorkloadCredential', metadata: { name: 'job-os' }, spec: { workload: 'job', source: 'oci', destinations: [destination], ttl: '15m' } },
].map((d) => JSON.stringify(d)).join('\n---\n');

const phase = (name: string): void => {
  if (process.env['SIGIL_BENCH_DEBUG']) process.stderr.write(`${new Date().toISOString()} ${name}\n`);
};

/**
 * A NATS (cluster) the benchmark uses instead of starting its own server: its servers and the state dir
 * `sigil-controlplane init-nats` wrote for it (fleet/nats-auth.json, controlplane.creds, admin.creds,
 * nats-ca.pem for tls:// servers). The benchmark writes the usual buckets (sigil-resources,
 * sigil-fleet, ...): give it a cluster of its own, not a production one.
 */
export interface ExternalNats {
  servers: string[];
  stateDir: string;
  /** CA of the servers' certificates; default `<stateDir>/nats-ca.pem` when it exists. */
  caFile?: string;
}

export interface FleetOptions {
  /** Agents in the child processes (0: all in this process, real only). */
  processes?: number;
  /** Lite stand-ins (bench/fleet-agents.ts --lite) for all but `realAgents` agents. */
  lite?: boolean;
  realAgents?: number;
  rounds?: number;
  /** Run against this NATS (cluster) instead of a server of its own. */
  nats?: ExternalNats;
  /** After the rounds, in the same world: more applies, timed to the real agents running them (bench/fleet-ha.ts). */
  afterRounds?: (world: RoundsWorld) => Promise<void>;
}

/** What afterRounds gets: the admin user's creds, and a way to time one apply to every real agent running it. */
export interface RoundsWorld {
  adminCreds: string;
  /** Also watch acks on this connection (duplicates are ignored). */
  watchAcksOn(nc: NatsConnection): Promise<void>;
  /**
   * Applies round `round`'s policy; resolves once every real agent acked it (a FleetClient acks only
   * after applying: it runs it), with the apply's duration and each real agent's time, both from `t0`.
   */
  timedApply(round: number, t0: number): Promise<{ revision: number; applyMs: number; realRunningMs: number[] }>;
}

const REGIONS = ['us-phoenix-1', 'us-ashburn-1'];
const destination = (round: number): string => `objectstorage.${REGIONS[round % 2]}.oraclecloud.com`;

interface FleetNats {
  servers: string[];
  caFile: string | undefined;
  fleetAuth: FleetNatsAuth;
  controlPlaneCredsFile: string;
  adminCreds: string;
  cleanup(): Promise<void>;
}

/** A nats-server of its own (JWT auth as init-nats sets it up, no TLS), sized for `n` agents. */
async function ownNats(root: string, n: number): Promise<FleetNats> {
  const auth = await createNatsAuth();
  const nats = await startNatsServer({ config: `${natsServerConfig(auth, join(root, 'resolver'))}\nmax_connections: ${n + 100}\n` });
  await writeFile(join(root, 'cp.creds'), auth.controlPlaneCreds, { mode: 0o600 });
  return { servers: [nats.url], caFile: undefined, fleetAuth: auth.fleet, controlPlaneCredsFile: join(root, 'cp.creds'), adminCreds: auth.adminCreds, cleanup: () => nats.cleanup() };
}

async function externalNats(given: ExternalNats): Promise<FleetNats> {
  const fleetAuth = await loadFleetAuth(given.stateDir);
  if (!fleetAuth) throw new Error(`${given.stateDir}/fleet/nats-auth.json is missing: give the state dir sigil-controlplane init-nats wrote`);
  const defaultCa = join(given.stateDir, 'nats-ca.pem');
  const caFile = given.caFile ?? (await access(defaultCa).then(() => defaultCa, () => undefined));
  return {
    servers: given.servers, caFile, fleetAuth, controlPlaneCredsFile: join(given.stateDir, 'controlplane.creds'),
    adminCreds: await readFile(join(given.stateDir, 'admin.creds'), 'utf8'), cleanup: async () => undefined,
  };
}

/** nats-server (own or given), control plane (in this process) and `n` agents enrolled straight into its registry. */
async function fleetWorld(root: string, n: number, stop: AbortSignal, log: ReturnType<typeof createLogger>, stateDirs = true, given?: ExternalNats) {
  const nats = given ? await externalNats(given) : await ownNats(root, n);
  try {
    const config = await loadConfig(undefined, {
      natsUrl: nats.servers.join(','), listen: '127.0.0.1:0', stateDir: join(root, 'cp'), logLevel: 'error',
      // Required with several servers (replicas must agree); nothing here fetches it.
      ...(nats.servers.length > 1 ? { issuerUrl: 'http://127.0.0.1:1' } : {}),
    });
    config.nats.credsFile = nats.controlPlaneCredsFile;
    if (nats.caFile) config.nats.caFile = nats.caFile;
    const cp = await startControlPlane(config, log, stop, { fleet: { auth: nats.fleetAuth, heartbeatIntervalMs: 60_000 } });
    const fleet = cp.fleet!;
    const revision = (await cp.store.apply(parseResources(policy(destination(1))))).revision;
    phase('control plane up');
    // Enrol N agents straight into the registry (the HTTP enrolment path is measured by the tests, not here).
    const publicJwk = (await BundleSigningKey.loadOrCreate(fleet.settings.bundleKeyFile)).publicJwk;
    const ids = Array.from({ length: n }, (_, i) => `agent-bench-${String(i).padStart(5, '0')}`);
    const shared = createUser();
    const sharedPublic = shared.getPublicKey();
    for (let i = 0; i < n; i += 100) {
      await Promise.all(ids.slice(i, i + 100).map(async (id) => {
        // Without state dirs no agent ever connects, so one nkey stands for all (tweetnacl's key generation is ~10 ms each).
        const user = stateDirs ? createUser() : shared;
        const publicNkey = stateDirs ? user.getPublicKey() : sharedPublic;
        if (stateDirs) {
          const dir = join(root, id);
          await mkdir(dir, { mode: 0o700 });
          await writeFileAtomic(join(dir, 'nats.creds'), new TextDecoder().decode(fmtCreds(await mintAgentUserJwt(nats.fleetAuth, id, publicNkey), user)));
          await writeFileAtomic(join(dir, 'enrollment.json'), JSON.stringify({
            agentId: id, natsUrl: nats.servers[0], natsServers: nats.servers, ...(nats.caFile ? { natsCaFile: nats.caFile } : {}),
            bundleSigningJwk: publicJwk, controlPlane: cp.url, enrolledAt: new Date().toISOString(),
          }));
        }
        await fleet.registry.add({ id, hostname: id, labels: { fleet: 'bench' }, publicNkey, enrolledAt: new Date().toISOString() });
      }));
    }
    phase(`enrolled ${n}`);
    const observer = await connect({
      servers: nats.servers, authenticator: credsAuthenticator(new TextEncoder().encode(nats.adminCreds)), maxReconnectAttempts: -1,
      ...(nats.caFile ? { tls: { caFile: nats.caFile } } : {}),
    });
    return { nats, cp, fleet, revision, ids, dirs: ids.map((id) => join(root, id)), observer };
  } catch (err) {
    await nats.cleanup();
    throw err;
  }
}

/** Waits until the distributor has issued every agent a bundle of at least `revision`. */
async function allIssued(fleet: { distributor: { issuedTo(id: string): { revision: number } | undefined } }, ids: string[], revision: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (ids.some((id) => (fleet.distributor.issuedTo(id)?.revision ?? 0) < revision)) {
    if (Date.now() > deadline) throw new Error('the distributor did not issue every agent its bundle');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits (with a deadline) for the distributor's end-of-refresh callback: acks can arrive before it fires. */
async function refreshedAt(read: () => number): Promise<number> {
  const deadline = Date.now() + 60_000;
  while (Number.isNaN(read())) {
    if (Date.now() > deadline) throw new Error('the distributor did not finish its refresh');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return read();
}

export async function benchFleet(n = 1000, options: FleetOptions = {}): Promise<FleetBenchResult> {
  const processes = options.processes ?? 0;
  const lite = options.lite ?? false;
  const realAgents = lite ? Math.min(n, options.realAgents ?? 20) : n;
  const rounds = options.rounds ?? 3;
  const root = await mkdtemp(join(tmpdir(), 'sigil-bench-fleet-'));
  const stop = new AbortController();
  const clients: FleetClient[] = [];
  const children: ChildProcess[] = [];
  const log = createLogger({ level: 'error' });
  let world: Awaited<ReturnType<typeof fleetWorld>> | undefined;
  try {
    world = await fleetWorld(root, n, stop.signal, log, true, options.nats);
    const { cp, fleet, dirs, ids, observer } = world;
    let revision = world.revision;
    await allIssued(fleet, ids, revision);
    if (lite) {
      // The real clients first, in their own process; the lite ones spread over `processes` more.
      await startAgentProcesses(children, dirs.slice(0, realAgents), 1, revision);
      if (n > realAgents) await startAgentProcesses(children, dirs.slice(realAgents), Math.max(1, processes), revision, true);
    } else if (processes > 0) {
      await startAgentProcesses(children, dirs, processes, revision);
    } else {
      for (const dir of dirs) {
        clients.push(await FleetClient.start({ stateDir: dir, version: 'bench', log, heartbeatIntervalMs: 60_000, programs: () => [], apply: async () => undefined }));
      }
      await Promise.all(clients.map((c) => c.connected));
      phase('connected');
      const deadline = Date.now() + 60_000;
      while (clients.some((c) => c.revision < revision)) {
        if (Date.now() > deadline) throw new Error('agents did not get their first bundle');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    phase('first bundle everywhere');
    const real = new Set(ids.slice(0, realAgents));

    // The observer: a separate connection timing acks of the new revision.
    const ackAt = new Map<string, number>();
    let target = Number.POSITIVE_INFINITY;
    let allAcked: () => void = () => undefined;
    let realAcked = 0;
    let allRealAcked: () => void = () => undefined;
    // Acks are watched on every observer connection given (afterRounds may add one that avoids a node it kills).
    const watchAcksOn = async (nc: NatsConnection): Promise<void> => {
      nc.subscribe(subjects.bundleAck('*'), { callback: (_err, msg) => {
        const ack = decodeBundleAck(msg.data);
        if (!ack.ok || ack.value.revision < target || ackAt.has(ack.value.agentId)) return;
        ackAt.set(ack.value.agentId, performance.now());
        if (real.has(ack.value.agentId) && ++realAcked === real.size) allRealAcked();
        if (ackAt.size === n) allAcked();
      } });
      await nc.flush();
    };
    await watchAcksOn(observer);
    let pushedAt = Number.NaN;
    fleet.distributor.onRefreshed((r) => {
      if (r >= target && Number.isNaN(pushedAt)) pushedAt = performance.now();
    });

    const results: FleetRound[] = [];
    for (let round = 0; round < rounds; round++) {
      ackAt.clear();
      pushedAt = Number.NaN;
      const done = new Promise<void>((resolve) => (allAcked = resolve));
      const t0 = performance.now();
      target = revision + 1;
      revision = (await cp.store.apply(parseResources(policy(destination(round))))).revision;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([done, new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`only ${ackAt.size}/${n} acks in 30 s`)), 30_000); })]);
      clearTimeout(timer);
      const all = [...ackAt.values()].map((t) => t - t0);
      await refreshedAt(() => pushedAt);
      const realOnly = lite ? [...ackAt.entries()].filter(([id]) => real.has(id)).map(([, t]) => t - t0) : null;
      results.push({
        applyToAckP99Ms: quantile(all, 0.99), applyToAckP50Ms: quantile(all, 0.5), applyToAckMaxMs: quantile(all, 1),
        pushAllMs: Math.round(pushedAt - t0), realApplyToAckP99Ms: realOnly ? quantile(realOnly, 0.99) : null,
      });
      phase(`round ${round}: ${JSON.stringify(results.at(-1))}`);
    }
    if (options.afterRounds) {
      await options.afterRounds({
        adminCreds: world.nats.adminCreds, watchAcksOn,
        async timedApply(round, t0) {
          ackAt.clear();
          realAcked = 0;
          const done = new Promise<void>((resolve) => (allRealAcked = resolve));
          target = revision + 1;
          revision = (await cp.store.apply(parseResources(policy(destination(round))))).revision;
          const applyMs = performance.now() - t0;
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([done, new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`only ${realAcked}/${real.size} real agents ran revision ${revision} within 60 s`)), 60_000); })]);
          clearTimeout(timer);
          return { revision, applyMs, realRunningMs: [...ackAt.entries()].filter(([id]) => real.has(id)).map(([, t]) => t - t0) };
        },
      });
    }
    const p99 = spread(results.map((r) => r.applyToAckP99Ms), 1);
    const pushAll = spread(results.map((r) => r.pushAllMs), 0);
    const realP99 = lite ? spread(results.map((r) => r.realApplyToAckP99Ms!), 1) : null;
    return {
      agents: n, applyToAckP99Ms: p99.median, applyToAckP50Ms: spread(results.map((r) => r.applyToAckP50Ms), 1).median,
      applyToAckMaxMs: spread(results.map((r) => r.applyToAckMaxMs), 1).median, pushAllMs: pushAll.median, realApplyToAckP99Ms: realP99?.median ?? null,
      agentProcesses: lite ? Math.max(1, processes) + 1 : processes, lite, realAgents, rounds,
      spread: { applyToAckP99Ms: p99, pushAllMs: pushAll, realApplyToAckP99Ms: realP99 },
    };
  } finally {
    phase('measured');
    await world?.observer.close().catch(() => undefined);
    await Promise.all(clients.map((c) => c.stop()));
    await stopAgentProcesses(children);
    stop.abort();
    await world?.cp.done.catch(() => undefined);
    phase('stopped');
    await world?.nats.cleanup();
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * The control plane's own fan-out at fleet scale, without agents: `n` agents enrolled (no
 * connections: a push is a publish whoever listens), one policy change that alters every agent's
 * bindings, timed to the distributor's end of the refresh (every bundle computed, signed, published)
 * and to an observer subscribed to every push subject having received all `n`.
 */
export async function benchFleetPush(n = 10_000, rounds = 3, nats?: ExternalNats): Promise<FleetPushResult> {
  const root = await mkdtemp(join(tmpdir(), 'sigil-bench-fleet-push-'));
  const stop = new AbortController();
  const log = createLogger({ level: 'error' });
  let world: Awaited<ReturnType<typeof fleetWorld>> | undefined;
  try {
    world = await fleetWorld(root, n, stop.signal, log, false, nats);
    const { cp, fleet, ids, observer } = world;
    let revision = world.revision;
    await allIssued(fleet, ids, revision);
    phase('issued');
    let seen = 0;
    let allSeen: () => void = () => undefined;
    observer.subscribe(subjects.bundlePush('*'), { callback: () => {
      if (++seen === n) allSeen();
    } });
    await observer.flush();
    let pushedAt = Number.NaN;
    let target = Number.POSITIVE_INFINITY;
    fleet.distributor.onRefreshed((r) => {
      if (r >= target && Number.isNaN(pushedAt)) pushedAt = performance.now();
    });
    const pushed: number[] = [];
    const delivered: number[] = [];
    for (let round = 0; round < rounds; round++) {
      seen = 0;
      pushedAt = Number.NaN;
      const done = new Promise<void>((resolve) => (allSeen = resolve));
      const t0 = performance.now();
      target = revision + 1;
      revision = (await cp.store.apply(parseResources(policy(destination(round))))).revision;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([done, new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`only ${seen}/${n} pushes in 60 s`)), 60_000); })]);
      clearTimeout(timer);
      delivered.push(performance.now() - t0);
      pushed.push((await refreshedAt(() => pushedAt)) - t0);
      phase(`push round ${round}: ${Math.round(pushed.at(-1)!)} / ${Math.round(delivered.at(-1)!)} ms`);
    }
    const s = { pushAllMs: spread(pushed, 0), deliveredAllMs: spread(delivered, 0) };
    return { agents: n, pushAllMs: s.pushAllMs.median, deliveredAllMs: s.deliveredAllMs.median, rounds, spread: s };
  } finally {
    await world?.observer.close().catch(() => undefined);
    stop.abort();
    await world?.cp.done.catch(() => undefined);
    await world?.nats.cleanup();
    await rm(root, { recursive: true, force: true });
  }
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round((sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0) * 10) / 10;
}

/**
 *   node fleet.js [n] [processes]          all agents real (FleetClient), in this process or `processes` children
 *   node fleet.js [n] [processes] --lite   lite agents in `processes` children beside 20 real ones in another
 *   node fleet.js [n] --push               control-plane fan-out only (no agents connected)
 *   node fleet.js [n] [processes] --ha     the cluster figures (bench/fleet-ha.ts): its own 3-node cluster and one node
 *   ... --nats <url,url,...> --nats-state <dir> [--nats-ca <pem>]
 *                                          any of the first three against that NATS (cluster) instead of a server of
 *                                          its own: `dir` is the state dir init-nats wrote (creds, fleet/nats-auth.json)
 */
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { lite: { type: 'boolean' }, push: { type: 'boolean' }, ha: { type: 'boolean' }, nats: { type: 'string' }, 'nats-state': { type: 'string' }, 'nats-ca': { type: 'string' } },
  });
  const numbers = positionals.map(Number);
  if (values.nats !== undefined && values['nats-state'] === undefined) throw new Error('--nats needs --nats-state <dir> (the state dir init-nats wrote for that NATS)');
  const nats: ExternalNats | undefined = values.nats === undefined ? undefined : {
    servers: values.nats.split(',').map((u) => u.trim()).filter((u) => u !== ''), stateDir: values['nats-state'] as string,
    ...(values['nats-ca'] ? { caFile: values['nats-ca'] } : {}),
  };
  const run = values.ha
    ? import('./fleet-ha.js').then(({ benchFleetHa }) => benchFleetHa(numbers[0] ?? 1000, { processes: numbers[1] ?? 2 })).then((fleetHa) => ({ fleetHa }))
    : values.push
      ? benchFleetPush(numbers[0] ?? 10_000, 3, nats).then((fleetPush) => ({ fleetPush }))
      : benchFleet(numbers[0] ?? 1000, { processes: numbers[1] ?? 0, lite: values.lite === true, ...(nats ? { nats } : {}) }).then((fleet) => ({ fleet }));
  run.then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (err: unknown) => {
      process.stderr.write(`bench fleet: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
