/**
 * High availability, end to end: a 3-node NATS cluster exactly as `init-nats --cluster 3` writes it
 * (TLS for clients and routes, R3 buckets), two control-plane replicas each with its own copy of the
 * state dir, one real agent (enrolled through one replica, told the cluster's servers at enrolment,
 * no NATS setting of its own). Policy is applied through one replica and read through the other.
 *
 * Then each NATS node and each replica is killed (SIGKILL) in turn — the nodes leaders first and on
 * purpose: the stream leader of the policy bucket (KV_sigil-resources, from $JS.API.STREAM.INFO), then
 * the JetStream meta leader (/jsz meta_cluster.leader), then the node left; each checked to lead just
 * before it dies and another node to lead after — and during each outage: apply
 * still works, the agent runs the new revision within 5 s of the apply, `fleet status` answers within
 * 2 s (and /metrics too), heartbeats reach the other replica, a bound workload (uid 1001, no capabilities) gets its
 * requests signed and accepted by the Object Storage stand-in, every earlier apply is still there, and
 * revisions only go up. OCI IAM (stand-in) fetches the JWKS through a balancer in front of both replicas. Each victim is started again and
 * must rejoin (node healthy / replica ready) before the next one dies.
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { findCgroup2Mount } from '../../agent/steering/index.js';
import { kernelTest } from '../helpers/kernel.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { AGENT_MAIN, APP_SCRIPTS, OS_HOST, PRINCIPAL, REGION, SPIFFE_ID, defaultPolicy, detachPinned, freePrivilegedPort, rmdirWhenEmpty, runNode } from './stack.js';
import { Restartable, SERVER_MAIN, adminConnection, httpStatus, initNatsCluster, leaderOf, metaLeader, startTcpBalancer, stepDownMetaLeader, streamLeader } from './ha-cluster.js';
import { createTestPki } from '../helpers/test-pki.js';
import { WORKLOAD_UID, deployTestApp, installDir } from '../helpers/test-app.js';
import { startIamStandIn } from '../standins/oci-iam.js';
import { startObjectStorageStandIn } from '../standins/oci-objectstorage.js';
import { runWorkload } from './workload-runner.js';

const NET = '127.77.150';
const HOSTS = [1, 2, 3].map((i) => `${NET}.${i}`);
const ISSUER_URL = `http://${NET}.10:15170`;
const REPLICAS = [{ name: 'replica-a', listen: `${NET}.11:15171` }, { name: 'replica-b', listen: `${NET}.12:15172` }];
const AGENT_ADMIN = `${NET}.30:15173`;
/** The policy bucket's stream: the leader an apply waits for. */
const POLICY_STREAM = 'KV_sigil-resources';
const BUCKET_STREAMS = [POLICY_STREAM, 'KV_sigil-fleet', 'KV_sigil-controlplane'];
/** How long after an apply returns the agent must be running it. */
const PROPAGATION_MS = 5_000;

interface FleetStatusBody { agents: Array<{ id: string; lastHeartbeatAgeSeconds?: number }> }

/** Polls `check` until it holds or `timeoutMs` has passed; whether it held. */
async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Timed<T> { value: T; ms: number }
async function timed<T>(fn: () => Promise<T>): Promise<Timed<T>> {
  const start = Date.now();
  const value = await fn();
  return { value, ms: Date.now() - start };
}

kernelTest.serial('HA: any one NATS node or replica may die — apply, distribution and fleet status keep working, nothing is lost', async (t) => {
  t.timeout(300_000);
  const undo: Array<() => Promise<unknown>> = [];
  t.teardown(async () => {
    for (const fn of undo.reverse()) await fn().catch(() => undefined);
  });
  const root = await mkdtemp(path.join(os.tmpdir(), 'sigil-ha-'));
  undo.push(() => rm(root, { recursive: true, force: true }));
  const log = (msg: string): void => t.log(`${new Date().toISOString().slice(11, 23)} ${msg}`);

  // The operator's steps (docs/operator-guide.md, "High availability"): init-nats --cluster 3 ...
  const cluster = initNatsCluster({ root, hosts: HOSTS, clientPort: 15140, clusterPort: 15150, monitorPort: 15160, issuerUrl: ISSUER_URL });
  const stateDir = cluster.stateDir;
  const nodes = cluster.nodes;
  // ... each node: nats-server -c node-<i>.conf ...
  for (const n of nodes) undo.push(() => n.proc.kill('SIGTERM'));
  await cluster.start();
  log('NATS cluster up');
  // An operator's view of the cluster (admin.creds): which node leads what, so leaders are killed on purpose.
  const observer = await adminConnection(cluster);
  undo.push(() => observer.close());

  // ... each replica: its own copy of the state dir, run on the written config unchanged.
  const replicas = await Promise.all(REPLICAS.map(async (r) => {
    const dir = path.join(root, r.name);
    await cp(stateDir, dir, { recursive: true });
    const proc = new Restartable(r.name, process.execPath, [SERVER_MAIN, 'run', '--config', path.join(dir, 'controlplane.yaml'), '--state-dir', dir, '--listen', r.listen]);
    undo.push(() => proc.kill('SIGTERM'));
    return { ...r, url: `http://${r.listen}`, proc, dir };
  }));
  const replicaReady = (r: (typeof replicas)[number]) => async (): Promise<boolean> => (await httpStatus(`${r.url}/readyz`)) === 200;
  await Promise.all(replicas.map((r) => r.proc.start(replicaReady(r), 60_000)));
  log('replicas ready');
  const adminToken = (await readFile(path.join(stateDir, 'admin.token'), 'utf8')).trim();
  const api = async <T>(r: (typeof replicas)[number], method: string, apiPath: string, body?: string, timeoutMs = 30_000): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${r.url}${apiPath}`, {
      method, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/yaml' }, signal: AbortSignal.timeout(timeoutMs),
      ...(body === undefined ? {} : { body }),
    });
    return { status: res.status, body: (await res.json()) as T };
  };

  // Separate state dirs, one issuer: both replicas publish the same JWKS (the keys live in NATS KV).
  const jwks = await Promise.all(replicas.map(async (r) => (await fetch(`${r.url}/.well-known/jwks.json`)).json()));
  t.deepEqual(jwks[0], jwks[1], 'both replicas serve the same JWKS');
  t.true(((jwks[0] as { keys: unknown[] }).keys).length > 0);

  // The issuer URL is a load balancer in front of both replicas; OCI IAM (the stand-in) trusts it.
  const issuer = new URL(ISSUER_URL);
  const balancer = await startTcpBalancer({ host: issuer.hostname, port: Number(issuer.port) },
    REPLICAS.map((r) => ({ host: r.listen.split(':')[0] as string, port: Number(r.listen.split(':')[1]) })));
  undo.push(() => balancer.close());
  const pki = await createTestPki();
  undo.push(() => pki.close());
  const clientSecret = randomBytes(24).toString('base64url');
  const objectStorage = await startObjectStorageStandIn({ pki, address: `${NET}.40`, port: 443, region: REGION, trustedIssuers: [] });
  undo.push(() => objectStorage.close());
  const iam = await startIamStandIn({
    pki, address: `${NET}.41`, clientId: 'sigil-demo-app', clientSecret,
    trust: { issuer: ISSUER_URL, audience: 'sigil-demo-app', jwksUrl: `${ISSUER_URL}/.well-known/jwks.json` },
    principals: [{ equals: SPIFFE_ID, principal: PRINCIPAL }],
  });
  undo.push(() => iam.close());
  objectStorage.trustIssuer(iam.publicKey);

  // The policy: the default one, its credential's TTL changed by every apply (so every apply changes the agent's bundle).
  const secretFile = path.join(root, 'oci-client-secret');
  await writeFile(secretFile, clientSecret, { mode: 0o600 });
  const base = await defaultPolicy(iam.url, secretFile, pki.caFile, 3600);
  const policyWithTtl = (minutes: number): string => base.map((doc) => {
    const d = doc as { kind: string; spec: Record<string, unknown> };
    return JSON.stringify(d.kind === 'WorkloadCredential' ? { ...d, spec: { ...d.spec, ttl: `${minutes}m` } } : d);
  }).join('\n---\n');
  const apply = async (via: (typeof replicas)[number], minutes: number): Promise<number> => {
    const res = await api<{ revision: number }>(via, 'POST', '/v1/apply', policyWithTtl(minutes));
    if (res.status !== 200) throw new Error(`apply through ${via.name}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.revision;
  };
  let revision = await apply(replicas[0]!, 15);

  // The agent: enrolled through replica B with a token made on A; its config names no NATS server.
  const id = randomBytes(4).toString('hex');
  const cgroup = path.join(await findCgroup2Mount(), `sigil-ha-${id}`);
  const pinDir = `/sys/fs/bpf/sigil-ha-${id}`;
  await mkdir(path.join(cgroup, 'workloads'), { recursive: true });
  undo.push(async () => { for (const dir of [path.join(cgroup, 'workloads'), path.join(cgroup, 'agent'), cgroup]) await rmdirWhenEmpty(dir); });
  const token = await api<{ token: string }>(replicas[0]!, 'POST', '/v1/tokens', JSON.stringify({ labels: { role: 'demo' } }));
  t.is(token.status, 201, JSON.stringify(token.body));
  // The host's filesystem as deploy/install.sh lays it out (workloads read the signer's CA from the state dir).
  const host = await installDir(path.join(os.tmpdir(), `sigil-ha-host-${id}`), 0o755);
  undo.push(() => rm(host, { recursive: true, force: true }));
  await installDir(path.join(host, 'var/lib/sigil'), 0o755);
  const agentState = path.join(host, 'var/lib/sigil/agent');
  const enrolled = await runNode([AGENT_MAIN, 'enroll', '--token', token.body.token, '--control-plane', replicas[1]!.url, '--state-dir', agentState]);
  t.regex(enrolled, new RegExp(cluster.servers.map((u) => u.replace(/\./g, '\\.')).join(', ')), 'enrolment hands over every server');
  const signerHost = `${NET}.30`;
  const signerPort = await freePrivilegedPort([signerHost, '::1']);
  const agentConfig = path.join(root, 'agent.yaml');
  await writeFile(agentConfig, stringify({
    stateDir: agentState, log: { level: 'info' },
    steering: { cgroup, pinDir, agentCgroup: path.join(cgroup, 'agent') },
    signer: { ipv4: signerHost, port: signerPort },
    upstream: { caFile: pki.caFile },
    dns: { resolve: { [OS_HOST]: [objectStorage.address] } },
    admin: { listen: AGENT_ADMIN },
  }));
  const agent = new Restartable('agent', process.execPath, [AGENT_MAIN, 'run', '--config', agentConfig, '--heartbeat-ms', '1000']);
  undo.push(async () => {
    await agent.kill('SIGTERM');
    await detachPinned(cgroup, pinDir, signerHost, signerPort);
  });
  const agentRevision = async (): Promise<number | undefined> => {
    const text = await (await fetch(`http://${AGENT_ADMIN}/metrics`, { signal: AbortSignal.timeout(1_000) })).text();
    const m = /^sigil_agent_policy_revision (\d+)$/m.exec(text);
    return m ? Number(m[1]) : undefined;
  };
  await agent.start(async () => (await agentRevision()) === revision, 60_000);
  log(`agent runs revision ${revision}`);

  // A workload as its owner sets it up (stack.ts does the same): an unprivileged uid, no capabilities,
  // trusting the signer's CA as `sigil-agent trust` says, with a placeholder OCI config.
  const app = await deployTestApp(path.join(host, 'opt/app'), APP_SCRIPTS, ['oci-common', 'oci-objectstorage']);
  const signerCa = /export NODE_EXTRA_CA_CERTS=(\S+)/.exec(await runNode([AGENT_MAIN, 'trust', '--state-dir', agentState]))?.[1];
  t.truthy(signerCa);
  const workloadHome = await installDir(path.join(host, 'home/app'), 0o700, { uid: WORKLOAD_UID, gid: WORKLOAD_UID });
  const ociDir = path.join(workloadHome, '.oci');
  await runNode([AGENT_MAIN, 'oci-config', '--dir', ociDir, '--region', REGION]);
  await promisify(execFile)('chown', ['-R', `${WORKLOAD_UID}:${WORKLOAD_UID}`, ociDir]);
  /** Runs the SDK workload; true when the Object Storage stand-in accepted every request it made, signed for our principal. */
  const workloadSigned = async (tag: string): Promise<boolean> => {
    const from = objectStorage.requests.length;
    const run = await runWorkload({
      cgroup: path.join(cgroup, 'workloads'), hosts: { [OS_HOST]: objectStorage.address }, command: process.execPath,
      args: [app.path('test/e2e/oci-sdk-workload.js'), '--config', path.join(ociDir, 'config'), '--region', REGION, '--tag', tag, '--repeat', '1'],
      env: { NODE_EXTRA_CA_CERTS: signerCa as string, HOME: workloadHome }, uid: WORKLOAD_UID,
    });
    // Judged on what the stand-in accepted during this run, not on what the workload says.
    const seen = objectStorage.requests.slice(from);
    const ok = run.code === 0 && run.lines.length > 0 && run.lines.every((l) => l['ok'] === true)
      && seen.length >= run.lines.length && seen.every((r) => r.status < 400 && r.principal === PRINCIPAL);
    if (!ok) t.log(`workload ${tag}: exit ${run.code}, lines ${JSON.stringify(run.lines)}, requests ${JSON.stringify(seen.map((r) => [r.method, r.status, r.rejection]))}\n${run.stderr.slice(-2000)}`);
    return ok;
  };
  t.true(await workloadSigned('before'), 'a bound workload (uid 1001) is signed for before any failure');

  const readBack = async (via: (typeof replicas)[number]): Promise<string> => {
    const res = await api<{ spec: { ttl: string } }>(via, 'GET', '/v1/resources/WorkloadCredential/billing-exporter-objectstorage');
    t.is(res.status, 200);
    return res.body.spec.ttl;
  };
  t.is(await readBack(replicas[1]!), '15m', 'read through the other replica');

  // The failover matrix: every NATS node, leaders first and on purpose — the policy bucket's stream
  // leader (the node every apply's writes go through), then the JetStream meta leader, then the node
  // left — then every replica. A node is picked when its turn comes: leadership moves with each kill.
  const killedNodes = new Set<string>();
  const leaders = async (): Promise<Record<string, string | undefined>> => Object.fromEntries(await Promise.all(
    [...BUCKET_STREAMS.map((st) => [st, () => streamLeader(observer, st)] as const), ['meta', () => metaLeader(cluster)] as const]
      .map(async ([k, read]) => [k, await read().catch(() => undefined)] as const)));
  const nodePicks: Array<{ role: string; pick: () => Promise<string | undefined>; check?: () => Promise<string | undefined> }> = [
    { role: `stream leader of ${POLICY_STREAM}`, pick: () => leaderOf(() => streamLeader(observer, POLICY_STREAM)), check: () => streamLeader(observer, POLICY_STREAM) },
    { role: 'JetStream meta leader', pick: async () => {
      // Rarely the meta leader is the node killed before (it rejoined and won an election): move it.
      for (let attempt = 0; attempt < 5; attempt++) {
        const leader = await leaderOf(() => metaLeader(cluster));
        if (leader === undefined || !killedNodes.has(leader)) return leader;
        await stepDownMetaLeader(cluster);
        await until(async () => (await metaLeader(cluster)) !== leader, 10_000);
      }
      return undefined;
    }, check: () => metaLeader(cluster) },
    { role: 'the node left', pick: async () => nodes.find((n) => !killedNodes.has(n.name))?.name },
  ];
  const victims = [
    ...nodePicks.map((p) => async () => {
      const name = await p.pick();
      t.truthy(name, `a ${p.role} to kill`);
      const n = cluster.node(name as string);
      return { name: n.name, role: p.role, proc: n.proc, rejoined: n.healthy, check: p.check };
    }),
    ...replicas.map((r) => async () => ({ name: r.name, role: 'replica', proc: r.proc, rejoined: replicaReady(r), check: undefined })),
  ];
  let ttl = 15;
  for (const [step, pickVictim] of victims.entries()) {
    const victim = await pickVictim();
    const led = victim.role === 'replica' ? {} : await leaders();
    if (victim.check) t.is(await victim.check(), victim.name, `${victim.name} is the ${victim.role} when it is killed`);
    await victim.proc.kill('SIGKILL');
    if (victim.role !== 'replica') killedNodes.add(victim.name);
    const ledNow = Object.entries(led).filter(([, l]) => l === victim.name).map(([k]) => k);
    log(`killed ${victim.name} (${victim.role}${ledNow.length > 0 ? `; it led ${ledNow.join(', ')}` : ''})`);
    const live = replicas.filter((r) => r.proc.running);
    const via = live[step % live.length]!;
    const other = live.find((r) => r !== via) ?? via;
    ttl += 1;
    const applied = await timed(() => apply(via, ttl));
    t.true(applied.value > revision, `revision ${applied.value} after ${revision}: monotonic`);
    revision = applied.value;
    log(`applied revision ${revision} through ${via.name} in ${applied.ms} ms`);

    const deadline = Date.now() + PROPAGATION_MS;
    let running: number | undefined;
    while (Date.now() < deadline && (running = await agentRevision().catch(() => undefined)) !== revision) await new Promise((r) => setTimeout(r, 50));
    t.is(running, revision, `with ${victim.name} down the agent runs revision ${revision} within ${PROPAGATION_MS} ms of the apply`);

    const status = await timed(() => api<FleetStatusBody>(other, 'GET', '/v1/fleet/status', undefined, 2_000));
    t.is(status.value.status, 200);
    t.is(status.value.body.agents.length, 1);
    t.true(status.ms < 2_000, `fleet status through ${other.name} answered in ${status.ms} ms`);
    const metrics = await timed(() => httpStatus(`${other.url}/metrics`, 3_000));
    t.true(metrics.value === 200 && metrics.ms < 2_000, `/metrics of ${other.name} answered ${metrics.value} in ${metrics.ms} ms`);
    t.is(await readBack(other), `${ttl}m`, `with ${victim.name} down, read through ${other.name}: nothing applied is lost`);
    // Heartbeats keep flowing (1 s interval): the replica heard from the agent within the last 5 s.
    const heard = await until(async () => {
      const age = (await api<FleetStatusBody>(other, 'GET', '/v1/fleet/status', undefined, 2_000)).body.agents[0]?.lastHeartbeatAgeSeconds;
      return age !== undefined && age < 5;
    }, 5_000);
    t.true(heard, `with ${victim.name} down, ${other.name} hears the agent's heartbeats`);
    const exchangesBefore = iam.issued;
    const restartAgent = step === 0 || victim.name === 'replica-a';
    if (restartAgent) {
      // A restarted agent finds the cluster whichever node is down (it has every server from
      // enrolment), and, holding no token, exchanges for one through whichever replica answers.
      await agent.kill('SIGTERM');
      await agent.start(async () => (await agentRevision()) === revision, 60_000);
      log(`agent restarted with ${victim.name} down: runs the current revision`);
    }
    if (step === 1) {
      // A replica (re)started while one node is down starts and serves.
      const r = replicas[1]!;
      await r.proc.kill('SIGTERM');
      await r.proc.start(replicaReady(r), 60_000);
      t.is(await readBack(r), `${ttl}m`);
      log(`${r.name} restarted with ${victim.name} down: ready`);
    }
    t.true(await workloadSigned(`during-${victim.name}`), `with ${victim.name} down, the bound workload's requests are signed and accepted`);
    if (restartAgent) t.true(iam.issued > exchangesBefore, `with ${victim.name} down, the restarted agent's exchange went through (UPSTs issued: ${iam.issued - exchangesBefore})`);
    log(`workload signed with ${victim.name} down (UPSTs issued meanwhile: ${iam.issued - exchangesBefore})`);

    if (victim.check) {
      // The leader it held was really lost: another node leads now (elected during the outage; a
      // live node's /jsz may name the dead meta leader until then, hence the wait).
      const check = victim.check;
      let next: string | undefined;
      const moved = await until(async () => (next = await check()) !== undefined && next !== victim.name, 20_000);
      t.true(moved, `after ${victim.name} died the ${victim.role} is another node (${next})`);
    }
    await victim.proc.start(victim.rejoined, 60_000);
    log(`${victim.name} rejoined`);
  }
  t.is(killedNodes.size, nodes.length, 'every NATS node was killed once');

  // Everything rejoined: both replicas ready, every node healthy, the last apply everywhere, one JWKS.
  for (const r of replicas) {
    t.is(await httpStatus(`${r.url}/readyz`), 200, `${r.name} ready`);
    t.is(await readBack(r), `${ttl}m`);
  }
  for (const n of nodes) t.true(await n.healthy(), `${n.name} healthy`);
  const after = await Promise.all(replicas.map(async (r) => (await fetch(`${r.url}/.well-known/jwks.json`)).json()));
  t.deepEqual(after[0], after[1]);
  t.is(await agentRevision(), revision);
});
