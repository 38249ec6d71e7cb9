/**
 * The whole system on one machine, as the end-to-end tests and the local demo run it:
 *
 *   nats-server (JetStream, decentralised JWT auth) ─ control plane (in this process: store, issuer,
 *   fleet, exchange) ─ OCI IAM stand-in (verifies JWT-SVIDs against the control plane's JWKS) ─ OCI
 *   Object Storage stand-in (verifies every request signature, on 127.77.x.2:443 under its real name)
 *   ─ `sigil-agent run` as a child process in a private cgroup (enrolled with a join token, steering
 *   only that cgroup, pins in a private bpffs dir) ─ workloads in `<cgroup>/workloads`.
 *
 * Workloads run as an unprivileged uid (WORKLOAD_UID) with no capabilities, from an app directory of
 * their own, and trust the signer exactly as `sigil-agent trust` tells users: the agent's state dir is
 * laid out under a stand-in for the host's `/` with deploy/install.sh's modes, made by enrolment.
 *
 * `startStack()` returns when the agent reports ready (policy applied). `stop()` undoes everything in
 * reverse, also after a failure part-way through: processes by pid, pins, cgroups, temp files.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { KernelSteering, findCgroup2Mount } from '../../agent/steering/index.js';
import { loadConfig } from '../../controlplane/config/config.js';
import { createNatsAuth, natsServerConfig } from '../../controlplane/fleet/nats-auth.js';
import { createLogger } from '../../controlplane/log.js';
import { parseResources } from '../../controlplane/resources/parse.js';
import { startControlPlane, type RunningControlPlane } from '../../controlplane/server.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { createTestPki, type TestPki } from '../helpers/test-pki.js';
import { WORKLOAD_UID, deployTestApp, installDir, runAs, type TestApp } from '../helpers/test-app.js';
import { startIamStandIn, type IamStandIn, type PrincipalRule } from '../standins/oci-iam.js';
import { startObjectStorageStandIn, type ObjectStorageStandIn } from '../standins/oci-objectstorage.js';
import { runWorkload, type WorkloadRun } from './workload-runner.js';
import { unitNodeFlags } from '../helpers/agent-unit.js';

export const ROOT = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
export const AGENT_MAIN = path.join(ROOT, 'dist/agent/cli/main.js');
/** The SDK workload in the checkout (for its sha256); workloads run the deployed copy, `stack.workloadScript`. */
export const WORKLOAD_SCRIPT = path.join(ROOT, 'dist/test/e2e/oci-sdk-workload.js');
/** The programs the stack deploys for workloads (paths under dist/); they import only these packages. */
export const APP_SCRIPTS = ['test/e2e/oci-sdk-workload.js', 'test/e2e/put-stream.js', 'test/hardening/stack-fd-client.js', 'test/hardening/stack-load-client.js'];
const APP_PACKAGES = ['oci-common', 'oci-objectstorage'];
export { WORKLOAD_UID };
export const REGION = 'us-ashburn-1';
export const OS_HOST = `objectstorage.${REGION}.oraclecloud.com`;
export const SPIFFE_ID = 'spiffe://demo.sigil.dev/billing/exporter';
export const PRINCIPAL = 'ocid1.user.oc1..sigildemobillingexporter';
const CLIENT_ID = 'sigil-demo-app';

export interface StackOptions {
  /** Log lines of the agent go here too (default: kept in memory only). */
  agentLogFile?: string;
  heartbeatMs?: number;
  /** Lifetime of the UPSTs the IAM stand-in issues (default 3600 s). */
  tokenLifetimeSeconds?: number;
  /** Extra WorkloadIdentity/WorkloadCredential documents; the default policy binds the SDK workload. */
  extraPolicy?: object[];
  /** (hardening) IAM principal rules tried before the default ones, e.g. one principal per SPIFFE ID. */
  principals?: PrincipalRule[];
  /** The agent's dns.graceSeconds (default: the agent's own default). */
  dnsGraceSeconds?: number;
  /**
   * (hardening) Extra top-level sections of the agent's config file, e.g.
   * `{ attestation: { protection: 'taint-only' } }`; the stack's own sections win on a clash.
   */
  agentConfig?: Record<string, unknown>;
  /** host:port of the control plane's API (and console); default 127.0.0.1 on a free port. */
  controlPlaneListen?: string;
}

export interface Stack {
  /** Private to the test (control-plane state, secrets): 0700. */
  root: string;
  /** Stands for the host's `/` (0755): var/lib/sigil/agent (the agent's state), opt/app, home/app. */
  host: string;
  /** The workloads' programs and packages, deployed under host/opt/app. */
  app: TestApp;
  /** The deployed SDK workload (same bytes as WORKLOAD_SCRIPT). */
  workloadScript: string;
  /** The uid workloads run as by default, and its home (holding its placeholder OCI config). */
  workloadUid: number;
  workloadHome: string;
  /** The CA file `sigil-agent trust` names for NODE_EXTRA_CA_CERTS (the agent's exported ca.pem). */
  signerCa: string;
  cgroup: string;
  workloadCgroup: string;
  pinDir: string;
  pki: TestPki;
  nats: NatsServer;
  cp: RunningControlPlane;
  adminToken: string;
  iam: IamStandIn;
  objectStorage: ObjectStorageStandIn;
  agent: { child: ChildProcess; pid: number; stateDir: string; configFile: string; adminUrl: string; signerHost: string; signerPort: number; output(): string };
  /**
   * For workloads that may also reach the stand-ins directly (unbound copies, attacks): one file with
   * the stand-ins' CA (the test world's public roots, which Node bundles for real OCI endpoints) and the
   * signer's CA, made by WORKLOAD_UID itself as `sigil-agent trust` says ("give it one file holding both").
   */
  caBundle: string;
  /** Placeholder OCI config written by `sigil-agent oci-config`, owned by workloadUid (in its 0700 home). */
  ociConfig: string;
  /** A copy of node with one byte appended: same program, different hash, so not bound. */
  unboundNode: string;
  /**
   * Runs the SDK workload in the workload cgroup as workloadUid (bound when run by the real node). The
   * real node trusts only `signerCa`; another `node` (not bound, so not steered) gets `caBundle`.
   */
  runSdkWorkload(opts?: { node?: string; tag?: string; repeat?: number; pauseMs?: number; uid?: number; onSpawn?: (pid: number) => void }): Promise<WorkloadRun>;
  /** The control plane's admin HTTP API. */
  api<T>(method: string, apiPath: string, body?: unknown): Promise<{ status: number; body: T }>;
  applyPolicy(docs: object[]): Promise<number>;
  /** Waits until the agent's /readyz answers 200. */
  agentReady(timeoutMs?: number): Promise<void>;
  restartAgent(): Promise<void>;
  /** (hardening) Stops the in-process control plane and starts it again on the same port and state. */
  restartControlPlane(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A privileged port free on every one of `hosts`, as the agent's default signer port is: the signer
 * then sits where no unprivileged process can stand in for it. ::1 is shared by stacks running at
 * the same time, hence the check there too.
 */
export async function freePrivilegedPort(hosts: string[]): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 600 + (randomBytes(2).readUInt16BE(0) % 400);
    const free = await Promise.all(hosts.map((host) => new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRNOTAVAIL'));
      srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
    })));
    if (free.every(Boolean)) return port;
  }
  throw new Error(`no free privileged port on ${hosts.join(', ')}`);
}

function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function sha256File(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}

/** The default policy: one identity (node running the SDK workload script), one OCI source, one credential. */
export async function defaultPolicy(iamUrl: string, secretFile: string, caFile: string, lifetime: number): Promise<object[]> {
  return [
    {
      apiVersion: 'sigil.dev/v1', kind: 'CredentialSource', metadata: { name: 'oci-demo' },
      spec: { kind: 'oci', domainUrl: iamUrl, clientId: CLIENT_ID, clientSecretFile: secretFile, region: REGION, caFile, tokenLifetimeSeconds: lifetime },
    },
    {
      apiVersion: 'sigil.dev/v1', kind: 'WorkloadIdentity', metadata: { name: 'billing-exporter' },
      spec: {
        spiffeId: SPIFFE_ID,
        owner: 'team-billing',
        agents: { labels: { role: 'demo' } },
        selectors: [`unix:sha256:${await sha256File(process.execPath)}`, `script:sha256:${await sha256File(WORKLOAD_SCRIPT)}`],
      },
    },
    {
      apiVersion: 'sigil.dev/v1', kind: 'WorkloadCredential', metadata: { name: 'billing-exporter-objectstorage' },
      spec: { workload: 'billing-exporter', source: 'oci-demo', destinations: [OS_HOST], ttl: '15m' },
    },
  ];
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const undo: Array<() => Promise<unknown> | unknown> = [];
  const stopAll = async (): Promise<void> => {
    for (const fn of undo.splice(0).reverse()) {
      try { await fn(); } catch { /* keep undoing */ }
    }
  };
  try {
    const id = randomBytes(4).toString('hex');
    let net8 = 100 + (randomBytes(1)[0]! % 150);
    const root = await mkdtemp(path.join(os.tmpdir(), 'sigil-e2e-'));
    undo.push(() => rm(root, { recursive: true, force: true }));
    // The host's filesystem as deploy/install.sh lays it out, same modes: `/` and /var/lib/sigil 0755.
    const host = await installDir(path.join(os.tmpdir(), `sigil-e2e-host-${id}`), 0o755);
    undo.push(() => rm(host, { recursive: true, force: true }));
    await installDir(path.join(host, 'var/lib/sigil'), 0o755);
    const cgroup = path.join(await findCgroup2Mount(), `sigil-e2e-${id}`);
    const workloadCgroup = path.join(cgroup, 'workloads');
    const pinDir = `/sys/fs/bpf/sigil-e2e-${id}`;
    await mkdir(workloadCgroup, { recursive: true });
    undo.push(async () => {
      for (const dir of [workloadCgroup, path.join(cgroup, 'agent'), cgroup]) await rmdirWhenEmpty(dir);
    });

    const pki = await createTestPki();
    undo.push(() => pki.close());

    // NATS with the fleet's JWT authority; the control plane in this process.
    const auth = await createNatsAuth();
    const nats = await startNatsServer({ config: natsServerConfig(auth, path.join(root, 'resolver')) });
    undo.push(() => nats.cleanup());
    const cpState = path.join(root, 'controlplane');
    await mkdir(cpState, { recursive: true, mode: 0o700 });
    const cpCreds = path.join(cpState, 'cp.creds');
    await writeFile(cpCreds, auth.controlPlaneCreds, { mode: 0o600 });
    const cpConfig = await loadConfig(undefined, { natsUrl: nats.url, listen: options.controlPlaneListen ?? '127.0.0.1:0', stateDir: cpState, logLevel: 'warn' });
    cpConfig.nats.credsFile = cpCreds;
    let cpStop = new AbortController();
    const heartbeatMs = options.heartbeatMs ?? 1000;
    const cpExtras = { fleet: { auth: auth.fleet, heartbeatIntervalMs: heartbeatMs } };
    let cp = await startControlPlane(cpConfig, createLogger({ level: 'warn' }), cpStop.signal, cpExtras);
    undo.push(async () => { cpStop.abort(); await cp.done.catch(() => undefined); });
    const adminToken = (await readFile(cpConfig.adminTokenFile, 'utf8')).trim();
    const api = async <T>(method: string, apiPath: string, body?: unknown): Promise<{ status: number; body: T }> => {
      const res = await fetch(`${cp.url}${apiPath}`, {
        method, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.json()) as T };
    };

    // The OCI stand-ins: IAM trusts the control plane's JWKS; Object Storage trusts IAM's UPSTs.
    const clientSecret = randomBytes(24).toString('base64url');
    const secretFile = path.join(cpState, 'oci-client-secret');
    await writeFile(secretFile, clientSecret, { mode: 0o600 });
    // Object Storage needs 443 on its own 127.77.N.2; N is random, so another stack running at the
    // same time (parallel test files) may hold it: then take another N.
    let objectStorage: ObjectStorageStandIn | undefined;
    for (let attempt = 0; !objectStorage; attempt++) {
      try {
        objectStorage = await startObjectStorageStandIn({ pki, address: `127.77.${net8}.2`, port: 443, region: REGION, trustedIssuers: [] });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 20) throw err;
        net8 = 100 + (randomBytes(1)[0]! % 150);
      }
    }
    undo.push(() => objectStorage.close());
    const iam = await startIamStandIn({
      pki, address: `127.77.${net8}.1`, clientId: CLIENT_ID, clientSecret,
      trust: { issuer: cp.issuer.issuerUrl, audience: CLIENT_ID, jwksUrl: `${cp.url}/.well-known/jwks.json` },
      principals: [...(options.principals ?? []), { equals: SPIFFE_ID, principal: PRINCIPAL }, { pattern: /^spiffe:\/\//, principal: 'ocid1.user.oc1..sigildemoother' }],
      ...(options.tokenLifetimeSeconds ? { tokenLifetimeSeconds: options.tokenLifetimeSeconds } : {}),
    });
    undo.push(() => iam.close());
    objectStorage.trustIssuer(iam.publicKey);

    const lifetime = options.tokenLifetimeSeconds ?? 3600;
    const applyPolicy = async (docs: object[]): Promise<number> =>
      (await cp.store.apply(parseResources(docs.map((d) => JSON.stringify(d)).join('\n---\n')))).revision;
    await applyPolicy([...(await defaultPolicy(iam.url, secretFile, pki.caFile, Math.max(300, lifetime))), ...(options.extraPolicy ?? [])]);

    // Enrol the agent with a one-time join token, through the real CLI.
    // The state dir is made by enrolment itself (as on a host where enrol runs before the first start).
    const stateDir = path.join(host, 'var/lib/sigil/agent');
    const token = await api<{ token: string }>('POST', '/v1/tokens', { labels: { role: 'demo' } });
    if (token.status !== 201) throw new Error(`join token: ${token.status} ${JSON.stringify(token.body)}`);
    await runNode([AGENT_MAIN, 'enroll', '--token', token.body.token, '--control-plane', cp.url, '--state-dir', stateDir]);

    // The signer as deployed: its own loopback address, a privileged port.
    const signerHost = `127.77.${net8}.3`;
    const signerPort = await freePrivilegedPort([signerHost, '::1']);
    const adminPort = await freePort();
    const configFile = path.join(root, 'agent.yaml');
    await writeFile(configFile, stringify({
      ...options.agentConfig,
      stateDir,
      log: { level: 'info' },
      steering: { cgroup, pinDir, agentCgroup: path.join(cgroup, 'agent') },
      signer: { ipv4: signerHost, port: signerPort },
      upstream: { caFile: pki.caFile },
      dns: { resolve: { [OS_HOST]: [objectStorage.address] }, ...(options.dnsGraceSeconds === undefined ? {} : { graceSeconds: options.dnsGraceSeconds }) },
      controlPlane: { natsUrl: nats.url },
      admin: { listen: `127.0.0.1:${adminPort}` },
    }));
    const adminUrl = `http://127.0.0.1:${adminPort}`;

    let child!: ChildProcess;
    let output = '';
    const agentNodeFlags = await unitNodeFlags();
    const startAgent = (): void => {
      // With the unit's NODE_OPTIONS (deploy/systemd/sigil-agent.service): the agent as it runs in production.
      child = spawn(process.execPath, [...agentNodeFlags, AGENT_MAIN, 'run', '--config', configFile, '--heartbeat-ms', String(heartbeatMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
      const onData = (d: Buffer): void => {
        output += d.toString();
        if (options.agentLogFile) appendFileSync(options.agentLogFile, d);
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
    };
    const stopAgent = async (sig: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(sig);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    };
    startAgent();
    undo.push(async () => {
      await stopAgent();
      // The agent leaves its programs pinned by design (fail closed); the stack removes them.
      await detachPinned(cgroup, pinDir, signerHost, signerPort);
    });

    const agentReady = async (timeoutMs = 30_000): Promise<void> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (child.exitCode !== null) throw new Error(`agent exited (${child.exitCode}):\n${output}`);
        const ok = await fetch(`${adminUrl}/readyz`).then((r) => r.status === 200, () => false);
        if (ok) return;
        if (Date.now() > deadline) throw new Error(`agent not ready after ${timeoutMs} ms:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await agentReady();

    // What a workload's owner does: deploy the app, trust the CA `sigil-agent trust` names, and get a
    // placeholder OCI config (written by root with `sigil-agent oci-config`, handed to the user).
    const app = await deployTestApp(path.join(host, 'opt/app'), APP_SCRIPTS, APP_PACKAGES);
    const trustText = await runNode([AGENT_MAIN, 'trust', '--state-dir', stateDir]);
    const signerCa = /export NODE_EXTRA_CA_CERTS=(\S+)/.exec(trustText)?.[1];
    if (signerCa === undefined) throw new Error(`sigil-agent trust named no CA file:\n${trustText}`);
    const owner = { uid: WORKLOAD_UID, gid: WORKLOAD_UID };
    const workloadHome = await installDir(path.join(host, 'home/app'), 0o700, owner);
    const ociDir = path.join(workloadHome, '.oci');
    await runNode([AGENT_MAIN, 'oci-config', '--dir', ociDir, '--region', REGION]);
    await promisify(execFile)('chown', ['-R', `${WORKLOAD_UID}:${WORKLOAD_UID}`, ociDir]);
    // The stand-ins' CA plays the public roots; the workload user makes its one NODE_EXTRA_CA_CERTS file.
    await installDir(path.join(host, 'etc/ssl'), 0o755);
    const publicCa = path.join(host, 'etc/ssl/test-public-ca.pem');
    await writeFile(publicCa, pki.caCertPem, { mode: 0o644 });
    const appData = await installDir(path.join(host, 'srv/app'), 0o755, owner);
    const caBundle = path.join(appData, 'extra-ca.pem');
    await runAs(WORKLOAD_UID, 'sh', ['-c', 'umask 022 && cat "$1" "$2" > "$3"', 'sh', publicCa, signerCa, caBundle]);
    const unboundNode = path.join(app.dir, 'node-copy');
    await copyFile(process.execPath, unboundNode);
    appendFileSync(unboundNode, Buffer.from([0]));
    await chmod(unboundNode, 0o755);
    const workloadScript = app.path('test/e2e/oci-sdk-workload.js');

    const stack: Stack = {
      root, host, app, workloadScript, workloadUid: WORKLOAD_UID, workloadHome, signerCa,
      cgroup, workloadCgroup, pinDir, pki, nats, get cp() { return cp; }, adminToken, iam, objectStorage, caBundle, unboundNode,
      ociConfig: path.join(ociDir, 'config'),
      agent: { get child() { return child; }, get pid() { return child.pid ?? -1; }, stateDir, configFile, adminUrl, signerHost, signerPort, output: () => output },
      api,
      applyPolicy,
      agentReady,
      runSdkWorkload: (opts = {}) => runWorkload({
        cgroup: workloadCgroup,
        hosts: { [OS_HOST]: objectStorage.address },
        command: opts.node ?? process.execPath,
        args: [workloadScript, '--config', path.join(ociDir, 'config'), '--region', REGION, '--tag', opts.tag ?? 'bound', '--repeat', String(opts.repeat ?? 1), ...(opts.pauseMs === undefined ? [] : ['--pause-ms', String(opts.pauseMs)])],
        env: { NODE_EXTRA_CA_CERTS: opts.node === undefined ? signerCa : caBundle, HOME: workloadHome },
        uid: opts.uid ?? WORKLOAD_UID,
        ...(opts.onSpawn ? { onSpawn: opts.onSpawn } : {}),
      }),
      async restartAgent() {
        await stopAgent();
        startAgent();
        await agentReady();
      },
      async restartControlPlane() {
        // Same listen port, so the issuer URL (which IAM trusts) stays the same.
        cpStop.abort();
        await cp.done.catch(() => undefined);
        cpStop = new AbortController();
        const again = await loadConfig(undefined, { natsUrl: nats.url, listen: new URL(cp.url).host, stateDir: cpState, logLevel: 'warn' });
        again.nats.credsFile = cpCreds;
        cp = await startControlPlane(again, createLogger({ level: 'warn' }), cpStop.signal, cpExtras);
      },
      stop: stopAll,
    };
    return stack;
  } catch (err) {
    await stopAll();
    throw err;
  }
}

export function runNode(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${path.basename(args[0] ?? '')} ${args[1]} exited ${code}: ${out}`))));
  });
}

/** Adopts the pinned set (same config as the agent) and detaches it: no link, pin or program left. */
export async function detachPinned(cgroup: string, pinDir: string, signerHost: string, signerPort: number): Promise<void> {
  try {
    const steering = await KernelSteering.attach({ signerIPv4: signerHost, signerPort, cgroupPath: cgroup, pinDir });
    steering.detach();
    steering.close();
  } finally {
    await rm(pinDir, { recursive: true, force: true });
  }
}

/** rmdir a cgroup once its last process has gone (killed processes take a moment to leave). */
export async function rmdirWhenEmpty(dir: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    try {
      await rmdir(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY') throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
