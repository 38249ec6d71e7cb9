/**
 * The signer driven by native clients, side by side with the nginx anchor, in the stack of
 * through-stack.ts: wrk for small requests (latency at concurrency 1, CPU at saturation), curl for
 * bulk transfers. Three paths each, in rounds so every figure is a median of several runs:
 *   direct  — pre-signed headers straight to the Object Storage stand-in (the floor);
 *   nginx   — the same pre-signed request through nginx (one worker, TLS both sides, keepalive);
 *   sigil   — a plain request from the steered cgroup, signed by the agent;
 *   floor   — wrk only: the pre-signed request through a minimal Node TLS pass-through
 *             (bench/node-tls-floor.ts), what Node + OpenSSL cost for the hop's two TLS legs.
 * CPU is read from /proc for the agent (all its threads) and for nginx's worker.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { KeyObject } from 'node:crypto';
import path from 'node:path';
import { authorizationHeader, requiredSignedHeaders, signString, signingString } from '../agent/signer/oci-signature.js';
import { OS_HOST, type Stack } from '../test/e2e/stack.js';
import { runWorkload, type WorkloadRun } from '../test/e2e/workload-runner.js';
import { BULK_GET_COUNT, BULK_GET_OBJECT_BYTES, BULK_PUT_BYTES, curlGetArgs, curlPutArgs, mbPerSecond, parseCurl, sparseFile, type CurlTransfer } from './bulk.js';
import { startNginxAnchor } from './nginx-anchor.js';
import { startNodeTlsFloor } from './node-tls-floor.js';
import { requireTool, spread, type Spread } from './native-tools.js';
import { parseWrk, wrkArgs, wrkScript, type WrkResult } from './wrk.js';

export const NGINX_PORT = 8443;
export const FLOOR_PORT = 8444;

export interface NativeContext {
  stack: Stack;
  /** World-readable scratch directory (owned by the workload user). */
  dir: string;
  inAppCgroup: string;
  /** The in-app session credential the stand-in trusts (pre-signed requests). */
  session: { keyId: string; privateKey: KeyObject };
  signCostUs: number;
  rounds: number;
  latencySeconds: number;
  saturationSeconds: number;
  saturationConnections: number;
  bulkRounds: number;
  /** V8 flags of the agent's unit, which the Node floor runs with too. */
  nodeFlags: string[];
  cpuUs(pid: number): Promise<number>;
  signedRequests(): Promise<number>;
  /** Session tokens the IAM stand-in has issued (each refresh costs the agent an RSA key generation). */
  refreshes(): number;
  log(line: string): void;
}

export interface NativeResult {
  signer: {
    cpuOverheadRatio: Spread;
    addedLatencyP50OverSign: Spread;
    addedLatencyP99OverSign: Spread;
    agentCoresUsedAtSaturation: Spread;
    hopCpuOverNginx: Spread;
    hopLatencyOverNginx: Spread;
    agentCpuPerRequestUsWrk: Spread;
    nginxCpuPerRequestUs: Spread;
    /** CPU per request of the minimal Node TLS pass-through (bench/node-tls-floor.ts). */
    nodeTlsFloorCpuPerRequestUs: Spread;
    /** (agent CPU − one sign) ÷ the Node floor's CPU per request. */
    hopCpuOverNodeTlsFloor: Spread;
    /** Added p50 of the Node floor over direct, µs. */
    nodeTlsFloorAddedLatencyP50Us: Spread;
    addedLatencyP50Us: { sigil: Spread; nginx: Spread };
    rps: { sigil: Spread; nginx: Spread; direct: Spread; floor: Spread };
    wrkRuns: Array<Record<string, WrkResult>>;
  };
  bulk: null | {
    putOverNginx: Spread;
    getOverNginx: Spread;
    cpuPerMiBOverNginx: Spread;
    putMBps: { sigil: Spread; nginx: Spread; direct: Spread };
    getMBps: { sigil: Spread; nginx: Spread; direct: Spread };
    agentCpuUsPerMiB: Spread;
    nginxCpuUsPerMiB: Spread;
    agentRssPeakMB: number;
    putBytes: number;
    getBytes: number;
  };
}

type Path = 'direct' | 'nginx' | 'sigil' | 'floor';

/** x-date, host and Authorization for one request, signed with the in-app session key. */
function presigned(ctx: NativeContext, method: string, target: string): Record<string, string> {
  const values: Record<string, string> = { 'x-date': new Date().toUTCString(), host: OS_HOST };
  const signedHeaders = requiredSignedHeaders(method, target, 'x-date');
  const text = signingString({ method, requestTarget: target, headers: values, signedHeaders });
  return { 'x-date': values['x-date']!, authorization: authorizationHeader(ctx.session.keyId, signedHeaders, signString(text, ctx.session.privateKey)) };
}

async function rssMB(pid: number): Promise<number> {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return kb / 1024;
}

export async function benchNativeClients(ctx: NativeContext): Promise<NativeResult> {
  const wrk = requireTool('wrk');
  const curl = requireTool('curl');
  const s = ctx.stack;
  const agentPid = s.agent.pid;
  const hosts = { [OS_HOST]: s.objectStorage.address };
  const script = await wrkScript(ctx.dir);
  // The client's trust for the nginx and direct paths: the stand-in's CA, in a file the workload can read.
  const upstreamCa = path.join(ctx.dir, 'upstream-ca.pem');
  await writeFile(upstreamCa, s.pki.caCertPem, { mode: 0o644 });
  const nginx = await startNginxAnchor({
    dir: ctx.dir,
    listen: { address: s.objectStorage.address, port: NGINX_PORT },
    upstream: { address: s.objectStorage.address, port: 443, serverName: OS_HOST, caFile: s.pki.caFile },
    cert: await s.pki.issueServerCert([OS_HOST]),
  });
  const floor = await startNodeTlsFloor({
    listen: { address: s.objectStorage.address, port: FLOOR_PORT },
    upstream: { address: s.objectStorage.address, port: 443, serverName: OS_HOST, caPem: s.pki.caCertPem },
    cert: await s.pki.issueServerCert([OS_HOST]),
  }, ctx.nodeFlags).catch(async (err: unknown) => {
    await nginx.stop();
    throw err;
  });
  const run = async (p: Path, command: string, args: string[], timeoutMs = 300_000): Promise<WorkloadRun> => {
    const r = await runWorkload({ cgroup: p === 'sigil' ? s.workloadCgroup : ctx.inAppCgroup, hosts, command, args, timeoutMs });
    if (r.code !== 0) throw new Error(`${path.basename(command)} (${p}) exited ${r.code}: ${r.stderr}${r.stdout}`);
    return r;
  };
  const base = (p: Path): string => (p === 'nginx' ? `https://${OS_HOST}:${NGINX_PORT}` : p === 'floor' ? `https://${OS_HOST}:${FLOOR_PORT}` : `https://${OS_HOST}`);
  const ns = s.objectStorage.namespace;
  const small = `/n/${ns}/b/bench/o/wrk-1k`;
  // The floor forwards the bytes as they are: its requests carry the Host they were signed with (nginx sets
  // it); 'Host' spelt so, as wrk looks for it, or it adds its own with the port.
  const headersFor = (p: Path, method: string, target: string): Record<string, string> =>
    (p === 'sigil' ? {} : p === 'floor' ? { Host: OS_HOST, ...presigned(ctx, method, target) } : presigned(ctx, method, target));

  try {
    // The object every wrk GET reads: 1 KiB, put once.
    await writeFile(path.join(ctx.dir, 'obj-1k'), Buffer.alloc(1024, 'x'), { mode: 0o644 });
    parseCurl((await run('direct', curl, curlPutArgs(`${base('direct')}${small}`, path.join(ctx.dir, 'obj-1k'), headersFor('direct', 'PUT', small), upstreamCa))).lines, 'up', '');
    const wrkOnce = async (p: Path, connections: number, seconds: number): Promise<WrkResult> => {
      const r = await run(p, wrk, wrkArgs({ url: `${base(p)}${small}`, connections, seconds, headers: headersFor(p, 'GET', small), script }));
      const result = parseWrk(r.lines[0], r.stdout + r.stderr);
      if (result.requests === 0 || result.errors > result.requests / 100) {
        const rejected = s.objectStorage.requests.filter((q) => q.rejection).slice(-1)[0];
        throw new Error(`wrk (${p}) failed too often: ${JSON.stringify(result)} ${r.stdout}${rejected ? ` (last rejection by the stand-in: ${rejected.rejection})` : ''}`);
      }
      return result;
    };
    // Warm-up: pools, JIT, the signer's leaf and threads.
    for (const p of ['direct', 'nginx', 'floor', 'sigil'] as const) await wrkOnce(p, 4, 1);

    // The agent's CPU with no request: token refreshes (an RSA-2048 key generation each), heartbeats.
    const idleSeconds = 6;
    const i0 = await ctx.cpuUs(agentPid);
    const r0 = ctx.refreshes();
    await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
    const idleUsPerSecond = ((await ctx.cpuUs(agentPid)) - i0) / idleSeconds;
    ctx.log(`  agent idle CPU: ${Math.round(idleUsPerSecond)} µs/s (${ctx.refreshes() - r0} token refreshes in ${idleSeconds} s)`);

    const rounds: Array<Record<string, number>> = [];
    const wrkRuns: Array<Record<string, WrkResult>> = [];
    for (let round = 0; round < ctx.rounds; round++) {
      const lat: Partial<Record<Path, WrkResult>> = {};
      for (const p of ['direct', 'nginx', 'floor', 'sigil'] as const) lat[p] = await wrkOnce(p, 1, ctx.latencySeconds);
      const direct = await wrkOnce('direct', ctx.saturationConnections, ctx.saturationSeconds);
      const n0 = await ctx.cpuUs(nginx.workerPid);
      const nginxSat = await wrkOnce('nginx', ctx.saturationConnections, ctx.saturationSeconds);
      const n1 = await ctx.cpuUs(nginx.workerPid);
      const f0 = await ctx.cpuUs(floor.pid);
      const floorSat = await wrkOnce('floor', ctx.saturationConnections, ctx.saturationSeconds);
      const f1 = await ctx.cpuUs(floor.pid);
      const signed0 = await ctx.signedRequests();
      const a0 = await ctx.cpuUs(agentPid);
      const t0 = performance.now();
      const sigilSat = await wrkOnce('sigil', ctx.saturationConnections, ctx.saturationSeconds);
      const a1 = await ctx.cpuUs(agentPid);
      const wallUs = (performance.now() - t0) * 1000;
      const signed = (await ctx.signedRequests()) - signed0;
      // Less what the agent spends with no request at all (above all the RSA key generation of every
      // 10-second token's refresh, a few per second with several bindings): the requests' own CPU.
      const agentPerReq = (a1 - a0 - idleUsPerSecond * (wallUs / 1e6)) / signed;
      const nginxPerReq = (n1 - n0) / nginxSat.requests;
      const floorPerReq = (f1 - f0) / floorSat.requests;
      const sigilAdded50 = lat.sigil!.latencyUs.p50 - lat.direct!.latencyUs.p50;
      const nginxAdded50 = lat.nginx!.latencyUs.p50 - lat.direct!.latencyUs.p50;
      const r = {
        agentCpuPerRequestUs: agentPerReq,
        nginxCpuPerRequestUs: nginxPerReq,
        cpuOverheadRatio: agentPerReq / ctx.signCostUs,
        agentCoresUsedAtSaturation: (a1 - a0) / wallUs,
        hopCpuOverNginx: (agentPerReq - ctx.signCostUs) / nginxPerReq,
        nodeTlsFloorCpuPerRequestUs: floorPerReq,
        hopCpuOverNodeTlsFloor: (agentPerReq - ctx.signCostUs) / floorPerReq,
        floorAdded50: lat.floor!.latencyUs.p50 - lat.direct!.latencyUs.p50,
        sigilAdded50,
        nginxAdded50,
        addedLatencyP50OverSign: sigilAdded50 / ctx.signCostUs,
        addedLatencyP99OverSign: (lat.sigil!.latencyUs.p99 - lat.direct!.latencyUs.p99) / ctx.signCostUs,
        hopLatencyOverNginx: (sigilAdded50 - ctx.signCostUs) / nginxAdded50,
        rpsSigil: sigilSat.rps,
        rpsNginx: nginxSat.rps,
        rpsDirect: direct.rps,
        rpsFloor: floorSat.rps,
        agentIdleCpuUsPerSecond: idleUsPerSecond,
      };
      ctx.log(`  wrk round ${round + 1}: ${JSON.stringify(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Math.round(v * 100) / 100])))}`);
      rounds.push(r);
      wrkRuns.push({
        latencyDirect: lat.direct!, latencyNginx: lat.nginx!, latencyFloor: lat.floor!, latencySigil: lat.sigil!,
        saturationDirect: direct, saturationNginx: nginxSat, saturationFloor: floorSat, saturationSigil: sigilSat,
      });
    }
    const col = (k: string): Spread => spread(rounds.map((r) => r[k]!));
    const signer: NativeResult['signer'] = {
      cpuOverheadRatio: col('cpuOverheadRatio'),
      addedLatencyP50OverSign: col('addedLatencyP50OverSign'),
      addedLatencyP99OverSign: col('addedLatencyP99OverSign'),
      agentCoresUsedAtSaturation: col('agentCoresUsedAtSaturation'),
      hopCpuOverNginx: col('hopCpuOverNginx'),
      hopLatencyOverNginx: col('hopLatencyOverNginx'),
      agentCpuPerRequestUsWrk: col('agentCpuPerRequestUs'),
      nginxCpuPerRequestUs: col('nginxCpuPerRequestUs'),
      nodeTlsFloorCpuPerRequestUs: col('nodeTlsFloorCpuPerRequestUs'),
      hopCpuOverNodeTlsFloor: col('hopCpuOverNodeTlsFloor'),
      nodeTlsFloorAddedLatencyP50Us: col('floorAdded50'),
      addedLatencyP50Us: { sigil: col('sigilAdded50'), nginx: col('nginxAdded50') },
      rps: { sigil: col('rpsSigil'), nginx: col('rpsNginx'), direct: col('rpsDirect'), floor: col('rpsFloor') },
      wrkRuns,
    };
    if (ctx.bulkRounds === 0) return { signer, bulk: null };

    ctx.log('bulk: 1 GiB PutObject and 1 GiB of GetObject, direct / nginx / sigil');
    const bigFile = path.join(ctx.dir, 'bulk-1g');
    await sparseFile(bigFile, BULK_PUT_BYTES);
    const get16 = `/n/${ns}/b/bench/o/bulk-16m`;
    const file16 = path.join(ctx.dir, 'bulk-16m');
    await sparseFile(file16, BULK_GET_OBJECT_BYTES);
    parseCurl((await run('direct', curl, curlPutArgs(`${base('direct')}${get16}`, file16, headersFor('direct', 'PUT', get16), upstreamCa))).lines, 'up', '');
    const caOf = (p: Path): string => (p === 'sigil' ? s.signerCa : upstreamCa);
    let rssPeak = 0;
    const sampler = setInterval(() => { void rssMB(agentPid).then((mb) => { rssPeak = Math.max(rssPeak, mb); }, () => undefined); }, 100);
    const bulkRounds: Array<Record<string, number>> = [];
    try {
      for (let round = 0; round < ctx.bulkRounds; round++) {
        const put: Partial<Record<Path, CurlTransfer>> = {};
        const get: Partial<Record<Path, CurlTransfer>> = {};
        const cpu: Partial<Record<Path, number>> = {};
        for (const p of ['direct', 'nginx', 'sigil'] as const) {
          const pid = p === 'sigil' ? agentPid : p === 'nginx' ? nginx.workerPid : 0;
          const c0 = pid ? await ctx.cpuUs(pid) : 0;
          const w0 = performance.now();
          const target = `/n/${ns}/b/bench/o/bulk-1g-${p}`;
          const putRun = await run(p, curl, curlPutArgs(`${base(p)}${target}`, bigFile, headersFor(p, 'PUT', target), caOf(p)));
          put[p] = parseCurl(putRun.lines, 'up', putRun.stdout + putRun.stderr);
          const getRun = await run(p, curl, curlGetArgs(`${base(p)}${get16}`, BULK_GET_COUNT, headersFor(p, 'GET', get16), caOf(p)));
          get[p] = parseCurl(getRun.lines, 'down', getRun.stdout + getRun.stderr);
          // The agent's idle CPU (refreshes) over the transfer is not the transfer's.
          const background = p === 'sigil' ? idleUsPerSecond * ((performance.now() - w0) / 1000) : 0;
          cpu[p] = pid ? (await ctx.cpuUs(pid)) - c0 - background : 0;
        }
        const mib = (t: CurlTransfer): number => t.bytes / 1048576;
        const perMiB = (p: Path): number => cpu[p]! / (mib(put[p]!) + mib(get[p]!));
        const r = {
          putSigil: mbPerSecond(put.sigil!), putNginx: mbPerSecond(put.nginx!), putDirect: mbPerSecond(put.direct!),
          getSigil: mbPerSecond(get.sigil!), getNginx: mbPerSecond(get.nginx!), getDirect: mbPerSecond(get.direct!),
          agentCpuUsPerMiB: perMiB('sigil'), nginxCpuUsPerMiB: perMiB('nginx'),
        };
        const ratios = { ...r, putOverNginx: r.putSigil / r.putNginx, getOverNginx: r.getSigil / r.getNginx, cpuPerMiBOverNginx: r.agentCpuUsPerMiB / r.nginxCpuUsPerMiB };
        ctx.log(`  bulk round ${round + 1}: ${JSON.stringify(Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, Math.round(v * 100) / 100])))}`);
        bulkRounds.push(ratios);
      }
    } finally {
      clearInterval(sampler);
    }
    const b = (k: string): Spread => spread(bulkRounds.map((r) => r[k]!));
    return {
      signer,
      bulk: {
        putOverNginx: b('putOverNginx'),
        getOverNginx: b('getOverNginx'),
        cpuPerMiBOverNginx: b('cpuPerMiBOverNginx'),
        putMBps: { sigil: b('putSigil'), nginx: b('putNginx'), direct: b('putDirect') },
        getMBps: { sigil: b('getSigil'), nginx: b('getNginx'), direct: b('getDirect') },
        agentCpuUsPerMiB: b('agentCpuUsPerMiB'),
        nginxCpuUsPerMiB: b('nginxCpuUsPerMiB'),
        agentRssPeakMB: Math.round(rssPeak * 10) / 10,
        putBytes: BULK_PUT_BYTES,
        getBytes: BULK_GET_COUNT * BULK_GET_OBJECT_BYTES,
      },
    };
  } finally {
    await floor.stop();
    await nginx.stop();
  }
}
