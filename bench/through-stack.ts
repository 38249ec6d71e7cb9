/**
 * The signer under load, on the whole system (test/e2e/stack.ts: real kernel steering, agent child
 * process, control plane, NATS, the strictly verifying OCI stand-ins), side by side with in-app
 * signing by oci-common going straight to the same stand-in.
 *
 * One stack serves every phase, and its UPSTs live only `tokenLifetimeSeconds` (the IAM stand-in's
 * lifetime; the control plane's CredentialSource keeps its 300 s minimum, but the agent refreshes from
 * the token's own `exp`), so the whole run is also the short-lived-token run for blockedOnRefresh.
 *
 * Phases: warm-up → latency at concurrency 1 (in-app, then Sigil) → throughput at concurrency C
 * (in-app, then Sigil, the agent's /proc CPU sampled around it) → native clients: wrk and curl, direct /
 * through the nginx anchor / through Sigil, in rounds (bench/native-clients.ts) → 1,000 held
 * connections (agent RSS).
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, rmdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { findCgroup2Mount } from '../agent/steering/index.js';
import { OS_HOST, REGION, startStack, type Stack } from '../test/e2e/stack.js';
import { runWorkload } from '../test/e2e/workload-runner.js';
import { deployTestApp } from '../test/helpers/test-app.js';
import { mintUpst } from '../test/standins/upst.js';
import { benchNativeClients, type NativeResult } from './native-clients.js';
import { requireTool } from './native-tools.js';
import { unitNodeFlags } from '../test/helpers/agent-unit.js';

const LOAD_CLIENT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'load-client.js');
const LOAD_SPIFFE_ID = 'spiffe://demo.sigil.dev/bench/load';
const IN_APP_PRINCIPAL = 'ocid1.user.oc1..sigilbenchinapp';

export interface StackBenchOptions {
  /** Seconds each throughput run lasts. */
  throughputSeconds: number;
  /** Concurrent requests of the throughput runs. */
  concurrency: number;
  /** Sequential requests of each latency run. */
  latencyRequests: number;
  /** Connections held open for the RSS figure. */
  heldConnections: number;
  tokenLifetimeSeconds: number;
  /** CPU of one RSA-2048 signature (bench/sign.ts), the unit of the native figures. */
  signCostUs: number;
  /** Rounds of the native-client measurements (each figure is their median). */
  rounds: number;
  /** Seconds of each wrk run (latency at concurrency 1, and at saturation). */
  wrkSeconds: number;
  /** Rounds of the 1 GiB transfers (0: none). */
  bulkRounds: number;
  /** Writes a V8 CPU profile of the agent (node --cpu-prof) into this directory when it stops. */
  profileAgentDir?: string;
  log?: (line: string) => void;
}

export interface LoadResult {
  requests: number;
  errors: number;
  statuses: Record<string, number>;
  elapsedMs: number;
  rps: number;
  cpuUsPerRequest: number | null;
  latencyUs: { p50: number; p99: number; max: number };
}

export interface StackBenchResult {
  signer: {
    agentCpuPerRequestUs: number;
    viaSigilRps: number;
    inAppSdkRps: number;
    ratioToInApp: number;
    clientCpuPerRequestUsViaSigil: number | null;
    clientCpuPerRequestUsInApp: number | null;
    addedLatencyP50Us: number;
    addedLatencyP99Us: number;
    concurrency: number;
    latency: { viaSigil: LoadResult['latencyUs']; inApp: LoadResult['latencyUs'] };
    signedRequestsMeasured: number;
  };
  agent: { rssMB1000Conns: number; rssIdleMB: number; rssMBAfterLoad: number; heldConnections: number; agentFdsWhileHeld: number; perConnectionKB: number };
  native: NativeResult;
  credentials: { blockedOnRefresh: number; tokenLifetimeSeconds: number; refreshesDuringRun: number; requestsDuringRun: number; runSeconds: number };
}

async function sha256File(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}

/** The load client's identity: the real node running bench/load-client.js. */
async function loadClientPolicy(): Promise<object[]> {
  // wrk and curl bound by the sha256 of their binaries: the signer signs their plain requests.
  const native = await Promise.all((['wrk', 'curl'] as const).map(async (tool) => [
    {
      apiVersion: 'sigil.dev/v1', kind: 'WorkloadIdentity', metadata: { name: `bench-${tool}` },
      spec: { spiffeId: `spiffe://demo.sigil.dev/bench/${tool}`, owner: 'bench', agents: { labels: { role: 'demo' } }, selectors: [`unix:sha256:${await sha256File(requireTool(tool))}`] },
    },
    {
      apiVersion: 'sigil.dev/v1', kind: 'WorkloadCredential', metadata: { name: `bench-${tool}-objectstorage` },
      spec: { workload: `bench-${tool}`, source: 'oci-demo', destinations: [OS_HOST], ttl: '15m' },
    },
  ]));
  return [
    ...native.flat(),
    {
      apiVersion: 'sigil.dev/v1', kind: 'WorkloadIdentity', metadata: { name: 'bench-load' },
      spec: {
        spiffeId: LOAD_SPIFFE_ID, owner: 'bench', agents: { labels: { role: 'demo' } },
        selectors: [`unix:sha256:${await sha256File(process.execPath)}`, `script:sha256:${await sha256File(LOAD_CLIENT)}`],
      },
    },
    {
      apiVersion: 'sigil.dev/v1', kind: 'WorkloadCredential', metadata: { name: 'bench-load-objectstorage' },
      spec: { workload: 'bench-load', source: 'oci-demo', destinations: [OS_HOST], ttl: '15m' },
    },
  ];
}

/**
 * An in-app session profile (what `oci session authenticate` leaves behind): a real session key and a
 * UPST for it, minted by an issuer key the Object Storage stand-in is told to trust. It lives an hour,
 * so the in-app side never refreshes during the run.
 */
async function inAppProfile(stack: Stack, dir: string): Promise<{ config: string; session: { keyId: string; privateKey: KeyObject } }> {
  const issuer = generateKeyPairSync('rsa', { modulusLength: 2048 });
  stack.objectStorage.trustIssuer(issuer.publicKey);
  const session = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const { token } = await mintUpst({
    signingKey: issuer.privateKey, kid: 'bench-in-app', principal: IN_APP_PRINCIPAL, tenant: 'ocid1.tenancy.oc1..sigilbench',
    sourceSubject: 'bench-in-app', sessionPublicKey: session.publicKey, lifetimeSeconds: 3600,
  });
  const keyFile = path.join(dir, 'session-key.pem');
  const tokenFile = path.join(dir, 'token');
  await writeFile(keyFile, session.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o644 });
  await writeFile(tokenFile, token, { mode: 0o644 });
  const fingerprint = createHash('md5').update(session.publicKey.export({ format: 'der', type: 'spki' })).digest('hex').match(/../g)!.join(':');
  const config = path.join(dir, 'config');
  await writeFile(config, ['[DEFAULT]', 'tenancy=ocid1.tenancy.oc1..sigilbench', `region=${REGION}`, `fingerprint=${fingerprint}`, `key_file=${keyFile}`, `security_token_file=${tokenFile}`, ''].join('\n'), { mode: 0o644 });
  return { config, session: { keyId: `ST$${token}`, privateKey: session.privateKey } };
}

/** user+sys CPU of a process in µs, from /proc/<pid>/stat (fields 14 and 15, in clock ticks). */
async function processCpuUs(pid: number, ticksPerSecond: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / ticksPerSecond) * 1e6;
}

async function rssMB(pid: number): Promise<number> {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return Math.round((kb / 1024) * 10) / 10;
}

/** Sums every sample of one metric family on the agent's /metrics; a family with no sample is an error. */
async function agentMetric(stack: Stack, name: string): Promise<number> {
  const text = await (await fetch(`${stack.agent.adminUrl}/metrics`)).text();
  const samples = text.split('\n').filter((l) => l.startsWith(name) && (l[name.length] === ' ' || l[name.length] === '{'));
  if (samples.length === 0) throw new Error(`the agent's /metrics has no sample of ${name}`);
  return samples.reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

const round1 = (n: number): number => Math.round(n * 10) / 10;
const round2 = (n: number): number => Math.round(n * 100) / 100;

export async function benchThroughStack(options: StackBenchOptions): Promise<StackBenchResult> {
  const log = options.log ?? (() => undefined);
  const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sigil-bench-'));
  const inAppCgroup = path.join(await findCgroup2Mount(), `sigil-bench-${randomBytes(4).toString('hex')}`);
  await mkdir(inAppCgroup);
  let stack: Stack | undefined;
  try {
    log('starting the stack');
    // The stack spawns the agent with this process's environment; nothing else started here inherits it.
    const nodeOptions = process.env['NODE_OPTIONS'];
    // The agent runs with the V8 flags of the shipped systemd unit, so its memory is the deployed one's.
    process.env['NODE_OPTIONS'] = `${nodeOptions ?? ''} ${(await unitNodeFlags()).join(' ')}`.trim();
    if (options.profileAgentDir) {
      process.env['SIGIL_BENCH_PROFILE_DIR'] = options.profileAgentDir;
      process.env['NODE_OPTIONS'] = `${process.env['NODE_OPTIONS']} --import ${new URL('./cpu-profile-hook.js', import.meta.url).href}`.trim();
    }
    stack = await startStack({ tokenLifetimeSeconds: options.tokenLifetimeSeconds, extraPolicy: await loadClientPolicy() });
    if (nodeOptions === undefined) delete process.env['NODE_OPTIONS'];
    else process.env['NODE_OPTIONS'] = nodeOptions;
    const s = stack;
    if (options.profileAgentDir) process.kill(s.agent.pid, 'SIGUSR2');
    const runStart = performance.now();
    const issuedAtStart = s.iam.issued;
    const osRequestsAtStart = s.objectStorage.requests.length;
    const { config: inAppConfig, session } = await inAppProfile(s, dir);
    // The clients run as the stack's unprivileged workload user: the in-app profile is that user's own,
    // and the client program is deployed where that user can read it (same bytes, same sha256).
    await promisify(execFile)('chown', ['-R', `${s.workloadUid}:${s.workloadUid}`, dir]);
    const loadClient = (await deployTestApp(path.join(s.host, 'opt/bench'), ['bench/load-client.js'], ['oci-common'])).path('bench/load-client.js');
    const hosts = { [OS_HOST]: s.objectStorage.address };

    const client = async (mode: 'sigil' | 'inapp', args: string[]): Promise<Record<string, unknown>> => {
      const run = await runWorkload({
        cgroup: mode === 'sigil' ? s.workloadCgroup : inAppCgroup,
        hosts,
        command: process.execPath,
        args: [loadClient, '--config', mode === 'sigil' ? s.ociConfig : inAppConfig, '--host', OS_HOST, '--namespace', s.objectStorage.namespace, '--tag', mode, ...args],
        env: { NODE_EXTRA_CA_CERTS: s.caBundle },
        timeoutMs: 600_000,
      });
      const result = run.lines[0];
      if (run.code !== 0 || !result) {
        const rejected = s.objectStorage.requests.filter((r) => r.rejection).slice(-1)[0];
        throw new Error(`load client (${mode}) exited ${run.code}: ${run.stderr}${rejected ? `(last rejection by the stand-in: ${rejected.rejection})` : ''}`);
      }
      return result;
    };
    const load = async (mode: 'sigil' | 'inapp', args: string[]): Promise<LoadResult> => {
      const result = (await client(mode, args)) as unknown as LoadResult;
      log(`  ${mode}: ${JSON.stringify(result)}`);
      if (result.requests === 0 || result.errors > result.requests / 100) throw new Error(`load client (${mode}) failed too often: ${JSON.stringify(result)}`);
      return result;
    };

    log('warm-up');
    await load('sigil', ['--concurrency', '4', '--duration-ms', '1500']);
    await load('inapp', ['--concurrency', '4', '--duration-ms', '1500']);

    // Idle: up, attested, a leaf minted and a few requests served; no load since.
    const rssIdle = await rssMB(s.agent.pid);

    log('latency at concurrency 1');
    const latency = ['--concurrency', '1', '--requests', String(options.latencyRequests), '--op', 'get'];
    const inAppLatency = await load('inapp', latency);
    const sigilLatency = await load('sigil', latency);

    log(`throughput at concurrency ${options.concurrency}`);
    const throughput = ['--concurrency', String(options.concurrency), '--duration-ms', String(options.throughputSeconds * 1000)];
    const inApp = await load('inapp', throughput);
    const signedBefore = await agentMetric(s, 'sigil_agent_signed_requests_total');
    const cpuBefore = await processCpuUs(s.agent.pid, ticks);
    const viaSigil = await load('sigil', throughput);
    const cpuAfter = await processCpuUs(s.agent.pid, ticks);
    const signed = (await agentMetric(s, 'sigil_agent_signed_requests_total')) - signedBefore;

    log('native clients (wrk, curl) direct / through nginx / through Sigil');
    const native = await benchNativeClients({
      stack: s, dir, inAppCgroup, session, signCostUs: options.signCostUs, rounds: options.rounds,
      latencySeconds: options.wrkSeconds, saturationSeconds: options.wrkSeconds, saturationConnections: options.concurrency,
      bulkRounds: options.bulkRounds, nodeFlags: await unitNodeFlags(), cpuUs: (pid) => processCpuUs(pid, ticks), signedRequests: () => agentMetric(s, 'sigil_agent_signed_requests_total'), refreshes: () => s.iam.issued, log,
    });

    log(`${options.heldConnections} held connections`);
    const rssAfterLoad = await rssMB(s.agent.pid);
    // The client (an unprivileged workload) may read the agent's VmRSS but not its fd table: count
    // those here, as root, while the client holds its connections.
    let fdsPeak = 0;
    const fdSampler = setInterval(() => {
      void readdir(`/proc/${s.agent.pid}/fd`).then((fds) => { fdsPeak = Math.max(fdsPeak, fds.length); }, () => undefined);
    }, 100);
    const fdsBefore = (await readdir(`/proc/${s.agent.pid}/fd`)).length;
    const held = await client('sigil', ['--hold', String(options.heldConnections), '--rss-of', String(s.agent.pid)]).finally(() => clearInterval(fdSampler));
    log(`  hold: ${JSON.stringify(held)} (agent fds: ${fdsBefore} before, ${fdsPeak} at most while held)`);
    // Fewer held than asked (a machine too slow to open them all within the keep-alive timeout) is
    // recorded, not fatal: heldConnections says what the RSS figure was measured with.
    if (held['held'] !== options.heldConnections) log(`  WARNING: held only ${String(held['held'])} of ${options.heldConnections} connections (${String(held['failed'])} failed)`);

    const blockedOnRefresh = await agentMetric(s, 'sigil_agent_credential_blocked_on_refresh_total');
    const runSeconds = (performance.now() - runStart) / 1000;
    const requestsDuringRun = s.objectStorage.requests.slice(osRequestsAtStart).filter((r) => r.principal !== IN_APP_PRINCIPAL).length;
    return {
      signer: {
        agentCpuPerRequestUs: round1((cpuAfter - cpuBefore) / signed),
        viaSigilRps: viaSigil.rps,
        inAppSdkRps: inApp.rps,
        ratioToInApp: round2(viaSigil.rps / inApp.rps),
        clientCpuPerRequestUsViaSigil: viaSigil.cpuUsPerRequest,
        clientCpuPerRequestUsInApp: inApp.cpuUsPerRequest,
        addedLatencyP50Us: sigilLatency.latencyUs.p50 - inAppLatency.latencyUs.p50,
        addedLatencyP99Us: sigilLatency.latencyUs.p99 - inAppLatency.latencyUs.p99,
        concurrency: options.concurrency,
        latency: { viaSigil: sigilLatency.latencyUs, inApp: inAppLatency.latencyUs },
        signedRequestsMeasured: signed,
      },
      agent: {
        rssMB1000Conns: held['agentRssMB'] as number,
        rssIdleMB: rssIdle,
        rssMBAfterLoad: rssAfterLoad,
        heldConnections: held['held'] as number,
        agentFdsWhileHeld: fdsPeak,
        perConnectionKB: Math.round((((held['agentRssMB'] as number) - rssAfterLoad) * 1024) / Math.max(1, held['held'] as number)),
      },
      native,
      credentials: {
        blockedOnRefresh,
        tokenLifetimeSeconds: options.tokenLifetimeSeconds,
        refreshesDuringRun: s.iam.issued - issuedAtStart,
        requestsDuringRun,
        runSeconds: Math.round(runSeconds),
      },
    };
  } finally {
    await stack?.stop();
    await rmdir(inAppCgroup).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}
