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
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { fmtCreds } from '@nats-io/jwt';
import { createUser } from '@nats-io/nkeys';
import { loadConfig } from '../controlplane/config/config.js';
import { createLogger } from '../controlplane/log.js';
import { startControlPlane } from '../controlplane/server.js';
import { createNatsAuth, mintAgentUserJwt, natsServerConfig } from '../controlplane/fleet/nats-auth.js';
import { parseResources } from '../controlplane/resources/parse.js';
import { decodeBundleAck } from '../protocol/fleet.js';
import { subjects } from '../protocol/subjects.js';
import { FleetClient } from '../agent/fleet/index.js';
import { writeFileAtomic } from '../agent/fleet/state-files.js';
import { startNatsServer } from '../test/helpers/nats-server.js';

export interface FleetBenchResult {
  agents: number;
  applyToAckP99Ms: number;
  applyToAckP50Ms: number;
  applyToAckMaxMs: number;
  /** Apply start → the control plane had signed and published every agent's bundle. */
  pushAllMs: number;
  /** Processes the simulated agents ran in (0: in this one). */
  agentProcesses: number;
}

const AGENTS_CHILD = fileURLToPath(new URL('./fleet-agents.js', import.meta.url));

/** Starts the agents in `processes` children (pushed to `children` at once, for cleanup); resolves once every child says its agents run `revision`. */
async function startAgentProcesses(children: ChildProcess[], dirs: string[], processes: number, revision: number): Promise<void> {
  const per = Math.ceil(dirs.length / processes);
  for (let i = 0; i < dirs.length; i += per) {
    children.push(spawn(process.execPath, [AGENTS_CHILD, String(revision), ...dirs.slice(i, i + per)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, UV_THREADPOOL_SIZE: process.env['UV_THREADPOOL_SIZE'] ?? '64' },
    }));
  }
  await Promise.all(children.map((child) => new Promise<void>((resolve, reject) => {
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

export async function benchFleet(n = 1000, processes = 0): Promise<FleetBenchResult> {
  const root = await mkdtemp(join(tmpdir(), 'sigil-bench-fleet-'));
  const auth = await createNatsAuth();
  const nats = await startNatsServer({ config: `${natsServerConfig(auth, join(root, 'resolver'))}\nmax_connections: ${n + 100}\n` });
  const stop = new AbortController();
  const clients: FleetClient[] = [];
  const children: ChildProcess[] = [];
  const log = createLogger({ level: 'error' });
  let cpDone: Promise<void> | undefined;
  try {
    await writeFile(join(root, 'cp.creds'), auth.controlPlaneCreds, { mode: 0o600 });
    const config = await loadConfig(undefined, { natsUrl: nats.url, listen: '127.0.0.1:0', stateDir: join(root, 'cp'), logLevel: 'error' });
    config.nats.credsFile = join(root, 'cp.creds');
    const cp = await startControlPlane(config, log, stop.signal, { fleet: { auth: auth.fleet, heartbeatIntervalMs: 60_000 } });
    cpDone = cp.done;
    const fleet = cp.fleet!;
    let revision = (await cp.store.apply(parseResources(policy('objectstorage.us-ashburn-1.oraclecloud.com')))).revision;

    phase('control plane up');
    // Enrol N agents straight into the registry (the HTTP enrolment path is measured by the tests, not here).
    const jwk = (await import('../controlplane/fleet/bundle-signing-key.js')).BundleSigningKey;
    const publicJwk = (await jwk.loadOrCreate(fleet.settings.bundleKeyFile)).publicJwk;
    for (let i = 0; i < n; i++) {
      const id = `agent-bench-${String(i).padStart(5, '0')}`;
      const user = createUser();
      const dir = join(root, id);
      await mkdir(dir, { mode: 0o700 });
      await writeFileAtomic(join(dir, 'nats.creds'), new TextDecoder().decode(fmtCreds(await mintAgentUserJwt(auth.fleet, id, user.getPublicKey()), user)));
      await writeFileAtomic(join(dir, 'enrollment.json'), JSON.stringify({ agentId: id, natsUrl: nats.url, bundleSigningJwk: publicJwk, controlPlane: cp.url, enrolledAt: new Date().toISOString() }));
      await fleet.registry.add({ id, hostname: id, labels: { fleet: 'bench' }, publicNkey: user.getPublicKey(), enrolledAt: new Date().toISOString() });
    }
    phase('enrolled');
    const dirs = Array.from({ length: n }, (_, i) => join(root, `agent-bench-${String(i).padStart(5, '0')}`));
    if (processes > 0) {
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
    // The observer: a separate connection timing acks of the new revision.
    const observer = await connect({ servers: nats.url, authenticator: credsAuthenticator(new TextEncoder().encode(auth.adminCreds)) });
    const ackAt = new Map<string, number>();
    let target = Number.POSITIVE_INFINITY;
    let allAcked!: () => void;
    const done = new Promise<void>((resolve) => (allAcked = resolve));
    observer.subscribe(subjects.bundleAck('*'), { callback: (_err, msg) => {
      const ack = decodeBundleAck(msg.data);
      if (!ack.ok || ack.value.revision < target || ackAt.has(ack.value.agentId)) return;
      ackAt.set(ack.value.agentId, performance.now());
      if (ackAt.size === n) allAcked();
    } });
    await observer.flush();

    let pushAllMs = Number.NaN;
    fleet.distributor.onRefreshed((r) => {
      if (r >= target && Number.isNaN(pushAllMs)) pushAllMs = Math.round(performance.now() - t0);
    });
    const t0 = performance.now();
    target = revision + 1;
    revision = (await cp.store.apply(parseResources(policy('objectstorage.us-phoenix-1.oraclecloud.com')))).revision;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`only ${ackAt.size}/${n} acks in 30 s`)), 30_000); })]);
    clearTimeout(timer);
    const latencies = [...ackAt.values()].map((t) => t - t0).sort((a, b) => a - b);
    await observer.close();
    const pick = (q: number): number => Math.round((latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)] ?? 0) * 10) / 10;
    return { agents: n, applyToAckP99Ms: pick(0.99), applyToAckP50Ms: pick(0.5), applyToAckMaxMs: pick(1), pushAllMs, agentProcesses: processes };
  } finally {
    phase('measured');
    await Promise.all(clients.map((c) => c.stop()));
    await stopAgentProcesses(children);
    stop.abort();
    await cpDone?.catch(() => undefined);
    phase('stopped');
    await nats.cleanup();
    await rm(root, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  benchFleet(process.argv[2] ? Number(process.argv[2]) : undefined, Number(process.argv[3] ?? 0)).then(
    (fleet) => process.stdout.write(`${JSON.stringify({ fleet })}\n`),
    (err: unknown) => {
      process.stderr.write(`bench fleet: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
